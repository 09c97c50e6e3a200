/**
 * The generated HAProxy configuration, run by Debian's real `haproxy` (2.6; the pinned image
 * runs 3.0, and the config uses nothing newer than 2.6) with its backend pointed at the fake
 * Docker API (test/support/servers/fake-docker-api.ts) over TCP instead of the Docker socket. Every
 * request of the shared table (test/support/proxy-requests.ts) goes over a raw socket: the
 * forbidden ones get 403 from HAProxy and never reach the fake API (its call log stays
 * empty); every call a quiesce mode needs passes and reaches it unchanged.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { QuiesceMode } from '../../src/policy/quiesce';
import { execCreateBody } from '../../src/docker-api/exec-body';
import { dockerApiProxyConfig, proxyRoutes, serviceTaskListPath } from '../../src/docker-api/proxy-config';
import { FakeDockerApi } from '../support/servers/fake-docker-api';
import { DEFAULT_CONTEXT, ProxyRequest, SERVICE_TASK, allowedRequests, answerBody, forbiddenRequests, rawRequest, sendRaw, serviceRequests } from '../support/proxy-requests';

const MODES = [QuiesceMode.STOP, QuiesceMode.PAUSE, QuiesceMode.EXEC];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Debian's haproxy with the generated config, listening on 127.0.0.1:port. */
class HaproxyUnderTest {
  public static async start(mode: QuiesceMode, api: FakeDockerApi, target: { containerName?: string; serviceName?: string } = { containerName: DEFAULT_CONTEXT.container }): Promise<HaproxyUnderTest> {
    const port = await freePort();
    const backend = api.url.replace(/^http:\/\//, '');
    const config = dockerApiProxyConfig({
      mode,
      ...target,
      execCreateBody: execCreateBody(DEFAULT_CONTEXT.execCommand),
      callTimeoutSeconds: 30,
      backend,
      bind: `127.0.0.1:${port}`,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-config-'));
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, config);
    const check = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
    if (check.status !== 0) {
      throw new Error(`haproxy -c refused the generated config:\n${check.stdout}${check.stderr}\n${config}`);
    }
    const proc = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  public async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
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

describe('the generated config', () => {
  test('names only the protected container, pins both exec bodies by SHA-256, and opens no exec call without a pinned body', () => {
    // WHEN
    const routes = proxyRoutes({ mode: QuiesceMode.EXEC, containerName: 'my.db', execCreateBody: '{}' });
    const unpinned = proxyRoutes({ mode: QuiesceMode.EXEC, containerName: 'db' });
    // THEN
    expect(routes.map((r) => `${r.method} ${r.urlRegex}`)).toEqual([
      'GET ^(/v1[.][0-9]{1,2})?/_ping$',
      'HEAD ^(/v1[.][0-9]{1,2})?/_ping$',
      'GET ^(/v1[.][0-9]{1,2})?/version$',
      'POST ^(/v1[.][0-9]{1,2})?/containers/my[.]db/exec$',
      'POST ^(/v1[.][0-9]{1,2})?/exec/[0-9a-f]{64}/start$',
      'GET ^(/v1[.][0-9]{1,2})?/exec/[0-9a-f]{64}/json$',
    ]);
    expect(routes[3].bodySha256).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'); // sha256('{}')
    expect(unpinned.map((r) => r.name)).toEqual(['ping', 'ping_head', 'version']);
    expect(() => proxyRoutes({ mode: QuiesceMode.STOP, containerName: 'db/../x' })).toThrow(/not a Docker container name/);
  });

  test('has no ${ or %{ for Terraform to read, and no backslash for HAProxy to unescape', () => {
    for (const mode of MODES) {
      const config = dockerApiProxyConfig({ mode, containerName: 'db', execCreateBody: execCreateBody(['sh', '-c', 'echo ${HOME} %{x}']) });
      expect(config).not.toMatch(/\$\{|%\{|\\/);
    }
  });
});

describe.each(MODES)('HAProxy (Debian 2.6) with the %s config in front of the fake Docker API', (mode) => {
  let api: FakeDockerApi;
  let proxy: HaproxyUnderTest;

  beforeAll(async () => {
    api = await FakeDockerApi.start(['db', 'web']);
    proxy = await HaproxyUnderTest.start(mode, api);
  });

  afterAll(async () => {
    await proxy?.stop();
    await api?.close();
  });

  beforeEach(() => {
    api.calls.splice(0);
  });

  const forbidden = forbiddenRequests(mode);

  test('the table has at least 20 forbidden requests', () => {
    expect(forbidden.length).toBeGreaterThanOrEqual(20);
  });

  test.each(forbidden.map((r) => [r.name, r] as const))('refuses: %s', async (_name, request) => {
    // WHEN
    const answer = await sendRaw('127.0.0.1', proxy.port, rawRequest(request));
    // THEN: HAProxy answers 403 itself; nothing reached Docker
    expect(request.refusedWith ?? [403]).toContain(answer.status);
    expect(api.calls).toEqual([]);
  });

  test('refuses a forbidden request pipelined after an allowed one on the same connection', async () => {
    // GIVEN
    const allowed = allowedRequests(mode).find((r) => r.method === 'GET')!;
    const first = Buffer.from(rawRequest(allowed).toString('latin1').replace('Connection: close\r\n', ''), 'latin1');
    const bytes = Buffer.concat([first, rawRequest(forbidden[0])]);
    // WHEN
    const answer = await sendRaw('127.0.0.1', proxy.port, bytes);
    // THEN: the first one passed, the second was refused and never reached Docker
    const statuses = [...answer.raw.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses[statuses.length - 1]).toBe(403);
    expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`${allowed.method} ${allowed.target}`]);
  });

  test("passes every call the agent makes in this mode, unchanged, to Docker", async () => {
    // GIVEN
    api.setState('db', 'running');
    let execId = '';
    // WHEN
    for (const request of allowedRequests(mode)) {
      const before = api.calls.length;
      const answer = await sendRaw('127.0.0.1', proxy.port, rawRequest(request, 'docker', execId));
      // THEN: Docker's own answer came back (the fake API answers 404 to _ping and version,
      // which it does not implement), and the call reached it unchanged
      expect({ name: request.name, status: answer.status }).toEqual({ name: request.name, status: request.name.includes('ping') || request.name === 'version' ? 404 : expect.any(Number) });
      expect(answer.status).not.toBe(403);
      expect(api.calls.length).toBe(before + 1);
      const call = api.calls[before];
      expect(call).toMatchObject({ method: request.method, path: request.target.replace('EXEC_ID', execId), body: request.body ?? '' });
      if (request.name === 'exec create') {
        execId = JSON.parse(answerBody(answer.raw)).Id;
        expect(execId).toMatch(/^[0-9a-f]{64}$/);
      }
    }
  });
});

describe.each([QuiesceMode.PAUSE, QuiesceMode.EXEC] as const)('HAProxy with the %s config of a swarm service in front of the fake Docker API', (mode) => {
  let api: FakeDockerApi;
  let proxy: HaproxyUnderTest;
  const { allowed, forbidden } = serviceRequests(mode, serviceTaskListPath('db'));

  beforeAll(async () => {
    api = await FakeDockerApi.start([SERVICE_TASK, 'web.1.abcdefghijklmnopqrstuvwxy', 'db']);
    proxy = await HaproxyUnderTest.start(mode, api, { serviceName: 'db' });
  });

  afterAll(async () => {
    await proxy?.stop();
    await api?.close();
  });

  beforeEach(() => {
    api.calls.splice(0);
  });

  test.each(forbidden.map((r) => [r.name, r] as const))('refuses: %s', async (_name, request: ProxyRequest) => {
    const answer = await sendRaw('127.0.0.1', proxy.port, rawRequest(request));
    expect(request.refusedWith ?? [403]).toContain(answer.status);
    expect(api.calls).toEqual([]);
  });

  test('passes every call the agent makes for the service\'s task, unchanged, to Docker', async () => {
    api.setState(SERVICE_TASK, 'running');
    let execId = '';
    for (const request of allowed) {
      const before = api.calls.length;
      const answer = await sendRaw('127.0.0.1', proxy.port, rawRequest(request, 'docker', execId));
      expect({ name: request.name, refused: answer.status === 403 }).toEqual({ name: request.name, refused: false });
      expect(api.calls[before]).toMatchObject({ method: request.method, path: request.target.replace('EXEC_ID', execId), body: request.body ?? '' });
      if (request.name === 'exec create') {
        execId = JSON.parse(answerBody(answer.raw)).Id;
      }
    }
  });

  test('no stop route for a service', () => {
    expect(() => proxyRoutes({ mode: QuiesceMode.STOP, serviceName: 'db' })).toThrow(/swarm replaces a stopped task/);
    expect(() => proxyRoutes({ mode: QuiesceMode.PAUSE, serviceName: 'my.db' })).toThrow(/not a Docker service name/);
  });
});
