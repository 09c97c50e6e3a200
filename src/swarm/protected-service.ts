import { Service } from '@cdktf/provider-docker/lib/service';
import { Construct } from 'constructs';
import { terraformLiteral } from '../agent/agent-asset';
import { BackupOptions } from '../model/backup-options';
import { attachComplianceHooks } from '../compliance/hooks';
import { workloadSubject } from '../model/subject';
import { StackLedger, setBy } from '../docker/stack-ledger';
import { ServiceDeployment } from '../model/topology';
import { Site } from '../targets/site';
import { checkName } from '../core/validation';
import { checkCommand, checkEnvironment, checkVolumes } from '../model/workload-checks';
import { BackupService } from './backup-service';
import { RESTART_POLICY } from './restart-policy';
import { ServiceMode } from './service-mode';

/** A named volume mounted into a service's tasks: node-local, one per node that runs a task. */
export interface ServiceVolume {
  /** The Docker volume's name (created on a node when a task first mounts it there). */
  readonly name: string;
  /** Where the task sees it. */
  readonly containerPath: string;
  /**
   * Include it in the backup. Turn off for caches and scratch data.
   * @default true
   */
  readonly backup?: boolean;
  /**
   * Whether it may be empty when a cycle backs it up (see `ContainerVolume.allowEmpty`).
   * @default false
   */
  readonly allowEmpty?: boolean;
}

/** Properties of a `ProtectedService`. */
export interface ProtectedServiceProps {
  /** The image to run, e.g. "postgres:16". Every node that runs a task needs it. */
  readonly image: string;
  /**
   * The service's name in the swarm.
   * @default - the construct id
   */
  readonly serviceName?: string;
  /**
   * Replicated (how many tasks) or global (one per matching node).
   * @default ServiceMode.replicated(1)
   */
  readonly mode?: ServiceMode;
  /**
   * Where the tasks may run, e.g. ["node.hostname==db-1"]. A replicated service with data
   * must be pinned (the compliance rule ServiceDataPinned): its volumes are node-local.
   * @default - any node
   */
  readonly placementConstraints?: string[];
  /**
   * At most this many tasks on one node.
   * @default - no limit
   */
  readonly maxReplicasPerNode?: number;
  /**
   * Environment variables. Values of variables named like secrets must be Terraform tokens, and
   * no value may hold a literal password inside a URL or a connection string.
   * @default - none
   */
  readonly environment?: { [name: string]: string };
  /**
   * Overrides the image's command (its arguments; the entrypoint stays). No argument may hold a
   * literal password inside a URL or a connection string.
   * @default - the image's
   */
  readonly command?: string[];
  /**
   * Named volumes: the data that matters.
   * @default - none
   */
  readonly volumes?: ServiceVolume[];
  /**
   * Networks (overlay) the tasks join.
   * @default - none but swarm's own
   */
  readonly networks?: string[];
  /**
   * The backup: targets, schedule, retention, as for a `ProtectedContainer`. Quiesce by pause
   * or exec (a service's task cannot be stopped: swarm replaces it).
   * @default - no backup
   */
  readonly backup?: BackupOptions;
  /**
   * Where the swarm runs (its data centre), for the 3-2-1 site count.
   * @default Site.dockerHost()
   */
  readonly site?: Site;
}

/**
 * A Docker Swarm service whose data matters (`docker_service`), and the global backup service
 * beside its tasks (`BackupService`): on every node that may run a task, a backup task mounts
 * that node's volumes read-only and backs them up to every target under the node's name.
 *
 * Volumes in swarm are node-local: each node's volume is its own data set. A replicated
 * service with data must be pinned to its node (or spread one task per node), or a task moved
 * by swarm starts on an empty volume; several replicas write diverging copies. The compliance
 * rules ServiceDataPinned and ReplicatedServiceData say so at synth.
 *
 * @example
 * new ProtectedService(stack, 'db', {
 *   image: 'postgres:16',
 *   placementConstraints: ['node.hostname==db-1'],
 *   volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
 *   backup: {
 *     quiesce: Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql']),
 *     targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }), StorageTarget.s3(vault)],
 *   },
 * });
 */
export class ProtectedService extends Construct {
  /** The protected service. */
  public readonly service: Service;
  /**
   * The backup service, when `backup` is set.
   * @default - none
   */
  public readonly backup?: BackupService;
  /** The service's name in the swarm. */
  public readonly serviceName: string;
  /** The service's image. */
  public readonly image: string;
  /** Where the swarm runs. */
  public readonly site: Site;
  /** How the service runs, as the compliance rules see it. */
  public readonly deployment: ServiceDeployment;
  /** The names of the volumes whose data is backed up. */
  public readonly dataVolumeNames: string[];

  constructor(scope: Construct, id: string, props: ProtectedServiceProps) {
    super(scope, id);
    // The pack evaluates this service (and its backup service with it) as the model built here.
    attachComplianceHooks(this, () =>
      workloadSubject({
        path: this.node.path,
        containerName: this.serviceName,
        site: this.site,
        dataVolumes: this.dataVolumeNames,
        backup: this.backup?.resolved,
        image: this.image,
        service: this.deployment,
        mounts: StackLedger.of(this).mountsOf(this.node.path),
      }),
    );
    const where = this.node.path;
    this.serviceName = props.serviceName ?? id;
    checkName(where, 'serviceName', this.serviceName);
    this.image = props.image;
    this.site = props.site ?? Site.dockerHost();
    const volumes = props.volumes ?? [];
    checkVolumes(where, volumes);
    checkEnvironment(where, props.environment ?? {});
    checkCommand(where, props.command ?? []);
    const ledger = StackLedger.of(this);
    ledger.recordOwner(this, setBy('serviceName', this.serviceName));
    ledger.recordWorkload(this, volumes.map((v) => ({ name: v.name, containerPath: v.containerPath, excluded: !(v.backup ?? true) })));
    const mode = props.mode ?? ServiceMode.replicated(1);
    const constraints = props.placementConstraints ?? [];
    this.deployment = {
      isGlobal: mode.isGlobal,
      replicas: mode.replicas,
      placementConstraints: constraints,
      maxReplicasPerNode: props.maxReplicasPerNode,
    };
    this.dataVolumeNames = volumes.filter((v) => v.backup ?? true).map((v) => v.name);

    this.service = new Service(this, 'service', {
      name: this.serviceName,
      labels: [{ label: 'cdktf-container-backup.role', value: props.backup ? 'protected' : 'unprotected' }],
      mode: mode.isGlobal ? { global: true } : { replicated: { replicas: mode.replicas } },
      taskSpec: {
        containerSpec: {
          image: props.image,
          // Literal `${...}` in a command or a value is the application's, not Terraform's.
          args: props.command?.map(terraformLiteral),
          env: Object.fromEntries(Object.entries(props.environment ?? {}).map(([k, v]) => [k, terraformLiteral(v)])),
          mounts: volumes.map((v) => ({ type: 'volume', source: v.name, target: v.containerPath })),
          // Docker's default for containers; the provider sends an unset one as 0 (killed at once).
          stopGracePeriod: '10s',
        },
        placement: {
          constraints,
          ...(props.maxReplicasPerNode !== undefined ? { maxReplicas: props.maxReplicasPerNode } : {}),
        },
        restartPolicy: RESTART_POLICY,
        ...(props.networks?.length ? { networksAdvanced: props.networks.map((name) => ({ name })) } : {}),
      },
    });

    if (props.backup) {
      const source = (v: ServiceVolume) => ({ volumeName: v.name, containerPath: v.containerPath, allowEmpty: v.allowEmpty });
      this.backup = new BackupService(this, 'backup', {
        ...props.backup,
        serviceName: this.serviceName,
        sources: volumes.filter((v) => v.backup ?? true).map(source),
        notBackedUp: volumes.filter((v) => !(v.backup ?? true)).map(source),
        // The deployment carries the placement constraints: the backup runs where the service does.
        deployment: this.deployment,
        site: this.site,
      });
    }
  }
}
