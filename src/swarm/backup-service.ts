import { Container } from '@cdktf/provider-docker/lib/container';
import { Service, ServiceTaskSpecContainerSpecConfigs, ServiceTaskSpecContainerSpecSecrets } from '@cdktf/provider-docker/lib/service';
import { Construct } from 'constructs';
import { AGENT_SCRIPT_PATH, AGENT_STATE_DIR, SOURCE_ROOT } from '../agent/agent-asset';
import { agentFiles, initialization } from '../agent/agent-files';
import { exitedZero, initScript, stagedPath } from '../agent/agent-install';
import { AGENT_PLAN_FILE, PASSWORD_FILE } from '../agent/agent-plan';
import { BackupOptions } from '../model/backup-options';
import { BackupSource } from '../model/backup-source';
import { attachComplianceHooks } from '../compliance/hooks';
import { workloadSubject } from '../model/subject';
import { StackLedger, setBy } from '../docker/stack-ledger';
import { DockerObjectKind } from '../model/host-ledger';
import { ResolvedBackup, resolveBackupPlan } from '../model/resolve-backup-plan';
import { SidecarHost } from '../model/sidecar-runtime';
import { ServiceDeployment } from '../model/topology';
import { RepositoryPassword } from '../targets/repository-password';
import { Site } from '../targets/site';
import { ServiceDockerApiProxy } from './service-docker-api-proxy';
import { RESTART_POLICY } from './restart-policy';
import { SidecarEgressNetwork } from '../docker/sidecar-egress-network';
import { fileMode, swarmConfig, swarmSecret } from './swarm-file';

/** Properties of a `BackupService`. */
export interface BackupServiceProps extends BackupOptions {
  /** The protected swarm service's name. */
  readonly serviceName: string;
  /** The named volumes to back up (node-local: each node's are its own data set). */
  readonly sources: BackupSource[];
  /**
   * The protected service's other volumes, which are not backed up (`backup: false`): synth
   * refuses a quiesce output written into one.
   * @default - none
   */
  readonly notBackedUp?: BackupSource[];
  /**
   * Where the protected service runs: the backup runs on exactly those nodes.
   *
   * Read only without a `deployment`, whose placement constraints take precedence.
   * @default - the deployment's placement constraints, or every node
   */
  readonly placementConstraints?: string[];
  /**
   * How the protected service runs, for the compliance rules about node-local data.
   *
   * Its placement constraints are also where the backup runs.
   * @default - a global service on `placementConstraints`
   */
  readonly deployment?: ServiceDeployment;
  /**
   * Where the protected service runs (its swarm), for the 3-2-1 site count.
   * @default Site.dockerHost()
   */
  readonly site?: Site;
}

/**
 * The backup of a swarm service: a global service, one backup task on every node the
 * protected service may run on, each mounting that node's volumes read-only and backing them
 * up to every target under the node's name (restic `--host`: its hostname, which is the
 * node's), so that each node's history stays its own. The same agent, plan and schedule as a
 * container's `BackupSidecar`.
 *
 * What differs from the sidecar, and why:
 * - the agent, its plan and its secrets arrive as swarm configs and secrets (mode 0555, 0444,
 *   0400), not uploads: swarm has no upload, and a task needs them on every node;
 * - `CAP_DAC_OVERRIDE` instead of `CAP_DAC_READ_SEARCH` to read a database's 0700 folder:
 *   a service cannot have a seccomp profile (swarm drops the field), and Docker's default one
 *   lets `CAP_DAC_READ_SEARCH` open any file of the host by handle ("shocker", escaped from a
 *   task on this engine); with `CAP_DAC_OVERRIDE` that syscall is refused, and the data is
 *   mounted read-only, so it may read but not write it;
 * - no `no-new-privileges` either (swarm drops it too): every capability but that one is
 *   dropped, and the image has no setuid program;
 * - a local target's host folder and its `repository` subfolder must exist on every node
 *   (swarm refuses a missing bind source), the folder owned by root with mode 0700: there is
 *   no installer on every node to prepare it, as a container's does;
 * - stop is refused: swarm replaces a stopped task, and starting the old one again would run
 *   two writers on one volume. Pause and exec work, through a proxy per node
 *   (`ServiceDockerApiProxy`).
 */
export class BackupService extends Construct {
  /** The global backup service. */
  public readonly service: Service;
  /**
   * Everything decided about this backup, every default filled in: what this construct
   * wires, what the compliance rules check, and what the agent's plan is written from.
   */
  public readonly resolved: ResolvedBackup;
  /** The protected service's name (also the tag of its snapshots). */
  public readonly serviceName: string;
  /** The named volumes it backs up. */
  public readonly sources: BackupSource[];
  /** Where the protected service runs. */
  public readonly site: Site;
  /** How the protected service runs. */
  public readonly deployment: ServiceDeployment;
  /**
   * The Docker API proxy, when the quiesce mode needs it.
   * @default - none
   */
  public readonly dockerApi?: ServiceDockerApiProxy;
  /**
   * The one-shot container that initialises the remote repositories with their init
   * credentials at deploy time (on the node Terraform talks to).
   * @default - none (nothing to initialise)
   */
  public readonly initializer?: Container;

  constructor(scope: Construct, id: string, props: BackupServiceProps) {
    super(scope, id);
    // Used on its own, the pack evaluates this backup; inside a ProtectedService, with it.
    attachComplianceHooks(this, () =>
      workloadSubject({
        path: this.node.path,
        containerName: this.serviceName,
        site: this.site,
        dataVolumes: this.sources.map((s) => s.volumeName),
        backup: this.resolved,
        service: this.deployment,
      }),
    );
    const where = this.node.path;
    const name = props.serviceName;
    // One list for the placement and the compliance model: the deployment's, when given.
    const constraints = props.deployment?.placementConstraints ?? props.placementConstraints ?? [];
    const ledger = StackLedger.of(this);
    // A source given as a docker_volume's name (a reference) is planned by the name it resolves to.
    const sources = props.sources.map((s) => ({ ...s, volumeName: ledger.literal(s.volumeName) ?? s.volumeName }));
    const decision = resolveBackupPlan(where, { ...props, sources, containerName: name }, SidecarHost.SWARM_SERVICE, {
      targets: (site) => props.targets.map((target, i) => target.bind(this, { containerName: name, index: i + 1, containerSite: site })),
      passwordVariable: (variable) => RepositoryPassword.fromVariable(this, variable),
    });
    const plan = decision.backup;
    const runtime = decision.runtime;
    this.resolved = plan;
    this.serviceName = name;
    this.sources = sources;
    this.site = plan.site;
    this.deployment = props.deployment ?? { isGlobal: true, placementConstraints: constraints };
    // Its names, sources and folders, for the checks across the stack (docker/stack-ledger.ts);
    // swarm makes the state volume on each node, no docker_volume declares it.
    ledger.recordOwner(this, setBy('serviceName', name), [], [{ kind: DockerObjectKind.VOLUME, name: runtime.stateVolume, setBy: setBy('serviceName', name) }]);
    ledger.recordBackup(this, { workload: name, service: true, sources, targets: plan.targets });

    if (runtime.dockerApi) {
      this.dockerApi = new ServiceDockerApiProxy(this, 'docker-api', { serviceName: name, quiesce: plan.quiesce, placementConstraints: constraints });
    }
    const files = agentFiles(this, plan, {
      password: decision.password,
      notifyUrl: decision.notifyUrl,
      wiring: this.dockerApi ? { dockerApi: this.dockerApi.endpoint, service: { name, taskListPath: this.dockerApi.taskListPath } } : { service: { name } },
    });
    const secrets: ServiceTaskSpecContainerSpecSecrets[] = [];
    const configs: ServiceTaskSpecContainerSpecConfigs[] = [];
    files.forEach((f, i) => {
      const base = `${name}-${f.file.slice(f.file.lastIndexOf('/') + 1).replace(/\./g, '-')}`;
      if (f.secret) {
        const secret = swarmSecret(this, `secret-${i}`, base, f.content, name);
        secrets.push({ secretId: secret.id, secretName: secret.name, fileName: f.file, fileMode: fileMode(f.permissions) });
      } else {
        const config = swarmConfig(this, `config-${i}`, base, f.content);
        configs.push({ configId: config.id, configName: config.name, fileName: f.file, fileMode: fileMode(f.permissions) });
      }
    });

    const init = initialization(plan);
    if (init.files.length > 0) {
      this.initializer = new Container(this, 'initializer', {
        name: `${name}-backup-init`,
        image: plan.image,
        entrypoint: ['/bin/sh', '-c', initScript()],
        // Runs once per deploy and exits; the provider waits for it (attach).
        attach: true,
        mustRun: false,
        restart: 'no',
        networksAdvanced: [{ name: SidecarEgressNetwork.overlayOf(this).network.name }],
        securityOpts: ['no-new-privileges:true'],
        capabilities: { drop: ['ALL'] },
        upload: [
          { file: stagedPath(AGENT_SCRIPT_PATH), content: files.find((f) => f.file === AGENT_SCRIPT_PATH)!.content, permissions: '0555' },
          { file: stagedPath(PASSWORD_FILE), content: decision.password, permissions: '0400' },
          // The targets' own secrets: the init plan opens the repositories with them.
          ...init.agentSecrets.map((f) => ({ file: stagedPath(f.file), content: f.content, permissions: f.permissions })),
          ...init.files.map((f) => ({ file: f.file, content: f.content, permissions: f.permissions })),
        ],
        labels: [
          { label: 'cdktf-container-backup.role', value: 'backup-agent-initializer' },
          ...runtime.ownedLabels,
        ],
        lifecycle: { postcondition: [exitedZero(where, `${name}-backup-init`)] },
      });
    }

    const networks = [
      ...runtime.networks.declared,
      ...(runtime.networks.egress ? [SidecarEgressNetwork.overlayOf(this).network.name] : []),
      ...(runtime.networks.dockerApi && this.dockerApi ? [this.dockerApi.network.name] : []),
    ];
    this.service = new Service(this, 'service', {
      name: runtime.name,
      labels: runtime.labels,
      mode: { global: true },
      taskSpec: {
        containerSpec: {
          image: plan.image,
          // The image's ENTRYPOINT is `restic`: replace it (`command` is the entrypoint here).
          command: ['/bin/sh', AGENT_SCRIPT_PATH],
          args: ['daemon'],
          env: { BACKUP_PLAN: AGENT_PLAN_FILE },
          // The node's hostname: the restic host, and how the agent finds its node's proxy.
          hostname: runtime.hostname,
          readOnly: true,
          capDrop: ['ALL'],
          // Swarm spells a capability with its CAP_ prefix.
          capAdd: [`CAP_${runtime.readCapability}`],
          secrets,
          configs,
          mounts: [
            { type: 'volume', source: runtime.stateVolume, target: AGENT_STATE_DIR },
            { type: 'tmpfs', target: '/tmp', tmpfsOptions: { sizeBytes: runtime.tmpfsBytes } },
            ...props.sources.map((s, i) => ({ type: 'volume', source: s.volumeName, target: `${SOURCE_ROOT}/${sources[i].volumeName}`, readOnly: true })),
            // Only the repository subfolder: its 0700 parent, which the operator prepares on
            // every node, stays out of the task's reach (docs/security.md, setuid).
            ...plan.targets.filter((t) => t.repositoryHostPath !== undefined).map((t) => ({ type: 'bind', source: t.repositoryHostPath!, target: t.repository })),
          ],
          // No healthcheck (NONE also overrides an image's): swarm shuts down and replaces a task
          // that turns unhealthy, and the agent's `health` is the freshness of the last backup, so
          // a stale backup would restart the task every few minutes, killing the cycles that
          // could make it fresh (checked on the engine: test/engine/swarm.test.ts). Freshness is
          // `backup-agent health` in the task, or the notify URL.
          healthcheck: { test: ['NONE'] },
          // Set always: the provider sends an unset grace period as 0 (killed at once).
          stopGracePeriod: `${runtime.stopGraceSeconds}s`,
        },
        placement: { constraints },
        restartPolicy: RESTART_POLICY,
        ...(networks.length > 0 ? { networksAdvanced: networks.map((n) => ({ name: n })) } : {}),
        logDriver: { name: 'json-file', options: runtime.logOptions },
      },
      ...(this.initializer ? { dependsOn: [this.initializer] } : {}),
    });
  }
}
