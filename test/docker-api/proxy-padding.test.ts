/**
 * The padding attack on the proxy's body pin (issue 21), on HAProxy 2.6 and 3.0: HAProxy's
 * `option http-buffer-request` waits for the body only until its buffer is full, so with the
 * headers padded to fill it, `req.body` holds nothing (or exactly the pinned prefix of a longer
 * body) and the rest of the body still streams on to Docker. For every pinned route of every
 * generated config (a container's stop, pause and exec; a swarm service's pause and exec), a
 * 40 KB forged body is sent with every header-padding length that matters: one by one across
 * the last 400 lengths below the point where the headers no longer fit in the buffer (found
 * per route, by HAProxy itself) and a little past it, coarser elsewhere. Every one is refused
 * and nothing reaches the fake Docker API.
 *
 * The control: with the whole-request rules taken out again (the config as it was before the
 * fix), the same sweep finds the hole on both versions, so the sweep reaches it; and each of
 * the two body checks alone closes it.
 */
import { QuiesceMode } from '../../src/policy/quiesce';
import { execCreateBody } from '../../src/docker/exec-body';
import { ProxyConfigOptions, proxyRoutes, ProxyRoute, serviceTaskListPath } from '../../src/docker/proxy-config';
import { FakeDockerApi } from '../support/servers/fake-docker-api';
import { HAPROXY_VERSIONS, HaproxyUnderTest } from '../support/servers/haproxy';
import {
  allowedRequests,
  DEFAULT_CONTEXT,
  FOREIGN_EXEC_ID,
  HOST_CONFIG_BODY,
  paddedRequest,
  ProxyRequest,
  rawRequest,
  sendRaw,
  SERVICE_TASK,
  serviceRequests,
} from '../support/proxy-requests';

/** The forged body's size: far more than HAProxy's 16 KB buffer. */
const FORGED_BODY_BYTES = 40 * 1024;
/** How many padding lengths below the buffer's limit are tried one by one. */
const CRITICAL_WINDOW = 400;
/** Parallel connections of a sweep (the proxy's maxconn is 32). */
const CONCURRENCY = 16;

interface SweptConfig {
  readonly name: string;
  readonly options: Omit<ProxyConfigOptions, 'backend' | 'bind'>;
  /** The calls the agent makes with it: one of them stands for each route. */
  readonly allowed: ProxyRequest[];
  readonly containers: string[];
}

const execBody = execCreateBody(DEFAULT_CONTEXT.execCommand);
const taskList = serviceTaskListPath('db');
const CONFIGS: SweptConfig[] = [
  ...[QuiesceMode.STOP, QuiesceMode.PAUSE, QuiesceMode.EXEC].map((mode) => ({
    name: `a container's ${mode} config`,
    options: { mode, containerName: DEFAULT_CONTEXT.container, execCreateBody: execBody, callTimeoutSeconds: 30 },
    allowed: allowedRequests(mode),
    containers: [DEFAULT_CONTEXT.container],
  })),
  ...([QuiesceMode.PAUSE, QuiesceMode.EXEC] as const).map((mode) => ({
    name: `a swarm service's ${mode} config`,
    options: { mode, serviceName: 'db', execCreateBody: execBody, callTimeoutSeconds: 30 },
    allowed: serviceRequests(mode, taskList).allowed,
    containers: [SERVICE_TASK],
  })),
];

/** The agent's call that stands for `route` (its method, and a target the route's regex matches). */
function requestOf(route: ProxyRoute, allowed: ProxyRequest[]): ProxyRequest {
  const request = allowed.find((r) => r.method === route.method && new RegExp(route.urlRegex).test(r.target.replace('EXEC_ID', FOREIGN_EXEC_ID)));
  if (!request) {
    throw new Error(`no call of the agent stands for route ${route.name} (${route.method} ${route.urlRegex})`);
  }
  return { ...request, target: request.target.replace('EXEC_ID', FOREIGN_EXEC_ID) };
}

/** The route's own pinned body, then the attacker's: a HostConfig, padded to FORGED_BODY_BYTES. */
function forgedBody(pinned: string): string {
  const head = `${pinned}${HOST_CONFIG_BODY}`;
  return head + ' '.repeat(FORGED_BODY_BYTES - head.length);
}

/** Every route with a pinned body, with the agent's call that stands for it: the sweep's cases. */
function sweptRoutes(config: SweptConfig): Array<[string, ProxyRequest]> {
  return proxyRoutes(config.options).map((route) => {
    const request = requestOf(route, config.allowed);
    return [`${route.name} (${request.method} ${request.target.slice(0, 60)})`, request];
  });
}

/** The status of `request` padded by `pad` bytes with the forged body. */
async function statusWith(proxy: HaproxyUnderTest, request: ProxyRequest, pad: number): Promise<number> {
  // (HAProxy 3.0 keeps some refused connections open to read the rest of the body: the
  // complete answer is enough.)
  return (await sendRaw('127.0.0.1', proxy.port, rawRequest(paddedRequest(request, pad, forgedBody(request.body ?? ''))), 5000, true)).status;
}

/**
 * The smallest padding at which HAProxy's parser refuses the headers (400: they no longer fit
 * in its buffer), found by bisection; the attack's window lies just below it.
 */
async function headerLimit(proxy: HaproxyUnderTest, request: ProxyRequest): Promise<number> {
  let fits = 0;
  let tooLong = 20000;
  expect(await statusWith(proxy, request, tooLong)).toBe(400);
  while (tooLong - fits > 1) {
    const mid = Math.floor((fits + tooLong) / 2);
    if ((await statusWith(proxy, request, mid)) === 400) {
      tooLong = mid;
    } else {
      fits = mid;
    }
  }
  return tooLong;
}

/** The paddings swept: coarse below the window, one by one across it and just past the limit, coarse beyond. */
function paddings(limit: number): number[] {
  const pads: number[] = [];
  for (let p = 0; p < limit - CRITICAL_WINDOW; p += 256) pads.push(p);
  for (let p = limit - CRITICAL_WINDOW; p <= limit + 16; p++) pads.push(p);
  for (let p = limit + 17; p <= limit + 2000; p += 128) pads.push(p);
  return pads;
}

/** Sends every padding (CONCURRENCY at a time); returns padding -> status. */
async function sweep(proxy: HaproxyUnderTest, request: ProxyRequest, pads: number[]): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < pads.length) {
      const pad = pads[next++];
      statuses.set(pad, await statusWith(proxy, request, pad));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}

/** Padding lengths grouped by status, e.g. { 403: '0..15170', 400: '15180..17180' }. */
function byStatus(statuses: Map<number, number>): Record<number, string> {
  const groups: Record<number, number[]> = {};
  for (const [pad, status] of [...statuses].sort((a, b) => a[0] - b[0])) (groups[status] ??= []).push(pad);
  return Object.fromEntries(Object.entries(groups).map(([s, p]) => [s, `${p[0]}..${p[p.length - 1]} (${p.length})`]));
}

describe.each(HAPROXY_VERSIONS)('$name', (version) => {
  describe.each(CONFIGS)('with $name', (config) => {
    let api: FakeDockerApi;
    let proxy: HaproxyUnderTest;

    beforeAll(async () => {
      api = await FakeDockerApi.start([...config.containers, 'web']);
      proxy = await HaproxyUnderTest.start(version, config.options, api);
    });

    afterAll(async () => {
      await proxy?.stop();
      await api?.close();
    });

    test.each(sweptRoutes(config))('refuses every header padding of %s with a 40 KB forged body; nothing reaches Docker', async (_name, request) => {
      // GIVEN the padding where the headers stop fitting in HAProxy's buffer
      const limit = await headerLimit(proxy, request);
      expect(limit).toBeGreaterThan(15000);
      // WHEN every padding that matters is sent with the forged body
      const statuses = await sweep(proxy, request, paddings(limit));
      // THEN the rules refused all that fit (403), the parser the rest (400), and Docker got nothing
      const wrong = [...statuses].filter(([pad, status]) => status !== (pad < limit ? 403 : 400));
      expect({ wrong, byStatus: byStatus(statuses) }).toEqual({ wrong: [], byStatus: expect.anything() });
      expect(api.calls).toEqual([]);
    });
  });

  describe('the control: the same sweep against the rules taken out again', () => {
    const stop = CONFIGS.find((c) => c.options.mode === QuiesceMode.STOP && c.options.containerName)!;
    const exec = CONFIGS.find((c) => c.options.mode === QuiesceMode.EXEC && c.options.containerName)!;
    const start = sweptRoutes(stop).find(([name]) => name.startsWith('start '))![1];
    const execCreate = sweptRoutes(exec).find(([name]) => name.startsWith('exec_create '))![1];

    test.each([
      ['none of them (the rules before the fix): the forged body reaches Docker', stop, start, withoutTheRules, true],
      ['none of them, exec: the pinned prefix passes and the rest reaches Docker', exec, execCreate, withoutTheRules, true],
      ['only req.body_size against req.body_len: refused', stop, start, onlyBodySize, false],
      ['only Content-Length against req.body_len: refused', stop, start, onlyContentLength, false],
      ['only req.body_size against req.body_len, exec: refused', exec, execCreate, onlyBodySize, false],
    ] as const)('%s', async (_name, config, request, rewrite, holeExpected) => {
      // GIVEN the config with some of the whole-request rules removed
      const api = await FakeDockerApi.start([DEFAULT_CONTEXT.container]);
      const proxy = await HaproxyUnderTest.start(version, config.options, api, rewrite);
      try {
        // WHEN the window below the buffer's limit is swept
        const limit = await headerLimit(proxy, request);
        api.calls.splice(0); // (the bisection's own probes may have passed)
        const statuses = await sweep(proxy, request, paddings(limit).filter((p) => p >= limit - CRITICAL_WINDOW && p < limit));
        // THEN
        const passed = [...statuses].filter(([, status]) => status !== 403);
        if (holeExpected) {
          expect(passed.length).toBeGreaterThan(0);
          expect(api.calls.length).toBe(passed.length);
          expect(api.calls.every((c) => c.body.length === FORGED_BODY_BYTES)).toBe(true);
        } else {
          expect({ passed, byStatus: byStatus(statuses) }).toEqual({ passed: [], byStatus: expect.anything() });
          expect(api.calls).toEqual([]);
        }
      } finally {
        await proxy.stop();
        await api.close();
      }
    });
  });
});

/** `config` with `line` (a line of the generated config) replaced by `by`; throws when absent. */
function replaceLine(config: string, line: RegExp, by: string): string {
  if (!line.test(config)) {
    throw new Error(`the generated config has no line ${line}: update the control`);
  }
  return config.replace(line, by);
}

const DENY_WHOLE = /^ {4}http-request deny deny_status 403 unless no_transfer_encoding no_upgrade headers_bounded body_bounded body_whole$/m;
const DENY_CONTENT_LENGTH = /^ {4}http-request deny deny_status 403 unless no_content_length \|\| content_length_whole$/m;
const OLD_UPGRADE_RULE = '    http-request deny deny_status 403 unless no_upgrade';

/** The rules before the fix: the Upgrade refusal alone, and any API version. */
function withoutTheRules(config: string): string {
  const old = replaceLine(replaceLine(config, DENY_WHOLE, OLD_UPGRADE_RULE), DENY_CONTENT_LENGTH, '');
  return old.split('(/v1[.](2[4-9]|[3-9][0-9]))?').join('(/v1[.][0-9]{1,2})?');
}

/** Of the whole-request rules, only the body size against what was buffered. */
function onlyBodySize(config: string): string {
  return replaceLine(replaceLine(config, DENY_WHOLE, `${OLD_UPGRADE_RULE} body_whole`), DENY_CONTENT_LENGTH, '');
}

/** Of the whole-request rules, only Content-Length against what was buffered. */
function onlyContentLength(config: string): string {
  return replaceLine(config, DENY_WHOLE, OLD_UPGRADE_RULE);
}

