import { Container } from '@cdktf/provider-docker/lib/container';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Construct } from 'constructs';
import { terraformLiteral } from '../agent/agent-asset';
import { ConfigurationError, show } from '../core/configuration-error';
import { execCreateBody } from './exec-body';
import { DOCKER_API_PROXY_PORT, dockerApiProxyConfig } from './proxy-config';
import { Quiesce, QuiesceMode } from '../policy/quiesce';

export { DOCKER_API_PROXY_PORT } from './proxy-config';

/**
 * The proxy image: the official HAProxy image (Alpine variant, for its `/bin/sh`), 3.0 LTS,
 * pinned by its multi-platform index digest. Digest as published in docker-library/repo-info,
 * repos/haproxy/remote/3.0.28-alpine.md at commit cb283f29c1ff1a4c70f001e52e793a7a61f9c198
 * (the official images' own record of every tag's digests).
 */
export const DEFAULT_DOCKER_API_PROXY_IMAGE =
  'haproxy:3.0.28-alpine@sha256:ed51796ef581b00aac83d547c7f76366bfe6660b7bec85c5059ca68123444d66';

/** Where the proxy writes its generated configuration (a tmpfs: the root stays read-only). */
const CONFIG_FILE = '/tmp/haproxy.cfg';

/** Properties of a `DockerApiProxy`. */
export interface DockerApiProxyProps {
  /** The protected container's name: the only container the proxy lets calls name. */
  readonly containerName: string;
  /** The quiesce mode it serves; decides which calls are open. */
  readonly mode: QuiesceMode;
  /**
   * The quiesce step it serves. Its command pins the exact body of the exec call (exec
   * mode), and its timeout sets the proxy's. Must have the same mode as `mode`.
   * @default - no exec call is allowed (exec mode then cannot work), timeouts for 600 s calls
   */
  readonly quiesce?: Quiesce;
  /**
   * The proxy image, pinned by digest: an HAProxy image with `/bin/sh`, 2.6 or 3.0 (the
   * branches the generated rules are tested on).
   * @default DEFAULT_DOCKER_API_PROXY_IMAGE
   */
  readonly image?: string;
  /**
   * The Docker socket on the host.
   * @default "/var/run/docker.sock"
   */
  readonly socketPath?: string;
}

/**
 * The only way the backup sidecar reaches the Docker API: an HAProxy on an internal network
 * shared with the sidecar alone, whose generated configuration (docker-api/proxy-config.ts)
 * lets through an allowlist of method + exact request target + exact body for the one
 * protected container, and answers 403 to everything else. The sidecar never mounts the
 * Docker socket.
 *
 * - stop: `POST /containers/NAME/stop` (optionally `?t=N`) and `POST /containers/NAME/start`;
 * - pause: `POST /containers/NAME/pause` and `/unpause`;
 * - exec: `POST /containers/NAME/exec` with exactly the body computed at synth from the
 *   `Quiesce.exec` command (no `Privileged`, no `User`), `POST /exec/ID/start` with exactly
 *   `{"Detach":false,"Tty":false}`, `GET /exec/ID/json` (ID: 64 lower-case hex digits);
 * - always: `GET /_ping`, `HEAD /_ping`, `GET /version`;
 * - each with an optional `/v1.NN` prefix from 1.24 on (below it Docker applies a body sent
 *   to start as the container's HostConfig); no percent-encoding, `..`, `//`, upper case,
 *   other query, `#`, other container, create, archive, inspect or delete can match.
 *
 * A request is judged whole or refused: HTTP/1 only, no `Transfer-Encoding` or `Upgrade`,
 * headers and body bounded so that the request fits in HAProxy's buffer, and the body entirely
 * buffered (what HAProxy holds equals what Content-Length declares). HAProxy's
 * `option http-buffer-request` stops waiting when its buffer is full: without that last check,
 * headers padded to fill it left `req.body` empty, matching the empty body pinned on start,
 * while the rest of the body went on to Docker (docs/security.md).
 *
 * Why HAProxy: a maintained project (LTS branches) with an official, multi-platform image we
 * can pin by digest; its ACLs match the whole request target and hash the whole body, so the
 * allowlist is exact; and the same configuration runs here with Debian's haproxy binaries,
 * 2.6 and 3.0, so the tests prove it request by request (test/docker-api/proxy-config.test.ts
 * and proxy-padding.test.ts). (The
 * previous tecnativa/docker-socket-proxy opened whole API sections by prefix: create and
 * archive passed.)
 *
 * The container keeps a read-only root: the configuration travels in its environment
 * (`HAPROXY_CONFIG`, nothing secret in it) and is written to a tmpfs at start. It runs as
 * uid 0 so that it may open the root-owned socket, with every capability dropped and
 * no-new-privileges.
 */
export class DockerApiProxy extends Construct {
  /** The internal network shared by the proxy and the sidecar. */
  public readonly network: Network;
  /** The proxy container. */
  public readonly container: Container;
  /** The URL the agent calls (`BACKUP_DOCKER_API`). */
  public readonly endpoint: string;
  /** The generated HAProxy configuration. */
  public readonly config: string;

  constructor(scope: Construct, id: string, props: DockerApiProxyProps) {
    super(scope, id);
    if (props.quiesce !== undefined && props.quiesce.mode !== props.mode) {
      throw proxyModeMismatch(this.node.path, props.mode, props.quiesce.mode);
    }
    const name = `${props.containerName}-backup-docker-api`;
    this.config = dockerApiProxyConfig({
      mode: props.mode,
      containerName: props.containerName,
      execCreateBody:
        props.mode === QuiesceMode.EXEC && props.quiesce !== undefined ? execCreateBody(props.quiesce.command) : undefined,
      callTimeoutSeconds: props.quiesce?.timeoutSeconds,
    });
    this.network = new Network(this, 'network', {
      name,
      // No route out: only the sidecar and the proxy are on it.
      internal: true,
      labels: [{ label: 'cdktf-container-backup.protects', value: props.containerName }],
    });
    this.container = new Container(this, 'container', {
      name,
      image: props.image ?? DEFAULT_DOCKER_API_PROXY_IMAGE,
      // uid 0 owns the socket: no capability is needed to open it.
      user: '0:0',
      entrypoint: [
        '/bin/sh',
        '-c',
        `umask 077 && printf '%s' "$HAPROXY_CONFIG" > ${CONFIG_FILE} && exec haproxy -db -f ${CONFIG_FILE}`,
      ],
      env: [`HAPROXY_CONFIG=${terraformLiteral(this.config)}`],
      restart: 'unless-stopped',
      mustRun: true,
      readOnly: true,
      securityOpts: ['no-new-privileges:true'],
      capabilities: { drop: ['ALL'] },
      tmpfs: { '/tmp': 'rw,nosuid,nodev,noexec,size=1m', '/run': 'rw,nosuid,nodev,noexec,size=1m' },
      // Only on the internal network: nothing but the sidecar can reach it.
      networkMode: this.network.name,
      volumes: [{ hostPath: props.socketPath ?? '/var/run/docker.sock', containerPath: '/var/run/docker.sock', readOnly: true }],
      labels: [
        { label: 'cdktf-container-backup.role', value: 'docker-api-proxy' },
        { label: 'cdktf-container-backup.protects', value: props.containerName },
      ],
    });
    this.endpoint = `http://${name}:${DOCKER_API_PROXY_PORT}`;
  }
}

function proxyModeMismatch(where: string, mode: string, quiesceMode: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the proxy serves quiesce mode ${show(mode)} but was given a Quiesce of mode ${show(quiesceMode)}`,
    'pass the same Quiesce whose mode is `mode` (e.g. { mode: quiesce.mode, quiesce })',
  );
}
