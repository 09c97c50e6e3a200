/**
 * A real HAProxy running a generated Docker API proxy config on 127.0.0.1 at a free port, its
 * backend pointed at the fake Docker API (fake-docker-api.ts) over TCP instead of the Docker
 * socket. Two versions, so that every proxy test runs on both:
 *
 * - Debian 12's HAProxy 2.6 (`haproxy` on PATH; npm test's pretest installs it);
 * - Debian 13's HAProxy 3.0, the branch of the pinned image (haproxy:3.0.28-alpine), extracted
 *   beside the host by scripts/debian-next.js and run through its own loader.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { commandFor, ensure } from '../../../scripts/debian-next';
import { dockerApiProxyConfig, ProxyConfigOptions } from '../../../src/docker/proxy-config';
import { FakeDockerApi } from './fake-docker-api';
import { freePort } from './s3-server';

/** One HAProxy binary the tests run. */
export interface HaproxyVersion {
  /** e.g. 'HAProxy 2.6 (Debian 12)'. */
  readonly name: string;
  /** The branch `haproxy -v` must report, e.g. '2.6'. */
  readonly branch: string;
  /** The command line that runs it (arguments follow). */
  command(): string[];
}

export const HAPROXY_VERSIONS: readonly HaproxyVersion[] = [
  { name: 'HAProxy 2.6 (Debian 12)', branch: '2.6', command: () => ['haproxy'] },
  {
    name: 'HAProxy 3.0 (Debian 13)',
    branch: '3.0',
    command: () => {
      // A no-op once extracted (the pretest step extracts it; a bare `npx jest` may come first).
      ensure(['haproxy']);
      return commandFor('/usr/sbin/haproxy');
    },
  },
];

/** What `haproxy -v` of this version prints first, e.g. 'HAProxy version 3.0.11-1+deb13u4 ...'. */
export function haproxyVersionLine(version: HaproxyVersion): string {
  const [cmd, ...args] = version.command();
  return spawnSync(cmd, [...args, '-v'], { encoding: 'utf8' }).stdout.split('\n')[0];
}

/** HAProxy with a config, listening on 127.0.0.1:port. */
export class HaproxyUnderTest {
  /**
   * Starts `version` on the config generated from `options` (backend: `api`, bind: a free
   * port), or on `rewrite` of it (for a control that removes rules). Refuses a config that
   * `haproxy -c` refuses.
   */
  public static async start(
    version: HaproxyVersion,
    options: Omit<ProxyConfigOptions, 'backend' | 'bind'>,
    api: FakeDockerApi,
    rewrite: (config: string) => string = (c) => c,
  ): Promise<HaproxyUnderTest> {
    const port = await freePort();
    const config = rewrite(dockerApiProxyConfig({ ...options, backend: api.url.replace(/^http:\/\//, ''), bind: `127.0.0.1:${port}` }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-config-'));
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, config);
    const [cmd, ...args] = version.command();
    const check = spawnSync(cmd, [...args, '-c', '-f', file], { encoding: 'utf8' });
    if (check.status !== 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`${version.name}: haproxy -c refused the generated config:\n${check.stdout}${check.stderr}\n${config}`);
    }
    const proc = spawn(cmd, [...args, '-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const h = new HaproxyUnderTest(proc, port, dir, config);
    await h.waitListening();
    return h;
  }

  public log = '';

  private constructor(
    private readonly proc: ChildProcess,
    public readonly port: number,
    private readonly dir: string,
    public readonly config: string,
  ) {
    proc.stdout!.on('data', (d) => (this.log += d));
    proc.stderr!.on('data', (d) => (this.log += d));
  }

  /**
   * Waits until HAProxy's log (stdout and stderr), from offset `since` (a `log.length` taken
   * before), has a line matching `re`; returns it.
   */
  public async logLine(re: RegExp, since = 0, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.log.slice(since).split('\n').find((l) => re.test(l));
      if (line !== undefined) {
        return line;
      }
      if (Date.now() > deadline) {
        throw new Error(`no log line matching ${re} within ${timeoutMs} ms:\n${this.log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  public async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((resolve) => this.proc.once('exit', resolve));
      this.proc.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitListening(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (this.proc.exitCode !== null) {
        throw new Error(`haproxy exited with ${this.proc.exitCode}:\n${this.log}`);
      }
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(this.port, '127.0.0.1');
        s.on('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`haproxy did not listen on ${this.port}:\n${this.log}`);
  }
}
