/**
 * A real S3 endpoint for the agent tests: the npm package `s3rver`, in a child process, over
 * TLS with a self-signed certificate made here, on 127.0.0.1 and a free port, with one bucket
 * created and its own access key (the server's built-in `S3RVER` key is revoked, so an unknown
 * key id is refused as it would be by a real service; s3rver 3.7.1 does not verify V4
 * signatures, so a wrong secret for a known key id is accepted: lib/middleware/authentication.js).
 *
 * Two facts of this machine shape it (docs: /work/shared/DESIGN.md):
 * - over plain HTTP, restic's S3 client (minio-go) sends `aws-chunked` streaming uploads,
 *   which s3rver stores with the chunk signatures inside the object: corrupt packs that only
 *   `restic check --read-data` notices. Over HTTPS it sends plain bodies. So: TLS only.
 * - s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its
 *   legacy provider: without `node --openssl-legacy-provider` every listing longer than one
 *   page (1,000 keys) fails. The child is started with the flag (`legacyProvider: false`
 *   exists only to show the failure).
 *
 * The server program is test/support/servers/s3-server-child.js, the same file the S3 stand-in
 * container of the real-engine tier runs (engine/s3-stand-in.ts): one harness, two places.
 *
 * The server's lifecycle is the test's: `stop()` in afterAll (also after a failure), `kill()`
 * for "the endpoint is down" (connections refused), `pause()`/`resume()` for "the endpoint
 * hangs" (SIGSTOP: connections are accepted by the kernel and never answered), `restart()`
 * for "back again" on the same port with the same data.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { startChildServer, spawnListening } from './child-server';

export interface S3ServerOptions {
  /** @default 'restic-test' */
  readonly bucket?: string;
  /** Start node with `--openssl-legacy-provider`. @default true */
  readonly legacyProvider?: boolean;
}

export interface S3Server {
  /** `https://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** The self-signed certificate (PEM) the server presents: pass it to restic `--cacert`. */
  readonly caCertPath: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly bucket: string;
  /** The server's data folder (s3rver's file layout). */
  readonly dataDir: string;
  /** `s3:https://127.0.0.1:<port>/<bucket>/<prefix>` */
  repository(prefix: string): string;
  /** Environment for a restic run on the host against `repository(prefix)`. */
  resticEnv(): Record<string, string>;
  /** Whether the server process is running (not killed, stopped or paused). */
  isUp(): boolean;
  /** SIGKILL: the endpoint is down, connections are refused. Data stays. */
  kill(): Promise<void>;
  /** SIGSTOP: the endpoint hangs (accepts, never answers). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** Starts the server again on the same port with the same data (after `kill()`). */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** s3rver's package folder on the host. */
export const S3RVER_DIR = path.dirname(require.resolve('s3rver/package.json'));

/**
 * The server program (plain JS, one file for the host and for the container stand-in of
 * engine/s3-stand-in.ts): reads an `S3ServerChildConfig` file, prints `{"port": N}` when it
 * listens.
 */
export const S3_SERVER_CHILD = path.join(__dirname, 's3-server-child.js');

/** The config file the server program reads (paths as the program sees them). */
export interface S3ServerChildConfig {
  readonly s3rverDir: string;
  /** @default '127.0.0.1' */
  readonly address?: string;
  /** 0 for any free port. */
  readonly port: number;
  readonly dataDir: string;
  readonly keyPath: string;
  readonly certPath: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A fresh access key pair: an AWS-looking key id and a random secret. */
export function newAccessKey(): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: `AK${randomBytes(9).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(24).toString('base64') };
}

/** Starts an s3rver over TLS; see the module comment. */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 's3-server-'));
  const keyPath = path.join(work, 'key.pem');
  const certPath = path.join(work, 'cert.pem');
  makeSelfSignedCertificate(keyPath, certPath);
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  const bucket = options.bucket ?? 'restic-test';
  const { accessKeyId, secretAccessKey } = newAccessKey();
  const configPath = path.join(work, 'config.json');
  const legacy = options.legacyProvider ?? true;

  let paused = false;
  const server = await startChildServer({
    what: 'the S3 server',
    work,
    launch: (wantedPort) => {
      const config: S3ServerChildConfig = {
        s3rverDir: S3RVER_DIR, port: wantedPort, dataDir, keyPath, certPath, bucket, accessKeyId, secretAccessKey,
      };
      fs.writeFileSync(configPath, JSON.stringify(config));
      const args = [...(legacy ? ['--openssl-legacy-provider'] : []), S3_SERVER_CHILD, configPath];
      // The child prints one JSON line with its port once it listens.
      return spawnListening('s3rver', process.execPath, args, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ({ stdout }) =>
        stdout.includes('\n') ? JSON.parse(stdout.split('\n')[0]).port : undefined,
      );
    },
    // A stopped (paused) process dies of SIGKILL only once continued.
    afterKill: (proc) => paused && proc.kill('SIGCONT'),
  });
  const port = server.port;
  const child = server.child;
  const kill = async () => {
    await server.kill();
    paused = false;
  };
  const endpoint = `https://127.0.0.1:${port}`;

  return {
    endpoint,
    port,
    caCertPath: certPath,
    accessKeyId,
    secretAccessKey,
    bucket,
    dataDir,
    repository: (prefix: string) => `s3:${endpoint}/${bucket}/${prefix}`,
    resticEnv: () => ({ AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey }),
    isUp: () => !server.stopped() && !paused && child()?.exitCode === null && child()?.signalCode === null,
    kill,
    pause() {
      if (child()?.exitCode === null && !paused) {
        child()!.kill('SIGSTOP');
        paused = true;
      }
    },
    resume() {
      if (child() && paused) {
        child()!.kill('SIGCONT');
        paused = false;
      }
    },
    async restart() {
      await kill();
      await server.restart();
    },
    stop: server.stop,
  };
}

/**
 * A self-signed certificate for 127.0.0.1 (as an IP subject alternative name: Go's TLS ignores
 * the common name) that restic accepts through `--cacert`.
 */
export function makeSelfSignedCertificate(keyPath: string, certPath: string): void {
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext', 'basicConstraints=critical,CA:TRUE',
    ],
    { stdio: 'pipe' },
  );
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
