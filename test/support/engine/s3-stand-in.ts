/**
 * An AWS S3 endpoint on the test engine: the S3 stand-in image (images.ts: the host's node
 * and s3rver, running test/support/servers/s3-server-child.js, the same server program as the host
 * side's s3-server.ts) in a container on a Docker network, with network aliases for the real
 * endpoint names, over HTTPS on 443 with a certificate the test CA issued for them.
 *
 * Which names: restic's S3 client (minio-go) does not talk to the host in the repository URL.
 * For an Amazon endpoint (`s3.<region>.amazonaws.com`, pkg/s3utils IsAmazonEndpoint) its
 * makeTargetURL (api.go) replaces the host with `getS3Endpoint(region)` (s3-endpoints.go),
 * which is the **dual-stack** name `s3.dualstack.<region>.amazonaws.com` (minio-go resolves
 * Amazon endpoints to dual-stack by default "for backwards compatibility"; restic 0.14's
 * binary holds only the dual-stack names), and puts the bucket in front (virtual-host style,
 * IsVirtualHostSupported). So restic 0.14 dials `<bucket>.s3.dualstack.<region>.amazonaws.com`;
 * with `-o s3.bucket-lookup=path`, `s3.dualstack.<region>.amazonaws.com/<bucket>`. The default
 * aliases and the certificate cover all four names (`endpointNames`); s3rver accepts every one
 * of them (see s3-server-child.js).
 *
 * A name the network does not know is not refused quickly: Docker's embedded DNS forwards it to
 * the host's resolvers, which the engine's network namespace cannot reach, and restic's
 * resolver waits and retries for minutes. A missing alias shows as a hang, not an error.
 *
 * Traffic stays on the engine's bridge: nothing outside the engine's network namespace can
 * reach it, and the container has no published port.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { newAccessKey, S3ServerChildConfig } from '../servers/s3-server';
import { DockerApi } from './docker-api';
import { currentEngine, RunningEngine } from './docker-engine';
import { ensureImage } from './images';
import { issueServerCertificate, testCa } from './test-ca';

export interface S3InEngineOptions {
  /** The Docker network the container joins (it must exist). */
  readonly network: string;
  /** @default 'eu-west-1' */
  readonly region?: string;
  /** @default 'restic-test' */
  readonly bucket?: string;
  /** @default a fresh key (see s3-server.ts newAccessKey) */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /**
   * The container's names on the network.
   * @default endpointNames(region, bucket)
   */
  readonly aliases?: string[];
  /** @default `ccb-s3-<random>` */
  readonly name?: string;
}

export interface S3InEngine {
  /** The container's id. */
  readonly container: string;
  readonly name: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** `https://s3.<region>.amazonaws.com` */
  readonly endpoint: string;
  /** The names the container answers to on its network. */
  readonly aliases: string[];
  /** The test CA's certificate (PEM file on the host); the restic stand-in trusts it already. */
  readonly caCertPath: string;
  /** s3rver's data folder on the host (bind-mounted into the container). */
  readonly dataDir: string;
  /** `s3:https://s3.<region>.amazonaws.com/<bucket>/<prefix>` */
  repository(prefix: string): string;
  /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for a restic run. */
  resticEnv(): Record<string, string>;
  /** Removes the container and its folder. Safe to call twice. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30000;

/**
 * Copies every object of `primary`'s bucket under `prefix` to `replica`'s bucket: what S3
 * Cross-Region Replication does for each new object (stand-in: s3rver's files copied).
 */
export function replicateBucket(primary: S3InEngine, replica: S3InEngine, prefix: string): void {
  const from = path.join(primary.dataDir, primary.bucket);
  const to = path.join(replica.dataDir, replica.bucket);
  for (const entry of fs.readdirSync(from)) {
    if (entry === prefix || entry.startsWith(`${prefix}/`)) {
      fs.cpSync(path.join(from, entry), path.join(to, entry), { recursive: true, force: true });
    }
  }
}

/**
 * The names restic (minio-go) may dial for a bucket in an AWS region: the configured endpoint
 * and the dual-stack one it is rewritten to, each in path and virtual-host style.
 */
export function endpointNames(region: string, bucket: string): string[] {
  const host = `s3.${region}.amazonaws.com`;
  const dualstack = `s3.dualstack.${region}.amazonaws.com`;
  return [host, `${bucket}.${host}`, dualstack, `${bucket}.${dualstack}`];
}

/** Starts the S3 stand-in on `options.network` and waits until it listens. */
export async function startS3InEngine(options: S3InEngineOptions, engine: RunningEngine = currentEngine()): Promise<S3InEngine> {
  const api = new DockerApi(engine.socketPath);
  const image = await ensureImage('s3', engine);
  const region = options.region ?? 'eu-west-1';
  const bucket = options.bucket ?? 'restic-test';
  const host = `s3.${region}.amazonaws.com`;
  const aliases = options.aliases ?? endpointNames(region, bucket);
  const key = options.accessKeyId && options.secretAccessKey
    ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
    : newAccessKey();
  const name = options.name ?? `ccb-s3-${randomBytes(4).toString('hex')}`;

  const work = fs.mkdtempSync(path.join(engine.dir, 's3-'));
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  const dualstack = `s3.dualstack.${region}.amazonaws.com`;
  // The run's CA (the one the stand-in images trust, images.ts caBundle), whichever engine
  // this container runs on: a swarm node's own engine has a folder, not a CA, of its own.
  const cert = issueServerCertificate([host, `*.${host}`, dualstack, `*.${dualstack}`]);
  fs.copyFileSync(cert.certPath, path.join(work, 'cert.pem'));
  fs.copyFileSync(cert.keyPath, path.join(work, 'key.pem'));
  const config: S3ServerChildConfig = {
    s3rverDir: '', // filled below from the image's S3RVER_DIR
    address: '0.0.0.0',
    port: 443,
    dataDir: '/s3/data',
    keyPath: '/s3/key.pem',
    certPath: '/s3/cert.pem',
    bucket,
    ...key,
  };
  const imageEnv: string[] = (await api.call('GET', `/images/${image}/json`)).json().Config.Env ?? [];
  const s3rverDir = imageEnv.find((e) => e.startsWith('S3RVER_DIR='))?.slice('S3RVER_DIR='.length);
  if (!s3rverDir) {
    throw new Error(`${image} has no S3RVER_DIR in its environment`);
  }
  fs.writeFileSync(path.join(work, 'config.json'), JSON.stringify({ ...config, s3rverDir }));

  const created = await api.call('POST', `/containers/create?name=${encodeURIComponent(name)}`, {
    body: {
      Image: image,
      Cmd: ['/s3/config.json'],
      HostConfig: { Binds: [`${work}:/s3`], NetworkMode: options.network },
      NetworkingConfig: { EndpointsConfig: { [options.network]: { Aliases: aliases } } },
    },
  });
  const id: string = created.json().Id;
  let stopped = false;
  const stop = async () => {
    if (stopped) {
      return;
    }
    stopped = true;
    await api.request('DELETE', `/containers/${id}?force=1&v=1`);
    fs.rmSync(work, { recursive: true, force: true });
  };
  try {
    await api.call('POST', `/containers/${id}/start`);
    await waitListening(api, id);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    container: id,
    name,
    region,
    bucket,
    ...key,
    endpoint: `https://${host}`,
    aliases,
    caCertPath: testCa().certPath,
    dataDir,
    repository: (prefix: string) => `s3:https://${host}/${bucket}/${prefix}`,
    resticEnv: () => ({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey }),
    stop,
  };
}

/** Waits for the server program's `{"port": ...}` line in the container's log. */
async function waitListening(api: DockerApi, id: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const logs = demux((await api.call('GET', `/containers/${id}/logs?stdout=1&stderr=1`)).body);
    if (/\{"port":443\}/.test(logs)) {
      return;
    }
    const state = (await api.call('GET', `/containers/${id}/json`)).json().State;
    if (!state.Running) {
      throw new Error(`the S3 stand-in exited (${state.ExitCode}) before listening:\n${logs}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`the S3 stand-in did not listen within ${START_TIMEOUT_MS / 1000} s:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The text of Docker's multiplexed log stream (8-byte frame headers) of a non-TTY container. */
function demux(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}
