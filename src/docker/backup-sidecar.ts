import { Container } from '@cdktf/provider-docker/lib/container';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { AGENT_INSTALL_DIR, AGENT_SCRIPT_PATH, AGENT_STATE_DIR, SOURCE_ROOT } from '../agent/agent-asset';
import { AGENT_HEALTHCHECK, AgentFile, agentFiles, initialization, stackLocal } from '../agent/agent-files';
import { exitedZero, INSTALL_TARGET_FOLDERS_DIR, installScript, stagedPath } from '../agent/agent-install';
import { AGENT_PLAN_FILE } from '../agent/agent-plan';
import { attachComplianceHooks } from '../compliance/hooks';
import { workloadSubject } from '../model/subject';
import { StackLedger, setBy } from './stack-ledger';
import { DockerApiProxy } from './docker-api-proxy';
import { BackupSidecarProps } from '../model/backup-sidecar-props';
import { BackupSource } from '../model/backup-source';
import { ResolvedBackup, resolveBackupPlan } from '../model/resolve-backup-plan';
import { SidecarHost } from '../model/sidecar-runtime';
import { Quiesce } from '../policy/quiesce';
import { Retention } from '../policy/retention';
import { Schedule } from '../policy/schedule';
import { Verification } from '../policy/verification';
import { RepositoryPassword } from '../targets/repository-password';
import { sidecarSeccompProfile } from './seccomp/sidecar-seccomp';
import { SidecarEgressNetwork } from './sidecar-egress-network';
import { Site } from '../targets/site';
import { StorageTargetConfig } from '../targets/storage-target-config';

export { DEFAULT_AGENT_IMAGE, DOCKER_VOLUMES_ROOT } from '../model/resolve-backup-plan';
export { AGENT_SCRIPT_LOCAL } from '../agent/agent-files';

/**
 * The restic sidecar beside one protected container: mounts its volumes read-only, gets the
 * backup agent and its secrets from this package through a one-shot install container (see
 * agent/agent-install.ts), runs `backup-agent daemon`, and reports health through a Docker
 * healthcheck that reads the agent's status file.
 *
 * Hardened by default: every capability dropped but DAC_READ_SEARCH (to read files owned by
 * other users, e.g. a database's 0700 data folder), `no-new-privileges`, a read-only root with
 * a tmpfs for scratch, the agent and its secrets on a volume mounted read-only, no Docker
 * socket, a fixed hostname (restic recognises its own stale locks after a re-creation), and
 * no network but the ones it needs.
 *
 * @example
 * // The container `db` and its volume `pgdata` are made outside this stack (docker compose,
 * // say); `vault`: a BackupBucket with an offsite replica (OffsiteReplica.inRegion(...)).
 * new BackupSidecar(stack, 'db-backup', {
 *   containerName: 'db',
 *   sources: [{ volumeName: 'pgdata', containerPath: '/var/lib/postgresql/data', external: true }],
 *   targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }), StorageTarget.s3(vault)],
 * });
 */
export class BackupSidecar extends Construct {
  /** The sidecar container. */
  public readonly container: Container;
  /** The named volume that holds the agent's status, cache, logs and manifests (read-write). */
  public readonly stateVolume: Volume;
  /** The named volume that holds the agent and its secrets (read-only in the sidecar). */
  public readonly installVolume: Volume;
  /**
   * The one-shot container that installs the agent and its secrets onto `installVolume`
   * before the sidecar starts (it receives the uploads: the sidecar's root is read-only).
   */
  public readonly installer: Container;
  /**
   * Everything decided about this backup, every default filled in: what this construct
   * wires, what the compliance rules check, and what the agent's plan is written from.
   */
  public readonly resolved: ResolvedBackup;
  /** The bound targets, in order (the plan's `targets[0]` first). */
  public readonly targets: StorageTargetConfig[];
  /** When the cycle runs. */
  public readonly schedule: Schedule;
  /** Which snapshots are kept. */
  public readonly retention: Retention;
  /** When `restic prune` runs. */
  public readonly pruneSchedule: Schedule;
  /** Where the protected container runs. */
  public readonly site: Site;
  /** How the application is made consistent. */
  public readonly quiesce: Quiesce;
  /** How backups are proven readable. */
  public readonly verification: Verification;
  /**
   * The declared recovery point objective in minutes.
   * @default - not declared
   */
  public readonly recoveryPointObjectiveMinutes?: number;
  /** The protected container's name (the restic `--host`). */
  public readonly containerName: string;
  /**
   * The Docker API proxy, when the quiesce mode needs the API.
   * @default - none
   */
  public readonly dockerApi?: DockerApiProxy;

  /** The named volumes it backs up. */
  public readonly sources: BackupSource[];

  constructor(scope: Construct, id: string, props: BackupSidecarProps) {
    super(scope, id);
    // Compliance packs on the App reach this stack; the topology report is written at synth.
    // Used on its own, the pack evaluates this backup; inside a ProtectedContainer, with it.
    attachComplianceHooks(this, () =>
      workloadSubject({ path: this.node.path, containerName: this.containerName, site: this.site, dataVolumes: this.sources.map((s) => s.volumeName), backup: this.resolved }),
    );
    const where = this.node.path;
    const ledger = StackLedger.of(this);
    // A source may be given as a docker_volume's name (a reference): the plan, the checks and the
    // paths use the name it resolves to, the mount keeps the reference (the volume is made first).
    const sources = props.sources.map((s) => ({ ...s, volumeName: ledger.literal(s.volumeName) ?? s.volumeName }));
    const decision = resolveBackupPlan(where, { ...props, sources }, SidecarHost.CONTAINER, {
      targets: (site) => props.targets.map((target, i) => target.bind(this, { containerName: props.containerName, index: i + 1, containerSite: site })),
      passwordVariable: (name) => RepositoryPassword.fromVariable(this, name),
    });
    const plan = decision.backup;
    const runtime = decision.runtime;
    this.resolved = plan;
    this.schedule = plan.schedule;
    this.retention = plan.retention;
    this.pruneSchedule = plan.pruneSchedule;
    this.site = plan.site;
    this.quiesce = plan.quiesce;
    this.verification = plan.verification;
    this.recoveryPointObjectiveMinutes = plan.recoveryPointObjectiveMinutes;
    this.containerName = plan.containerName;
    this.sources = sources;
    this.targets = plan.targets;
    const { image } = plan;
    // Its names, sources and folders, for the checks across the stack (docker/stack-ledger.ts).
    ledger.recordOwner(this, setBy('containerName', props.containerName));
    ledger.recordBackup(this, { workload: props.containerName, service: false, sources, targets: this.targets });

    this.stateVolume = new Volume(this, 'state', { name: runtime.stateVolume, labels: runtime.ownedLabels });
    this.installVolume = new Volume(this, 'install', { name: runtime.installVolume, labels: runtime.ownedLabels });

    if (runtime.dockerApi) {
      this.dockerApi = new DockerApiProxy(this, 'docker-api', { containerName: props.containerName, mode: this.quiesce.mode, quiesce: this.quiesce });
    }

    const files = agentFiles(this, plan, { password: decision.password, notifyUrl: decision.notifyUrl, wiring: { dockerApi: this.dockerApi?.endpoint } });
    const init = initialization(plan);
    const localTargets = this.targets.filter((t) => t.hostPath !== undefined).map((t) => ({ name: t.name, hostPath: t.hostPath! }));
    this.installer = new Container(this, 'installer', {
      name: runtime.installVolume,
      image,
      entrypoint: ['/bin/sh', '-c', installScript({ initRepositories: init.files.length > 0, localTargets })],
      // Runs once per install and exits; the provider waits for it (attach) before the sidecar.
      attach: true,
      mustRun: false,
      restart: 'no',
      readOnly: false,
      // A route out only to initialise remote repositories.
      ...(init.files.length > 0
        ? { networksAdvanced: [{ name: SidecarEgressNetwork.of(this).network.name }] }
        : { networkMode: 'none' }),
      securityOpts: ['no-new-privileges:true'],
      capabilities: { drop: ['ALL'] },
      mounts: [{ type: 'volume', source: this.installVolume.name, target: AGENT_INSTALL_DIR }],
      // Each local target's host folder, to keep it root-owned and 0700 (agent-install.ts).
      volumes: localTargets.map((t) => ({ hostPath: t.hostPath, containerPath: `${INSTALL_TARGET_FOLDERS_DIR}/${t.name}` })),
      upload: [...files.map((f) => upload(f, stagedPath(f.file))), ...init.files.map((f) => upload(f, f.file))],
      labels: [{ label: 'cdktf-container-backup.role', value: 'backup-agent-installer' }, ...runtime.ownedLabels],
      // The webhook URL is a token (it carries the hook's secret), so synth cannot read it:
      // `terraform plan` refuses a non-https one before anything is deployed.
      lifecycle: {
        postcondition: [exitedZero(where, runtime.installVolume)],
        ...(decision.notifyUrl !== undefined
          ? {
            precondition: [
              {
                condition: Fn.startswith(decision.notifyUrl, 'https://'),
                errorMessage: `${where}: notifyUrl must be an https:// URL (it carries the webhook's token, which must not travel in clear text). Fix: use the hook's https:// address.`,
              },
            ],
          }
          : {}),
      },
    });

    const networks = [
      ...runtime.networks.declared,
      ...(runtime.networks.egress ? [SidecarEgressNetwork.of(this).network.name] : []),
      ...(runtime.networks.dockerApi && this.dockerApi ? [this.dockerApi.network.name] : []),
    ];

    this.container = new Container(this, 'container', {
      name: runtime.name,
      hostname: runtime.hostname,
      image,
      // The official restic image's ENTRYPOINT is `restic`: replace it, not just the command.
      entrypoint: ['/bin/sh', AGENT_SCRIPT_PATH],
      command: ['daemon'],
      // Everything else the agent is told is in the plan (src/agent/agent-plan.ts).
      env: [`BACKUP_PLAN=${AGENT_PLAN_FILE}`],
      restart: 'unless-stopped',
      mustRun: true,
      stopTimeout: runtime.stopGraceSeconds,
      readOnly: true,
      // DAC_READ_SEARCH reads a database's 0700 folder; Docker's default seccomp profile then
      // also allows open_by_handle_at, which opens any file of the host ("shocker"). The
      // sidecar's profile is Docker's default without that syscall (docker/seccomp/sidecar-seccomp.ts).
      securityOpts: ['no-new-privileges:true', `seccomp=${stackLocal(this, SECCOMP_PROFILE_LOCAL, sidecarSeccompProfile)}`],
      capabilities: { drop: ['ALL'], add: [runtime.readCapability] },
      tmpfs: { '/tmp': `rw,nosuid,nodev,size=${runtime.tmpfsBytes / (1024 * 1024)}m` },
      logDriver: 'json-file',
      logOpts: runtime.logOptions,
      // No network at all when every target is a local folder and nothing is quiesced.
      ...(networks.length > 0 ? { networksAdvanced: networks.map((name) => ({ name })) } : { networkMode: 'none' }),
      mounts: [
        { type: 'volume', source: this.stateVolume.name, target: AGENT_STATE_DIR },
        { type: 'volume', source: this.installVolume.name, target: AGENT_INSTALL_DIR, readOnly: true },
        ...props.sources.map((s, i) => ({
          type: 'volume',
          source: s.volumeName,
          target: `${SOURCE_ROOT}/${sources[i].volumeName}`,
          readOnly: true,
        })),
      ],
      // Host-path volumes (not `bind` mounts): Docker creates a missing folder instead of
      // failing. Only the repository subfolder: its 0700 parent stays out of reach.
      volumes: this.targets
        .filter((t) => t.repositoryHostPath !== undefined)
        .map((t) => ({ hostPath: t.repositoryHostPath, containerPath: t.repository })),
      healthcheck: AGENT_HEALTHCHECK,
      labels: runtime.labels,
      dependsOn: [this.installer],
      // A new agent or a new secret re-creates the installer; the sidecar must restart on it.
      // A bare address: cdktf renders a resource here as "${...}", which Terraform refuses
      // ("Expected the start of an expression"), checked with terraform validate.
      lifecycle: { replaceTriggeredBy: [`${this.installer.terraformResourceType}.${this.installer.friendlyUniqueId}`] },
    });
  }
}

/** The Terraform local that holds the sidecar seccomp profile, once per stack. */
export const SECCOMP_PROFILE_LOCAL = 'cdktf_container_backup_sidecar_seccomp';

/** An installer upload of an agent file, at `file`. */
function upload(f: AgentFile, file: string) {
  return { file, content: f.content, permissions: f.permissions };
}
