/**
 * The requests the Docker API proxy must refuse, and the calls it must let through, per
 * quiesce mode: one table, used by the HAProxy test (test/docker-api/proxy-config.test.ts,
 * Debian's haproxy in front of the fake Docker API) and reusable by the real-engine test that
 * drives the deployed proxy. Requests are raw bytes sent over a plain socket (`sendRaw`), so no
 * HTTP client normalises a path, drops a `#` or re-encodes a body on the way.
 */
import * as net from 'net';
import { QuiesceMode } from '../../src/policy/quiesce';
import { EXEC_START_BODY, execCreateBody } from '../../src/docker/exec-body';

/** One request, as it goes on the wire. `EXEC_ID` in the target is replaced by a real exec id. */
export interface ProxyRequest {
  /** What the request tries, e.g. 'create a container'. */
  readonly name: string;
  readonly method: string;
  /** The request target exactly as sent (not encoded or normalised). */
  readonly target: string;
  readonly body?: string;
  /** Extra header lines, e.g. ['Transfer-Encoding: chunked']. */
  readonly headers?: string[];
  /** The body is sent as one HTTP/1.1 chunk instead of with Content-Length. */
  readonly chunked?: boolean;
  /**
   * The statuses that count as refused. Default [403] (HAProxy's deny). A raw `#` in the
   * request line is malformed HTTP: HAProxy's parser answers 400 before any rule runs
   * (2.6 as Debian ships it, and 2.8.2+), which refuses it just as well.
   */
  readonly refusedWith?: number[];
}

/** The names and bodies the table is built from. */
export interface ProxyRequestContext {
  /** The protected container. */
  readonly container: string;
  /** Another container on the same host. */
  readonly other: string;
  /** The command of Quiesce.exec (its body is the one pinned at synth). */
  readonly execCommand: string[];
}

export const DEFAULT_CONTEXT: ProxyRequestContext = { container: 'db', other: 'web', execCommand: ['pg_dumpall', '-f', '/data/dump.sql'] };

/** A 64-hex exec id of an exec the sidecar did not create (in another container, say). */
export const FOREIGN_EXEC_ID = 'ab'.repeat(32);

/**
 * The calls each mode needs, in the order the agent makes them. In exec mode, EXEC_ID stands
 * for the id returned by the exec-create call before it.
 */
export function allowedRequests(mode: QuiesceMode, ctx: ProxyRequestContext = DEFAULT_CONTEXT): ProxyRequest[] {
  const c = `/containers/${ctx.container}`;
  const json = ['Content-Type: application/json'];
  const always: ProxyRequest[] = [
    { name: 'ping', method: 'GET', target: '/_ping' },
    { name: 'ping (HEAD)', method: 'HEAD', target: '/_ping' },
    { name: 'version', method: 'GET', target: '/version' },
    { name: 'versioned ping', method: 'GET', target: '/v1.41/_ping' },
    { name: 'ping at the oldest API version allowed (1.24)', method: 'GET', target: '/v1.24/_ping' },
  ];
  const calls: Record<QuiesceMode, ProxyRequest[]> = {
    [QuiesceMode.NONE]: [],
    [QuiesceMode.STOP]: [
      { name: 'stop with a timeout', method: 'POST', target: `${c}/stop?t=60`, body: '' },
      { name: 'start', method: 'POST', target: `${c}/start`, body: '' },
      { name: 'stop', method: 'POST', target: `/v1.41${c}/stop`, body: '' },
      { name: 'start (versioned)', method: 'POST', target: `/v1.41${c}/start`, body: '' },
      { name: 'start at the oldest API version allowed (1.24)', method: 'POST', target: `/v1.24${c}/start`, body: '' },
    ],
    [QuiesceMode.PAUSE]: [
      { name: 'pause', method: 'POST', target: `${c}/pause`, body: '' },
      { name: 'unpause', method: 'POST', target: `${c}/unpause`, body: '' },
      { name: 'pause (versioned)', method: 'POST', target: `/v1.41${c}/pause`, body: '' },
      { name: 'unpause (versioned)', method: 'POST', target: `/v1.41${c}/unpause`, body: '' },
    ],
    [QuiesceMode.EXEC]: [
      { name: 'exec create', method: 'POST', target: `${c}/exec`, body: execCreateBody(ctx.execCommand), headers: json },
      { name: 'exec start', method: 'POST', target: '/exec/EXEC_ID/start', body: EXEC_START_BODY, headers: json },
      { name: 'exec inspect', method: 'GET', target: '/exec/EXEC_ID/json' },
    ],
  };
  return [...always, ...calls[mode]];
}

/** Requests refused in every mode (and, for each mode, the other modes' calls: see forbiddenRequests). */
export function alwaysForbidden(ctx: ProxyRequestContext = DEFAULT_CONTEXT): ProxyRequest[] {
  const c = `/containers/${ctx.container}`;
  const o = `/containers/${ctx.other}`;
  const pinned = execCreateBody(ctx.execCommand);
  const json = ['Content-Type: application/json'];
  const privileged = JSON.stringify({ Image: 'alpine', HostConfig: { Privileged: true, Binds: ['/:/host'] } });
  return [
    { name: 'create a privileged container', method: 'POST', target: '/containers/create', body: privileged, headers: json },
    { name: 'create a container (versioned, named)', method: 'POST', target: '/v1.41/containers/create?name=x', body: privileged, headers: json },
    { name: 'read a file out of the container (archive)', method: 'GET', target: `${c}/archive?path=/` },
    { name: 'write a file into the container (archive)', method: 'PUT', target: `${c}/archive?path=/`, body: 'tar' },
    { name: "read another container's files", method: 'GET', target: `${o}/archive?path=/secrets` },
    { name: 'inspect the container (its environment)', method: 'GET', target: `${c}/json` },
    { name: 'list containers', method: 'GET', target: '/containers/json?all=1' },
    { name: 'stop another container', method: 'POST', target: `${o}/stop`, body: '' },
    { name: 'start another container', method: 'POST', target: `${o}/start`, body: '' },
    { name: 'pause another container', method: 'POST', target: `/v1.41${o}/pause`, body: '' },
    { name: 'exec in another container', method: 'POST', target: `${o}/exec`, body: pinned, headers: json },
    { name: 'exec in another container (versioned)', method: 'POST', target: `/v1.41${o}/exec`, body: pinned, headers: json },
    { name: 'kill the container', method: 'POST', target: `${c}/kill`, body: '' },
    { name: 'remove the container', method: 'DELETE', target: c },
    { name: 'remove the container, forced', method: 'DELETE', target: `/v1.41${c}?force=1` },
    { name: 'update the container', method: 'POST', target: `${c}/update`, body: '{"Memory":1}', headers: json },
    { name: 'pull an image', method: 'POST', target: '/images/create?fromImage=alpine', body: '' },
    { name: 'traversal to another container', method: 'POST', target: `${c}/../${ctx.other}/stop`, body: '' },
    { name: 'traversal to create', method: 'POST', target: `/v1.41/../containers/create`, body: privileged, headers: json },
    { name: 'encoded traversal', method: 'POST', target: `${c}/%2e%2e/${ctx.other}/stop`, body: '' },
    { name: 'encoded traversal, upper case', method: 'POST', target: `${c}/%2E%2E/%2E%2E/containers/create`, body: privileged, headers: json },
    { name: 'encoded slash', method: 'POST', target: `/containers/${ctx.container}%2Fstop`, body: '' },
    { name: 'encoded container name', method: 'POST', target: `/containers/%${ctx.container.charCodeAt(0).toString(16)}${ctx.container.slice(1)}/stop`, body: '' },
    { name: 'double slash at the start', method: 'POST', target: `/${c}/stop`, body: '' },
    { name: 'double slash inside', method: 'POST', target: `/containers//${ctx.container}/stop`, body: '' },
    { name: 'trailing slash', method: 'POST', target: `${c}/stop/`, body: '' },
    { name: 'upper-case path', method: 'POST', target: `/CONTAINERS/${ctx.container}/STOP`, body: '' },
    { name: 'upper-case container name', method: 'POST', target: `/containers/${ctx.container.toUpperCase()}/stop`, body: '' },
    { name: 'upper-case version prefix', method: 'POST', target: `/V1.41${c}/stop`, body: '' },
    { name: 'a second ?', method: 'POST', target: `${c}/stop?t=1?signal=KILL`, body: '' },
    { name: 'another query parameter', method: 'POST', target: `${c}/stop?signal=KILL`, body: '' },
    { name: 'a # fragment', method: 'POST', target: `${c}/stop#/../../containers/create`, body: '', refusedWith: [400, 403] },
    { name: 'an encoded # fragment', method: 'POST', target: `${c}/stop%23/../../containers/create`, body: '' },
    { name: 'a ; parameter', method: 'POST', target: `${c}/stop;x=1`, body: '' },
    { name: 'absolute-form URI', method: 'POST', target: `http://docker${c}/stop`, body: '' },
    { name: 'absolute-form URI to create', method: 'POST', target: 'http://docker/containers/create', body: privileged, headers: json },
    { name: 'a bad version prefix', method: 'POST', target: `/v1.41.1${c}/stop`, body: '' },
    { name: 'exec body with Privileged', method: 'POST', target: `${c}/exec`, body: JSON.stringify({ Cmd: ctx.execCommand, AttachStdout: true, AttachStderr: true, Privileged: true }), headers: json },
    { name: 'exec body with lower-case keys (Docker decodes them alike)', method: 'POST', target: `${c}/exec`, body: JSON.stringify({ cmd: ctx.execCommand, attachstdout: true, attachstderr: true, privileged: true }), headers: json },
    { name: 'exec body with a User', method: 'POST', target: `${c}/exec`, body: JSON.stringify({ Cmd: ctx.execCommand, AttachStdout: true, AttachStderr: true, User: 'root' }), headers: json },
    { name: 'exec body with extra spaces', method: 'POST', target: `${c}/exec`, body: pinned.replace(/,/g, ', ').replace(/:/g, ': '), headers: json },
    { name: 'exec body with a trailing newline', method: 'POST', target: `${c}/exec`, body: `${pinned}\n`, headers: json },
    { name: 'exec body with another command', method: 'POST', target: `${c}/exec`, body: execCreateBody(['sh', '-c', 'cat /etc/shadow']), headers: json },
    { name: 'exec body with a duplicate key', method: 'POST', target: `${c}/exec`, body: pinned.replace(/}$/, ',"Privileged":true}'), headers: json },
    { name: 'Privileged exec body, chunked', method: 'POST', target: `${c}/exec`, body: pinned.replace(/}$/, ',"Privileged":true}'), headers: json, chunked: true },
    { name: 'exec start with a TTY', method: 'POST', target: `/exec/${FOREIGN_EXEC_ID}/start`, body: '{"Detach":false,"Tty":true}', headers: json },
    { name: 'exec start with an upper-case id', method: 'POST', target: `/exec/${FOREIGN_EXEC_ID.toUpperCase()}/start`, body: EXEC_START_BODY, headers: json },
    { name: 'exec start with a short id', method: 'POST', target: '/exec/abcdef/start', body: EXEC_START_BODY, headers: json },
    { name: 'exec resize', method: 'POST', target: `/exec/${FOREIGN_EXEC_ID}/resize?h=1&w=1`, body: '' },
    { name: 'stop with a body', method: 'POST', target: `${c}/stop`, body: '{"t":1}', headers: json },
    { name: 'stop by GET', method: 'GET', target: `${c}/stop` },
    { name: 'stop by PUT', method: 'PUT', target: `${c}/stop`, body: '' },
    { name: 'ping by POST', method: 'POST', target: '/_ping', body: '' },
    { name: 'version by DELETE', method: 'DELETE', target: '/version' },
    { name: 'ping with an Upgrade header', method: 'GET', target: '/_ping', headers: ['Connection: Upgrade', 'Upgrade: tcp'] },
    { name: 'system info', method: 'GET', target: '/info' },
    { name: 'events', method: 'GET', target: '/events' },
    // Below API 1.24, Docker (Engine 20.10 accepts down to 1.12) applies a JSON body sent to
    // start as the container's new HostConfig: refused by the version floor, body or not.
    ...['1.23', '1.12', '1.0', '1.9', '1.19', '1.2'].map((v): ProxyRequest => ({ name: `start at API ${v}, with a HostConfig body`, method: 'POST', target: `/v${v}${c}/start`, body: HOST_CONFIG_BODY, headers: json })),
    ...['1.23', '1.12', '1.0', '1.1'].map((v): ProxyRequest => ({ name: `start at API ${v}, empty body`, method: 'POST', target: `/v${v}${c}/start`, body: '' })),
    { name: 'ping at API 1.23', method: 'GET', target: '/v1.23/_ping' },
    { name: 'start at API 1.023 (a version spelled with a leading zero)', method: 'POST', target: `/v1.023${c}/start`, body: '' },
    { name: 'start at API 2.0', method: 'POST', target: `/v2.0${c}/start`, body: '' },
    // Transfer-Encoding, whatever its value: a chunked body declares no length to hold it to.
    { name: 'start with an empty chunked body', method: 'POST', target: `${c}/start`, body: '', chunked: true },
    { name: 'ping with an empty chunked body', method: 'GET', target: '/_ping', body: '', chunked: true },
    { name: 'start with Transfer-Encoding: identity', method: 'POST', target: `${c}/start`, headers: ['Transfer-Encoding: identity'], refusedWith: [400, 403] },
    // (HAProxy's parser refuses a coding other than chunked itself: 422, before any rule.)
    { name: 'start with Transfer-Encoding: gzip, chunked', method: 'POST', target: `${c}/start`, body: '', chunked: true, headers: ['Transfer-Encoding: gzip'], refusedWith: [400, 403, 422] },
    // Bounds: headers that would take the buffer the body must fit in; a body nothing pins.
    { name: 'start with 5,000 bytes of headers', method: 'POST', target: `${c}/start`, body: '', headers: [`X-Pad: ${'a'.repeat(5000)}`] },
    { name: 'start with 4,200 bytes of headers in 42 lines', method: 'POST', target: `${c}/start`, body: '', headers: Array.from({ length: 42 }, (_, i) => `X-Pad-${i}: ${'a'.repeat(90)}`) },
    { name: 'start with Expect: 100-continue and a HostConfig body at API 1.23', method: 'POST', target: `/v1.23${c}/start`, body: HOST_CONFIG_BODY, headers: [...json, 'Expect: 100-continue'] },
  ];
}

/** What the attacker's start sends as the container's new HostConfig below API 1.24. */
export const HOST_CONFIG_BODY = JSON.stringify({ Binds: ['db-backup-state:/usr/local/bin', '/:/host'] });

/**
 * `r` with `padBytes` bytes of header padding (one `X-Pad` line whose value fills the rest)
 * and `body` instead of its own: the attack on `option http-buffer-request`, which stops
 * waiting for the body once the headers have filled HAProxy's buffer.
 */
export function paddedRequest(r: ProxyRequest, padBytes: number, body: string): ProxyRequest {
  const line = 'X-Pad: ';
  const pad = padBytes >= line.length + 1 ? [`${line}${'a'.repeat(padBytes - line.length)}`] : [];
  return { ...r, name: `${r.name}, ${padBytes} bytes of padding`, body, headers: [...(r.headers ?? []), ...pad] };
}

/** Everything mode `mode` must refuse: the always-forbidden list, plus the other modes' calls. */
export function forbiddenRequests(mode: QuiesceMode, ctx: ProxyRequestContext = DEFAULT_CONTEXT): ProxyRequest[] {
  const own = new Set(allowedRequests(mode, ctx).map((r) => `${r.method} ${r.target}`));
  const others = [QuiesceMode.STOP, QuiesceMode.PAUSE, QuiesceMode.EXEC]
    .filter((m) => m !== mode)
    .flatMap((m) =>
      allowedRequests(m, ctx)
        .filter((r) => !own.has(`${r.method} ${r.target}`))
        .map((r) => ({ ...r, name: `${m} mode's ${r.name}`, target: r.target.replace('EXEC_ID', FOREIGN_EXEC_ID) })),
    );
  return [...alwaysForbidden(ctx), ...others];
}

/** The request as bytes on the wire, with `Connection: close`. */
export function rawRequest(r: ProxyRequest, host = 'docker', execId = FOREIGN_EXEC_ID): Buffer {
  const target = r.target.replace('EXEC_ID', execId);
  const head = [`${r.method} ${target} HTTP/1.1`, `Host: ${host}`, 'User-Agent: proxy-test', 'Connection: close', ...(r.headers ?? [])];
  const body = Buffer.from(r.body ?? '', 'utf8');
  if (r.chunked) {
    head.push('Transfer-Encoding: chunked');
    const chunk = body.length > 0 ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]) : Buffer.alloc(0);
    return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), chunk, Buffer.from('0\r\n\r\n')]);
  }
  if (r.body !== undefined) {
    head.push(`Content-Length: ${body.length}`);
  }
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body]);
}

/** What came back: the status of the first response and the whole raw answer. */
export interface RawAnswer {
  readonly status: number;
  readonly raw: string;
}

/**
 * Sends bytes over a fresh TCP connection and reads until the server closes it (or timeoutMs),
 * or, with `firstAnswerOnly`, until the first final answer is complete (one with a
 * Content-Length, as HAProxy's own are): a server that keeps the connection open after its
 * refusal, to read the rest of a request, costs no wait.
 */
export function sendRaw(host: string, port: number, bytes: Buffer, timeoutMs = 5000, firstAnswerOnly = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, host);
    const timer = setTimeout(() => socket.destroy(new Error(`no end of answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d) => {
      chunks.push(d);
      // (an answer to HEAD has no body, whatever its Content-Length says)
      const head = bytes.subarray(0, 5).toString('latin1') === 'HEAD ';
      if (firstAnswerOnly && answerComplete(withoutInterim(Buffer.concat(chunks).toString('latin1')), head)) {
        socket.destroy();
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      const raw = withoutInterim(Buffer.concat(chunks).toString('latin1'));
      // A server may reset the connection right after its answer: the answer still counts.
      if (/^HTTP\/1\.[01] \d{3}/.test(raw)) {
        resolve({ status: Number(raw.slice(9, 12)), raw });
      } else {
        reject(e);
      }
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(finalAnswer(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

/** Whether `raw` starts with a whole response: its head, and as many body bytes as its Content-Length. */
function answerComplete(raw: string, toHead: boolean): boolean {
  const split = raw.indexOf('\r\n\r\n');
  const length = /^content-length: *(\d+)/im.exec(raw.slice(0, split));
  return split >= 0 && length !== null && raw.length >= split + 4 + (toHead ? 0 : Number(length[1]));
}

/** The final answer in `raw` (what came back on a connection): its status (0 without one), and the raw text from it on. */
export function finalAnswer(raw: string): RawAnswer {
  const final = withoutInterim(raw);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(final);
  return { status: m ? Number(m[1]) : 0, raw: final };
}

/** `raw` from its final response on: interim 1xx answers (`100 Continue`) dropped. */
function withoutInterim(raw: string): string {
  return raw.replace(/^(HTTP\/1\.[01] 1\d\d[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n)+/, '');
}

/** The body of the first response in `raw` (Content-Length or chunked). */
export function answerBody(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  let rest = raw.slice(split + 4);
  if (!/^transfer-encoding: *chunked/im.test(head)) {
    const m = /^content-length: *(\d+)/im.exec(head);
    return m ? rest.slice(0, Number(m[1])) : rest;
  }
  let body = '';
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) {
      return body;
    }
    body += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/** A task of the protected service `db` (replicated slot 1) and one of another service. */
export const SERVICE_TASK = 'db.1.abcdefghijklmnopqrstuvwxy';
export const OTHER_SERVICE_TASK = 'web.1.abcdefghijklmnopqrstuvwxy';

/**
 * For the proxy of swarm service `db`: its task stands where the container stood (pause and
 * exec; stop is no service mode), plus the one query that lists its tasks; refused, besides
 * everything a container's proxy refuses, other services' tasks, a container merely named
 * after the service, and every other list query.
 */
export function serviceRequests(mode: QuiesceMode.PAUSE | QuiesceMode.EXEC, taskList: string): { allowed: ProxyRequest[]; forbidden: ProxyRequest[] } {
  const ctx = { ...DEFAULT_CONTEXT, container: SERVICE_TASK, other: OTHER_SERVICE_TASK };
  const json = ['Content-Type: application/json'];
  const pinned = execCreateBody(ctx.execCommand);
  const list = { name: 'list the service\'s running tasks', method: 'GET', target: taskList };
  const allowed = [...allowedRequests(mode, ctx), list, { ...list, name: 'list the tasks (versioned)', target: `/v1.41${taskList}` }];
  const swarmOnly: ProxyRequest[] = [
    { name: 'exec in a container named like the service', method: 'POST', target: '/containers/db/exec', body: pinned, headers: json },
    { name: 'pause a container named like the service', method: 'POST', target: '/containers/db/pause', body: '' },
    { name: 'exec in a task with a short id', method: 'POST', target: '/containers/db.1.abc/exec', body: pinned, headers: json },
    { name: 'exec in a task named with upper case', method: 'POST', target: `/containers/${SERVICE_TASK.toUpperCase()}/exec`, body: pinned, headers: json },
    { name: 'exec in a task of a service whose name starts alike', method: 'POST', target: `/containers/dbx.1.${'a'.repeat(25)}/exec`, body: pinned, headers: json },
    { name: 'stop the task (swarm would start another)', method: 'POST', target: `/containers/${SERVICE_TASK}/stop`, body: '' },
    { name: 'list every container', method: 'GET', target: '/containers/json' },
    { name: 'list another service\'s tasks', method: 'GET', target: taskList.replace('%3Ddb%22', '%3Dweb%22') },
    { name: 'list the tasks, and every stopped container', method: 'GET', target: `${taskList}&all=1` },
    { name: 'list with the filter decoded', method: 'GET', target: decodeURIComponent(taskList) },
    { name: 'list the service\'s tasks by POST', method: 'POST', target: taskList, body: '' },
    { name: 'inspect a service (a manager call)', method: 'GET', target: '/services/db' },
    { name: 'scale the service (a manager call)', method: 'POST', target: '/services/db/update?version=1', body: '{}', headers: json },
    { name: 'list the swarm\'s secrets', method: 'GET', target: '/secrets' },
  ];
  const own = new Set(allowed.map((r) => `${r.method} ${r.target}`));
  return { allowed, forbidden: [...forbiddenRequests(mode, ctx).filter((r) => !own.has(`${r.method} ${r.target}`)), ...swarmOnly] };
}
