import { Container } from '@cdktf/provider-docker/lib/container';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Construct } from 'constructs';
import { QuiesceMode } from './policy/quiesce';

/**
 * The socket proxy image: HAProxy in front of the Docker socket, allowing only the API
 * sections switched on by environment variables. Pinned by its manifest-list digest.
 */
export const DEFAULT_DOCKER_API_PROXY_IMAGE =
  'tecnativa/docker-socket-proxy:0.3.0@sha256:9e4b9e7517a6b660f2cc903a19b257b1852d5b3344794e3ea334ff00ae677ac2';

/** The port the proxy listens on inside its private network. */
export const DOCKER_API_PROXY_PORT = 2375;

/** Properties of a `DockerApiProxy`. */
export interface DockerApiProxyProps {
  /** The name prefix (the protected container's name). */
  readonly containerName: string;
  /** The quiesce mode it serves; decides which API sections are open. */
  readonly mode: QuiesceMode;
  /**
   * The proxy image, pinned by digest.
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
 * The only way the backup sidecar reaches the Docker API: a socket proxy on an internal
 * network shared with the sidecar alone, that opens just the endpoints the quiesce mode needs.
 * The sidecar never mounts the Docker socket.
 *
 * - stop: `POST /containers/{id}/stop` and `/start` (ALLOW_STOP, ALLOW_START), nothing else;
 * - pause: the containers section (`/containers/{id}/pause`, `/unpause`);
 * - exec: the containers and exec sections (`/containers/{id}/exec`, `/exec/{id}/start`, `/exec/{id}/json`).
 */
export class DockerApiProxy extends Construct {
  /** The internal network shared by the proxy and the sidecar. */
  public readonly network: Network;
  /** The proxy container. */
  public readonly container: Container;
  /** The URL the agent calls (`BACKUP_DOCKER_API`). */
  public readonly endpoint: string;

  constructor(scope: Construct, id: string, props: DockerApiProxyProps) {
    super(scope, id);
    const name = `${props.containerName}-backup-docker-api`;
    this.network = new Network(this, 'network', {
      name,
      // No route out: only the sidecar and the proxy are on it.
      internal: true,
      labels: [{ label: 'cdktf-container-backup.protects', value: props.containerName }],
    });
    this.container = new Container(this, 'container', {
      name,
      image: props.image ?? DEFAULT_DOCKER_API_PROXY_IMAGE,
      env: Object.entries(allowedSections(props.mode)).map(([k, v]) => `${k}=${v}`),
      restart: 'unless-stopped',
      mustRun: true,
      readOnly: true,
      securityOpts: ['no-new-privileges:true'],
      capabilities: { drop: ['ALL'] },
      tmpfs: { '/tmp': 'rw,nosuid,nodev,size=8m', '/run': 'rw,nosuid,nodev,size=1m' },
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

/** The proxy's switches: every section off except what the mode needs. */
function allowedSections(mode: QuiesceMode): { [name: string]: string } {
  const closed = { EVENTS: '0', PING: '1', VERSION: '1', CONTAINERS: '0', EXEC: '0', POST: '0', ALLOW_START: '0', ALLOW_STOP: '0', ALLOW_RESTARTS: '0' };
  switch (mode) {
    case QuiesceMode.STOP:
      // POST must be on for any POST to pass; without CONTAINERS only start/stop do.
      return { ...closed, POST: '1', ALLOW_START: '1', ALLOW_STOP: '1' };
    case QuiesceMode.PAUSE:
      return { ...closed, POST: '1', CONTAINERS: '1' };
    case QuiesceMode.EXEC:
      return { ...closed, POST: '1', CONTAINERS: '1', EXEC: '1' };
    default:
      return closed;
  }
}
