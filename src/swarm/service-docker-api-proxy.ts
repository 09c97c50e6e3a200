import { Network } from '@cdktf/provider-docker/lib/network';
import { Service } from '@cdktf/provider-docker/lib/service';
import { Construct } from 'constructs';
import { DEFAULT_DOCKER_API_PROXY_IMAGE } from '../docker/docker-api-proxy';
import { execCreateBody } from '../docker/exec-body';
import { DOCKER_API_PROXY_PORT, dockerApiProxyConfig, serviceTaskListPath } from '../docker/proxy-config';
import { Quiesce } from '../policy/quiesce';
import { RESTART_POLICY } from './restart-policy';
import { fileMode, swarmConfig } from './swarm-file';

/** Where the proxy task reads its configuration (a swarm config; the root stays read-only). */
const CONFIG_FILE = '/etc/cdktf-container-backup/haproxy.cfg';

/** Properties of a `ServiceDockerApiProxy`. */
export interface ServiceDockerApiProxyProps {
  /** The protected swarm service: the only one whose tasks the calls may name. */
  readonly serviceName: string;
  /** The quiesce step it serves: pause or exec (a service's task cannot be stopped). */
  readonly quiesce: Quiesce;
  /** Where the protected service (and so its backup and this proxy) runs. */
  readonly placementConstraints: string[];
  /**
   * The proxy image, pinned by digest: an HAProxy image with `/bin/sh`, 2.6 or 3.0 (the
   * branches the generated rules are tested on).
   * @default DEFAULT_DOCKER_API_PROXY_IMAGE
   */
  readonly image?: string;
}

/**
 * `DockerApiProxy` for a swarm service: a global service, one proxy task per node beside the
 * node's backup task, in front of that node's Docker socket (a node's daemon knows only its
 * own containers, and exec and pause are container calls). Its allowlist names the protected
 * service's tasks, `<service>.<slot or node id>.<task id>` (a new name whenever swarm replaces
 * a task), and the one query that lists them on the node (docker-api/proxy-config.ts).
 *
 * Node-local: each proxy task's hostname is `<name>-<node hostname>`, an alias on an internal
 * overlay shared with the backup service only; the agent calls `{node}` replaced by its own
 * hostname, which is its node's. (One name for every proxy would resolve to all of them across
 * the overlay, and a backup could pause another node's task; checked on a two-node swarm.)
 *
 * The same rules as a container's proxy judge each request whole (docker-api/proxy-config.ts):
 * HTTP/1 only, no Transfer-Encoding, bounded headers and body, the body entirely buffered,
 * API versions from 1.24 on.
 */
export class ServiceDockerApiProxy extends Construct {
  /** The internal overlay network shared by the proxies and the backup tasks. */
  public readonly network: Network;
  /** The global proxy service. */
  public readonly service: Service;
  /** The URL the agent calls; `{node}` is replaced by the node's hostname (the agent's own). */
  public readonly endpoint: string;
  /** The exact query that lists the protected service's tasks on a node. */
  public readonly taskListPath: string;
  /** The generated HAProxy configuration. */
  public readonly config: string;

  constructor(scope: Construct, id: string, props: ServiceDockerApiProxyProps) {
    super(scope, id);
    const name = `${props.serviceName}-backup-docker-api`;
    this.taskListPath = serviceTaskListPath(props.serviceName);
    this.config = dockerApiProxyConfig({
      mode: props.quiesce.mode,
      serviceName: props.serviceName,
      execCreateBody: props.quiesce.command.length > 0 ? execCreateBody(props.quiesce.command) : undefined,
      callTimeoutSeconds: props.quiesce.timeoutSeconds,
    });
    const labels = [{ label: 'cdktf-container-backup.protects', value: props.serviceName }];
    this.network = new Network(this, 'network', {
      name,
      driver: 'overlay',
      // No route out: only the backup tasks and the proxies are on it.
      internal: true,
      labels,
    });
    const config = swarmConfig(this, 'config', `${name}-haproxy`, this.config);
    this.service = new Service(this, 'service', {
      name,
      labels: [{ label: 'cdktf-container-backup.role', value: 'docker-api-proxy' }, ...labels],
      mode: { global: true },
      taskSpec: {
        containerSpec: {
          image: props.image ?? DEFAULT_DOCKER_API_PROXY_IMAGE,
          command: ['/bin/sh', '-c', `exec haproxy -db -f ${CONFIG_FILE}`],
          hostname: `${name}-{{.Node.Hostname}}`,
          // uid 0 owns the socket: no capability is needed to open it.
          user: '0:0',
          readOnly: true,
          capDrop: ['ALL'],
          configs: [{ configId: config.id, configName: config.name, fileName: CONFIG_FILE, fileMode: fileMode('0444') }],
          mounts: [
            { type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: true },
            { type: 'tmpfs', target: '/run', tmpfsOptions: { sizeBytes: 1024 * 1024 } },
          ],
        },
        placement: { constraints: props.placementConstraints },
        restartPolicy: RESTART_POLICY,
        networksAdvanced: [{ name: this.network.name }],
      },
      // No virtual IP: the agent reaches its node's proxy by its own alias, never the service.
      endpointSpec: { mode: 'dnsrr' },
    });
    this.endpoint = `http://${name}-{node}:${DOCKER_API_PROXY_PORT}`;
  }
}
