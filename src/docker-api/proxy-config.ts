/**
 * The HAProxy configuration of the Docker API proxy: an allowlist of method + exact URL +
 * exact body for the one protected container, generated at synth time; everything else is
 * answered 403 by HAProxy and never reaches Docker. A pure function (no cdktf), tested by
 * running HAProxy itself (test/docker-api/proxy-config.test.ts).
 *
 * How each request is judged (every test must pass, or 403):
 * - the method, exactly (`POST`, `GET`, `HEAD`);
 * - the whole request target (`url`: path and query as received, nothing decoded or
 *   normalised), by an anchored regular expression over a closed alphabet: no `%`, `..`,
 *   `//`, `#`, second `?`, upper case or absolute-form URI can match;
 * - the whole body, by its SHA-256 (`req.body,sha2(256),hex`, `option http-buffer-request`):
 *   empty for every call but the exec pair, whose exact bytes are computed at synth time
 *   (exec-body.ts) and sent unchanged by the agent;
 * - no `Upgrade` header (Docker would hand the connection over as a raw stream).
 *
 * Written for HAProxy 2.6 (Debian 12's, which the tests run) and newer (the pinned image):
 * only keywords that 2.6 has and later versions kept.
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

/** One allowed call: method, anchored regex over the request target, SHA-256 of the body. */
export interface ProxyRoute {
  readonly name: string;
  readonly method: string;
  readonly urlRegex: string;
  readonly bodySha256: string;
}

const EMPTY_BODY = '';
/** An optional API version prefix, as Docker accepts (`/v1.41`). */
const VERSION = '(/v1[.][0-9]{1,2})?';
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
  const route = (routeName: string, method: string, target: string, body = EMPTY_BODY): ProxyRoute => ({
    name: routeName,
    method,
    urlRegex: `^${VERSION}${target}$`,
    bodySha256: sha256Hex(body),
  });
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
    '# Generated by cdktf-container-backup (src/docker-api/proxy-config.ts): the Docker API',
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
    `    bind ${options.bind ?? `:${DOCKER_API_PROXY_PORT}`}`,
    '    # The whole body is read before the rules run (req.body below).',
    '    option http-buffer-request',
    '    http-request deny deny_status 403 if { req.hdr_cnt(upgrade) gt 0 }',
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
