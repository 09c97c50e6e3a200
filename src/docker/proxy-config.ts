/**
 * The HAProxy configuration of the Docker API proxy: an allowlist of method + exact URL +
 * exact body for the one protected container, generated at synth time; everything else is
 * answered 403 by HAProxy and never reaches Docker. A pure function (no cdktf), tested by
 * running HAProxy itself, 2.6 and 3.0 (test/docker-api/proxy-config.test.ts).
 *
 * First, the request is judged whole or not at all (403 otherwise):
 * - HTTP/1 only (`proto h1` on the bind: no HTTP/2 upgrade, whose frames a rule sees otherwise);
 * - no `Transfer-Encoding` (any: chunked bodies have no declared length to hold them to), no
 *   `Upgrade` (Docker would hand the connection over as a raw stream);
 * - headers of at most MAX_HEADER_BYTES and a declared body of at most the longest pinned body:
 *   the whole request then fits in HAProxy's 16 KB buffer;
 * - the body entirely buffered: `req.body_len` (what HAProxy holds) equals `req.body_size`
 *   (what Content-Length declares) and Content-Length itself. `option http-buffer-request`
 *   waits for the body only until the buffer is full: with the headers padded to fill it,
 *   `req.body` held nothing, matched the empty body pinned on stop/start, and the rest of a
 *   40 KB body went on to Docker (found on HAProxy 2.6.12 and 3.0.11; docs/security.md).
 *
 * Then it must match one route, each test exactly:
 * - the method (`POST`, `GET`, `HEAD`);
 * - the whole request target (`url`: path and query as received, nothing decoded or
 *   normalised), by an anchored regular expression over a closed alphabet: no `%`, `..`,
 *   `//`, `#`, second `?`, upper case or absolute-form URI can match; an API version prefix
 *   only from 1.24 on (VERSION);
 * - the whole body, by its SHA-256 (`req.body,sha2(256),hex`): empty for every call but the
 *   exec pair, whose exact bytes are computed at synth time (exec-body.ts) and sent unchanged
 *   by the agent.
 *
 * Written for HAProxy 2.6 (Debian 12's) and 3.0 (Debian 13's and the pinned image), both run
 * by the tests: only keywords both have. `req.body_size` is HTX's data plus its `extra` (the
 * declared length not yet received) in both (src/http_fetch.c); 3.3 computes it another way,
 * so the Content-Length comparison beside it does not depend on it.
 */
import { createHash } from 'crypto';
import { QuiesceMode } from '../policy/quiesce';
import { EXEC_START_BODY } from './exec-body';

/** Where the proxy listens inside its container. */
export const DOCKER_API_PROXY_PORT = 2375;

/** Input of `dockerApiProxyConfig`. */
export interface ProxyConfigOptions {
  /** The quiesce mode served: decides which calls are open. */
  readonly mode: QuiesceMode;
  /**
   * The protected container's name (the only container the calls may name).
   * @default - a service's (`serviceName`)
   */
  readonly containerName?: string;
  /**
   * A protected swarm service's name: the calls may name its tasks' containers
   * (`<service>.<slot or node id>.<task id>`, a new name whenever swarm replaces the task),
   * and list them by the one query `serviceTaskListPath` builds. Stop is not offered: a
   * stopped task is replaced by swarm, and starting it again would run two.
   * @default - a container's (`containerName`)
   */
  readonly serviceName?: string;
  /**
   * The exact body of `POST /containers/NAME/exec` (exec mode), from `execCreateBody`.
   * Without it, exec mode opens no exec call at all.
   */
  readonly execCreateBody?: string;
  /**
   * Longest time one call may take (the exec command's or the stop's timeout); the proxy's
   * client and server timeouts are this plus a margin.
   * @default 600
   */
  readonly callTimeoutSeconds?: number;
  /**
   * The Docker API behind the proxy: a unix socket path, or `host:port` (tests).
   * @default "/var/run/docker.sock"
   */
  readonly backend?: string;
  /**
   * The listening address.
   * @default ":2375"
   */
  readonly bind?: string;
}

/** One allowed call: method, anchored regex over the request target, SHA-256 and length of the body. */
export interface ProxyRoute {
  readonly name: string;
  readonly method: string;
  readonly urlRegex: string;
  readonly bodySha256: string;
  readonly bodyBytes: number;
}

const EMPTY_BODY = '';
/**
 * An optional API version prefix (`/v1.41`), 1.24 or later. Below 1.24 Docker reads a JSON
 * body on `POST /containers/X/start` as the container's new HostConfig (binds, privileged);
 * from 1.24 on it refuses any such body (moby postContainersStart), and the other routes read
 * no version-dependent body. Engine 20.10 still accepts versions down to 1.12; Docker 25+
 * refuses below 1.24 itself (MinSupportedAPIVersion), so no current client needs less. The
 * agent sends no prefix at all (the engine's own version).
 */
const VERSION = '(/v1[.](2[4-9]|[3-9][0-9]))?';
/**
 * The longest header block a request may carry (`req.hdrs`, the start line excluded). The
 * agent's busybox wget sends five short headers; the bound keeps headers from taking the
 * buffer the body must fit in.
 */
export const MAX_HEADER_BYTES = 4096;
/**
 * The longest body a route may pin: with MAX_HEADER_BYTES of headers and the start line, the
 * request still fits in HAProxy's buffer (tune.bufsize 16384 less tune.maxrewrite 1024), so
 * it is buffered whole and can be judged.
 */
export const MAX_PINNED_BODY_BYTES = 8192;
/** An exec instance id as Docker makes it: 64 lower-case hex digits. */
const EXEC_ID = '[0-9a-f]{64}';

/** A swarm task id (and a node id): 25 lower-case letters and digits (swarmkit's identity). */
const SWARM_ID = '[0-9a-z]{25}';

/**
 * The one Docker API query that lists a swarm service's running tasks on the node it is sent
 * to (a node's daemon knows only its own containers): what the agent asks, and all the proxy
 * lets it list.
 */
export function serviceTaskListPath(serviceName: string): string {
  const filters = { label: [`com.docker.swarm.service.name=${serviceName}`], status: ['running'] };
  return `/containers/json?filters=${encodeURIComponent(JSON.stringify(filters))}`;
}

/** The calls the proxy lets through for these options, nothing else. */
export function proxyRoutes(options: ProxyConfigOptions): ProxyRoute[] {
  const name = options.containerName ?? options.serviceName;
  if ((options.containerName === undefined) === (options.serviceName === undefined)) {
    throw new Error('give either containerName or serviceName');
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name!) || (options.serviceName !== undefined && name!.includes('.'))) {
    throw new Error(`not a Docker ${options.serviceName !== undefined ? 'service' : 'container'} name: ${JSON.stringify(name)}`);
  }
  if (options.serviceName !== undefined && options.mode === QuiesceMode.STOP) {
    throw new Error('a swarm service cannot be stopped for a backup: swarm replaces a stopped task');
  }
  // `.` is the only regex metacharacter a container name can hold: put it in a class. A
  // service's task: its name, the slot (replicated) or node id (global), the task id.
  const c =
    options.serviceName !== undefined
      ? `/containers/${options.serviceName}[.]([0-9]{1,5}|${SWARM_ID})[.]${SWARM_ID}`
      : `/containers/${name!.replace(/\./g, '[.]')}`;
  const route = (routeName: string, method: string, target: string, body = EMPTY_BODY): ProxyRoute => {
    const bodyBytes = Buffer.byteLength(body, 'utf8');
    if (bodyBytes > MAX_PINNED_BODY_BYTES) {
      throw new Error(
        `the ${routeName} body is ${bodyBytes} bytes; the proxy pins at most ${MAX_PINNED_BODY_BYTES} (it judges a request only whole, in its buffer): shorten the command, e.g. run a script in the container`,
      );
    }
    return { name: routeName, method, urlRegex: `^${VERSION}${target}$`, bodySha256: sha256Hex(body), bodyBytes };
  };
  const routes = [route('ping', 'GET', '/_ping'), route('ping_head', 'HEAD', '/_ping'), route('version', 'GET', '/version')];
  if (options.serviceName !== undefined && options.mode !== QuiesceMode.NONE) {
    // Exactly this query (percent-encoded JSON): `?` and `.` are the regex metacharacters it holds.
    routes.push(route('tasks', 'GET', serviceTaskListPath(options.serviceName).replace(/[?.]/g, (m) => `[${m}]`)));
  }
  switch (options.mode) {
    case QuiesceMode.STOP:
      routes.push(route('stop', 'POST', `${c}/stop([?]t=[0-9]{1,5})?`), route('start', 'POST', `${c}/start`));
      break;
    case QuiesceMode.PAUSE:
      routes.push(route('pause', 'POST', `${c}/pause`), route('unpause', 'POST', `${c}/unpause`));
      break;
    case QuiesceMode.EXEC:
      if (options.execCreateBody !== undefined) {
        routes.push(
          route('exec_create', 'POST', `${c}/exec`, options.execCreateBody),
          route('exec_start', 'POST', `/exec/${EXEC_ID}/start`, EXEC_START_BODY),
          route('exec_inspect', 'GET', `/exec/${EXEC_ID}/json`),
        );
      }
      break;
    default:
      break;
  }
  return routes;
}

/** The complete haproxy.cfg for these options. */
export function dockerApiProxyConfig(options: ProxyConfigOptions): string {
  const routes = proxyRoutes(options);
  const timeout = (options.callTimeoutSeconds ?? 600) + 60;
  const backend = options.backend ?? '/var/run/docker.sock';
  const lines = [
    '# Generated by cdktf-container-backup (src/docker/proxy-config.ts): the Docker API',
    options.serviceName !== undefined
      ? `# calls the backup task of service ${options.serviceName} may make (quiesce mode ${options.mode}).`
      : `# calls the backup sidecar of container ${options.containerName} may make (quiesce mode ${options.mode}).`,
    '# Everything else is answered 403 here and never reaches Docker.',
    'global',
    '    maxconn 32',
    '    log stdout format raw local0 info',
    '',
    'defaults',
    '    mode http',
    '    log global',
    '    option httplog',
    '    timeout connect 5s',
    '    timeout http-request 10s',
    `    timeout client ${timeout}s`,
    `    timeout server ${timeout}s`,
    `    timeout tunnel ${timeout}s`,
    '',
    'frontend docker_api',
    // HTTP/1 only: no upgrade to HTTP/2 on the clear-text port.
    `    bind ${options.bind ?? `:${DOCKER_API_PROXY_PORT}`} proto h1`,
    '    # Wait for the body before the rules run (req.body below); it stops waiting when the',
    '    # buffer is full, so the rules after it refuse whatever was not buffered whole.',
    '    option http-buffer-request',
    '    acl no_transfer_encoding req.hdr_cnt(transfer-encoding) eq 0',
    '    acl no_upgrade req.hdr_cnt(upgrade) eq 0',
    `    acl headers_bounded req.hdrs,length le ${MAX_HEADER_BYTES}`,
    `    acl body_bounded req.body_size le ${Math.max(...routes.map((r) => r.bodyBytes))}`,
    '    # What HAProxy holds (body_len) against what was declared: the body size, and',
    '    # Content-Length itself. A failed fetch matches nothing, so each rule fails closed.',
    '    http-request set-var(txn.body_len) req.body_len',
    '    acl body_whole req.body_size,sub(txn.body_len) eq 0',
    '    acl no_content_length req.hdr_cnt(content-length) eq 0',
    '    acl content_length_whole req.hdr_val(content-length),sub(txn.body_len) eq 0',
    '    http-request deny deny_status 403 unless no_transfer_encoding no_upgrade headers_bounded body_bounded body_whole',
    '    http-request deny deny_status 403 unless no_content_length || content_length_whole',
  ];
  for (const r of routes) {
    lines.push(
      `    acl m_${r.name} method ${r.method}`,
      `    acl u_${r.name} url -m reg '${r.urlRegex}'`,
      `    acl b_${r.name} req.body,sha2(256),hex -m str ${r.bodySha256.toUpperCase()}`,
    );
  }
  lines.push(`    http-request allow if ${routes.map((r) => `m_${r.name} u_${r.name} b_${r.name}`).join(' || ')}`);
  lines.push('    http-request deny deny_status 403');
  lines.push('    default_backend docker');
  lines.push('');
  lines.push('backend docker');
  lines.push(`    server docker ${backend}`);
  return lines.join('\n') + '\n';
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
