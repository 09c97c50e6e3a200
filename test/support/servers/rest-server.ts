/**
 * A restic REST server for the agent tests: Debian's `rclone serve restic`, over a local
 * folder, on 127.0.0.1 and a free port, over TLS with a self-signed certificate (restic trusts
 * it through `--cacert`), with basic authentication (a random user and password) unless told
 * otherwise, optionally in append-only mode (the server refuses to delete or overwrite
 * repository data: the immutable copy of 3-2-1-1-0).
 *
 * Start one per test file and `stop()` it in afterAll (also after a failure).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnListening, startChildServer } from './child-server';
import { makeSelfSignedCertificate } from './s3-server';

export interface RestServerOptions {
  /** `--append-only`. @default false */
  readonly appendOnly?: boolean;
  /** Basic authentication with a random user and password. @default true */
  readonly authentication?: boolean;
  /** HTTPS with a self-signed certificate. @default true */
  readonly tls?: boolean;
}

export interface RestServer {
  /** `https://127.0.0.1:<port>`, without credentials. */
  readonly url: string;
  readonly port: number;
  /** The certificate the server presents (restic `--cacert`), when `tls`. */
  readonly caCertPath?: string;
  readonly username?: string;
  readonly password?: string;
  /** Whether the server runs with `--append-only`. */
  readonly appendOnly: boolean;
  /** The folder that holds the repositories (same layout as a local restic repository). */
  readonly dataDir: string;
  /**
   * `rest:https://<user>:<password>@127.0.0.1:<port>/<path>`, for restic on the host (restic
   * 0.14 reads REST credentials only from the URL).
   */
  repository(repositoryPath: string): string;
  /** The server's log so far (rclone writes errors and, with -v, requests). */
  log(): string;
  /** SIGKILL: the endpoint is down. */
  kill(): Promise<void>;
  /** Starts it again on the same port over the same folder. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `rclone serve restic`; see the module comment. */
export async function startRestServer(options: RestServerOptions = {}): Promise<RestServer> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-server-'));
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir);
  const tls = options.tls ?? true;
  const keyPath = path.join(work, 'key.pem');
  const certPath = path.join(work, 'cert.pem');
  if (tls) {
    makeSelfSignedCertificate(keyPath, certPath);
  }
  const auth = options.authentication ?? true;
  const username = auth ? `restic-${randomBytes(3).toString('hex')}` : undefined;
  // Characters that must be percent-encoded in a URL, so the agent's encoding is exercised.
  const password = auth ? `p@ss:/${randomBytes(6).toString('hex')}%+ ` : undefined;

  let output = '';
  const server = await startChildServer({
    what: 'the REST server',
    work,
    launch: (wantedPort) => {
      const args = ['serve', 'restic', '--addr', `127.0.0.1:${wantedPort}`, '--config', '/dev/null'];
      if (tls) {
        args.push('--cert', certPath, '--key', keyPath);
      }
      if (auth) {
        args.push('--user', username!, '--pass', password!);
      }
      if (options.appendOnly) {
        args.push('--append-only');
      }
      args.push(dataDir);
      return spawnListening(
        'rclone serve restic',
        'rclone',
        args,
        { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work },
        ({ stdout, stderr }) => {
          const m = /Serving restic REST API on https?:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr + stdout);
          return m ? Number(m[1]) : undefined;
        },
        (chunk) => (output += chunk),
      );
    },
  });
  const port = server.port;
  const scheme = tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  const userinfo = auth ? `${encodeURIComponent(username!)}:${encodeURIComponent(password!)}@` : '';

  return {
    url,
    port,
    caCertPath: tls ? certPath : undefined,
    username,
    password,
    appendOnly: options.appendOnly ?? false,
    dataDir,
    repository: (repositoryPath: string) => `rest:${scheme}://${userinfo}127.0.0.1:${port}/${repositoryPath}`,
    log: () => output,
    kill: server.kill,
    restart: server.restart,
    stop: server.stop,
  };
}
