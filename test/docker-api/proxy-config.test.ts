/**
 * The generated HAProxy configuration, run by real HAProxy, both versions the library meets:
 * Debian 12's 2.6 and Debian 13's 3.0 (the pinned image's branch; test/support/servers/haproxy.ts),
 * with the backend pointed at the fake Docker API (test/support/servers/fake-docker-api.ts)
 * over TCP instead of the Docker socket. Every request of the shared table
 * (test/support/proxy-requests.ts) goes over a raw socket: the forbidden ones get 403 from
 * HAProxy and never reach the fake API (its call log stays empty); every call a quiesce mode
 * needs passes and reaches it unchanged. The padding attack on the body pin has a file of its
 * own (proxy-padding.test.ts).
 */
import * as net from 'net';
import { QuiesceMode } from '../../src/policy/quiesce';
import { execCreateBody } from '../../src/docker/exec-body';
import { dockerApiProxyConfig, MAX_HEADER_BYTES, MAX_PINNED_BODY_BYTES, proxyRoutes, serviceTaskListPath } from '../../src/docker/proxy-config';
import { FakeDockerApi } from '../support/servers/fake-docker-api';
import { HAPROXY_VERSIONS, haproxyVersionLine, HaproxyUnderTest } from '../support/servers/haproxy';
import { DEFAULT_CONTEXT, ProxyRequest, SERVICE_TASK, allowedRequests, answerBody, forbiddenRequests, rawRequest, sendRaw, serviceRequests } from '../support/proxy-requests';

const MODES = [QuiesceMode.STOP, QuiesceMode.PAUSE, QuiesceMode.EXEC];

/** The proxy's options in these tests: the default context's container (or a service `db`). */
function options(mode: QuiesceMode, target: { containerName?: string; serviceName?: string } = { containerName: DEFAULT_CONTEXT.container }) {
  return { mode, ...target, execCreateBody: execCreateBody(DEFAULT_CONTEXT.execCommand), callTimeoutSeconds: 30 };
}

describe('the generated config', () => {
  test('names only the protected container, pins both exec bodies by SHA-256, and opens no exec call without a pinned body', () => {
    // WHEN
    const routes = proxyRoutes({ mode: QuiesceMode.EXEC, containerName: 'my.db', execCreateBody: '{}' });
    const unpinned = proxyRoutes({ mode: QuiesceMode.EXEC, containerName: 'db' });
    // THEN
    expect(routes.map((r) => `${r.method} ${r.urlRegex}`)).toEqual([
      'GET ^(/v1[.](2[4-9]|[3-9][0-9]))?/_ping$',
      'HEAD ^(/v1[.](2[4-9]|[3-9][0-9]))?/_ping$',
      'GET ^(/v1[.](2[4-9]|[3-9][0-9]))?/version$',
      'POST ^(/v1[.](2[4-9]|[3-9][0-9]))?/containers/my[.]db/exec$',
      'POST ^(/v1[.](2[4-9]|[3-9][0-9]))?/exec/[0-9a-f]{64}/start$',
      'GET ^(/v1[.](2[4-9]|[3-9][0-9]))?/exec/[0-9a-f]{64}/json$',
    ]);
    expect(routes[3].bodySha256).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'); // sha256('{}')
    expect(unpinned.map((r) => r.name)).toEqual(['ping', 'ping_head', 'version']);
    expect(() => proxyRoutes({ mode: QuiesceMode.STOP, containerName: 'db/../x' })).toThrow(/not a Docker container name/);
  });

  test('judges a request only whole: HTTP/1 only, no Transfer-Encoding or Upgrade, bounded headers and body, the body buffered whole', () => {
    // WHEN
    const config = dockerApiProxyConfig({ mode: QuiesceMode.EXEC, containerName: 'db', execCreateBody: execCreateBody(['pg_dumpall']) });
    // THEN: the bind is HTTP/1, and both refusals come before the one allow
    expect(config).toMatch(/^    bind :2375 proto h1$/m);
    expect(config).toContain(`acl headers_bounded req.hdrs,length le ${MAX_HEADER_BYTES}`);
    // the longest pinned body: the exec create's
    expect(config).toContain(`acl body_bounded req.body_size le ${execCreateBody(['pg_dumpall']).length}`);
    const lines = config.split('\n');
    const allow = lines.findIndex((l) => l.includes('http-request allow'));
    expect(lines.findIndex((l) => l.includes('set-var(txn.body_len) req.body_len'))).toBeLessThan(allow);
    expect(lines.findIndex((l) => l.includes('deny deny_status 403 unless no_transfer_encoding no_upgrade headers_bounded body_bounded body_whole'))).toBeLessThan(allow);
    expect(lines.findIndex((l) => l.includes('deny deny_status 403 unless no_content_length || content_length_whole'))).toBeLessThan(allow);
    // a mode without a body anywhere refuses every body
    expect(dockerApiProxyConfig({ mode: QuiesceMode.STOP, containerName: 'db' })).toContain('acl body_bounded req.body_size le 0');
  });

  test('refuses to pin a body too long to be judged whole', () => {
    // GIVEN an exec command whose body is one byte over the bound
    const command = ['sh', '-c', 'x'.repeat(MAX_PINNED_BODY_BYTES - execCreateBody(['sh', '-c', '']).length + 1)];
    // THEN
    expect(() => proxyRoutes({ mode: QuiesceMode.EXEC, containerName: 'db', execCreateBody: execCreateBody(command) })).toThrow(
      `the exec_create body is ${MAX_PINNED_BODY_BYTES + 1} bytes; the proxy pins at most ${MAX_PINNED_BODY_BYTES}`,
    );
    expect(() => proxyRoutes({ mode: QuiesceMode.EXEC, containerName: 'db', execCreateBody: execCreateBody(command.map((a) => a.slice(0, -1))) })).not.toThrow();
  });

  test('has no ${ or %{ for Terraform to read, and no backslash for HAProxy to unescape', () => {
    for (const mode of MODES) {
      const config = dockerApiProxyConfig({ mode, containerName: 'db', execCreateBody: execCreateBody(['sh', '-c', 'echo ${HOME} %{x}']) });
      expect(config).not.toMatch(/\$\{|%\{|\\/);
    }
  });
});

describe.each(HAPROXY_VERSIONS)('$name', (version) => {
  test(`is HAProxy ${version.branch}`, () => {
    expect(haproxyVersionLine(version)).toMatch(new RegExp(`^HAProxy version ${version.branch.replace('.', '[.]')}[.]`));
  });

  describe.each(MODES)('with the %s config in front of the fake Docker API', (mode) => {
    let api: FakeDockerApi;
    let proxy: HaproxyUnderTest;

    beforeAll(async () => {
      api = await FakeDockerApi.start(['db', 'web']);
      proxy = await HaproxyUnderTest.start(version, options(mode), api);
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

    test('answers the HTTP/2 connection preface as HTTP/1 (it is no HTTP/1 request), and nothing reaches Docker', async () => {
      // GIVEN HTTP/2 with prior knowledge: the preface and an empty SETTINGS frame
      const preface = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
      // WHEN
      const answer = await sendRaw('127.0.0.1', proxy.port, preface);
      // THEN: an HTTP/1 refusal, no HTTP/2 frames
      expect(answer.status).toBe(400);
      expect(api.calls).toEqual([]);
    });

    test('refuses a request whose body the client cut short (half-close), and nothing reaches Docker', async () => {
      // GIVEN a pinned call that declares a 100-byte body, sends 5 bytes and shuts its side
      const [request] = allowedRequests(mode).filter((r) => r.method === 'POST').slice(-1);
      // (an exec id of its own: no other request of this file names it)
      const execId = 'cd'.repeat(32);
      const head = rawRequest({ ...request, body: undefined, headers: [...(request.headers ?? []), 'Content-Length: 100'] }, 'docker', execId);
      const since = proxy.log.length;
      // WHEN
      await new Promise<void>((resolve) => {
        const socket = net.connect(proxy.port, '127.0.0.1', () => socket.end(Buffer.concat([head, Buffer.from('{"a":')])));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
      // THEN: HAProxy stopped waiting at the half-close, its rules saw 5 of 100 bytes and
      // denied (403, PR: a rule's refusal; the client, gone, is not answered)
      const line = await proxy.logLine(new RegExp(`"POST ${request.target.replace('EXEC_ID', execId).replace(/[?.]/g, '[$&]')} HTTP/1[.]1"`), since);
      expect(line).toMatch(/ 403 \d+ - - PR-- /);
      expect(api.calls).toEqual([]);
    });

    test('passes a call of the agent with headers close to the bound', async () => {
      // GIVEN the first call with about 4,000 bytes of headers (the bound is MAX_HEADER_BYTES)
      const request = allowedRequests(mode)[0];
      const padded = { ...request, headers: [`X-Pad: ${'a'.repeat(MAX_HEADER_BYTES - 200)}`] };
      // WHEN
      const answer = await sendRaw('127.0.0.1', proxy.port, rawRequest(padded));
      // THEN: it reached Docker
      expect(answer.status).not.toBe(403);
      expect(api.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`${request.method} ${request.target}`]);
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

  describe.each([QuiesceMode.PAUSE, QuiesceMode.EXEC] as const)('with the %s config of a swarm service in front of the fake Docker API', (mode) => {
    let api: FakeDockerApi;
    let proxy: HaproxyUnderTest;
    const { allowed, forbidden } = serviceRequests(mode, serviceTaskListPath('db'));

    beforeAll(async () => {
      api = await FakeDockerApi.start([SERVICE_TASK, 'web.1.abcdefghijklmnopqrstuvwxy', 'db']);
      proxy = await HaproxyUnderTest.start(version, options(mode, { serviceName: 'db' }), api);
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
});
