import { Container } from '@cdktf/provider-docker/lib/container';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { AGENT_INSTALL_DIR, AGENT_SCRIPT_PATH, AGENT_STATE_DIR, SOURCE_ROOT } from '../agent/agent-asset';
import { AGENT_HEALTHCHECK, AgentFile, agentFiles, checkNotifyUrl, initialization, needsEgress, stackLocal } from '../agent/agent-files';
import { exitedZero, INSTALL_TARGET_FOLDERS_DIR, installScript, stagedPath } from '../agent/agent-install';
import { AGENT_PLAN_FILE } from '../agent/agent-plan';
import { attachComplianceHooks } from '../compliance/hooks';
import { StackLedger, setBy } from './stack-ledger';
import { DockerApiProxy } from './docker-api-proxy';
import { ResolvedBackup, resolveBackupPlan } from '../model/resolve-backup-plan';
import { Quiesce, QuiesceMode } from '../policy/quiesce';
import { Retention } from '../policy/retention';
import { Schedule } from '../policy/schedule';
import { Verification } from '../policy/verification';
import { RepositoryPassword } from '../targets/repository-password';
import { sidecarSeccompProfile } from './seccomp/sidecar-seccomp';
import { SidecarEgressNetwork } from './sidecar-egress-network';
import { Site } from '../targets/site';
import { IStorageTarget, StorageTargetConfig } from '../targets/storage-target-config';

export { DEFAULT_AGENT_IMAGE, DOCKER_VOLUMES_ROOT } from '../model/resolve-backup-plan';
export { AGENT_SCRIPT_LOCAL } from '../agent/agent-files';

/** One named Docker volume the sidecar backs up. */
export interface BackupSource {
  /** The Docker volume's name; mounted read-only at `/backup/sources/<volumeName>`. */
  readonly volumeName: string;
  /**
   * Where the protected container mounts it: lets synth check that the file a
   * `Quiesce.exec` writes lies in a volume this backup reads.
   * @default - not known (a quiesce output cannot be checked; the compliance pack says so)
   */
  readonly containerPath?: string;
  /**
   * Whether the volume may be empty. A cycle that finds a source volume with no file fails
   * before it backs up anything (a mistyped volume name gives Docker a new, empty volume,
   * which would be backed up, and its history forgotten, as if all were well).
   * @default false
   */
  readonly allowEmpty?: boolean;
  /**
   * The volume is made outside this stack (docker compose, another Terraform configuration, by
   * hand). A sidecar (or backup service) used on its own may otherwise only name a volume the
   * stack declares, a `docker_volume` or a mount of one of its containers: Docker makes an
   * empty volume for a name that does not exist, and the backup would save that every time.
   * @default false
   */
  readonly external?: boolean;
}

/** How the backup of one container behaves. Shared by `ProtectedContainer.backup`. */
export interface BackupOptions {
  /** Where the backups go: one restic repository per target, all written in every cycle. */
  readonly targets: IStorageTarget[];
  /**
   * When the cycle runs.
   * @default Schedule.daily({ hour: 2 })
   */
  readonly schedule?: Schedule;
  /**
   * Which snapshots to keep: `restic forget`, per target, after a complete backup (see
   * `retentionSchedule`). The snapshot the cycle just made is never removed, whatever the
   * policy says.
   * @default Retention.standard() (7 daily, 4 weekly, 12 monthly)
   */
  readonly retention?: Retention;
  /**
   * When retention runs: after the first complete backup at or after each time this schedule
   * fires. Forgetting only marks snapshots (the space comes back at the next prune), so a
   * schedule less frequent than the backups, e.g. daily for hourly backups, saves a restic
   * call per cycle and frees the same space.
   * @default - after every complete backup
   */
  readonly retentionSchedule?: Schedule;
  /**
   * When `restic prune` frees the space of forgotten snapshots. Prune rewrites packs and
   * takes an exclusive lock, so it runs on its own, less frequent schedule; a prune that
   * cannot run then (a lock held, a target unreachable) is done by the next cycle.
   * @default Schedule.weekly({ weekDay: WeekDay.SUNDAY, hour: 4 })
   */
  readonly pruneSchedule?: Schedule;
  /**
   * How the application is made consistent before its volumes are read.
   * @default Quiesce.none() - crash-consistent
   */
  readonly quiesce?: Quiesce;
  /**
   * How backups are proven readable.
   * @default Verification.standard() - all data read back within 28 days, weekly restore drill
   */
  readonly verification?: Verification;
  /**
   * The most data, in minutes of changes, you accept to lose. The compliance checks refuse a
   * schedule that leaves longer gaps.
   * @default - not declared
   */
  readonly recoveryPointObjectiveMinutes?: number;
  /**
   * How many targets a cycle backs up at the same time (and then applies retention to): each
   * target has its own restic process and timeout, and one slow or failing target never holds
   * up the others. 1 backs up one target after another.
   * @default 4
   */
  readonly targetConcurrency?: number;
  /**
   * The restic repository password.
   * @default RepositoryPassword.fromVariable(stack) - the sensitive variable `restic_password`
   */
  readonly password?: RepositoryPassword;
  /**
   * The sidecar image: restic with a POSIX shell and jq, pinned by digest. Override it to use
   * a registry mirror or a newer restic.
   * @default DEFAULT_AGENT_IMAGE (restic/restic:0.17.3 pinned by digest)
   */
  readonly image?: string;
  /**
   * The sidecar turns unhealthy when the last successful cycle is older than this.
   * @default - twice the schedule's longest gap between runs
   */
  readonly healthMaxAgeSeconds?: number;
  /**
   * Upper bound for one restic call against one target; a dead endpoint fails the target
   * instead of hanging the cycle.
   * @default 21600 (6 hours)
   */
  readonly networkTimeoutSeconds?: number;
  /**
   * Time zone in which the schedule is read (an IANA name, e.g. "Europe/Berlin").
   * @default "UTC"
   */
  readonly timeZone?: string;
  /**
   * Further Docker networks the sidecar joins, e.g. to reach a REST server by name.
   * Remote targets and the webhook are reached through the stack's egress network
   * (`<stack>-backup-egress`), which the sidecar joins whenever it has one.
   * @default - the egress network when a target is remote or a webhook is set; otherwise none
   */
  readonly networks?: string[];
  /**
   * Extra tags on every snapshot.
   * @default - the tags `cdktf-container-backup` and the container name
   */
  readonly tags?: string[];
  /**
   * A webhook the agent POSTs a small JSON report to when a cycle fails (a target without a
   * snapshot, a failed quiesce or verification). It is a secret (the URL carries the hook's
   * token), so it must be a token Terraform resolves at apply time, e.g. a sensitive
   * variable's value; the sidecar reads it from a file. A failing webhook never fails the
   * cycle.
   * @default - no notification
   */
  readonly notifyUrl?: string;
}

/** Properties of a `BackupSidecar`. */
export interface BackupSidecarProps extends BackupOptions {
  /** The protected container's name: the restic `--host`, and the sidecar's name prefix. */
  readonly containerName: string;
  /**
   * The named volumes to back up. Used on its own, each must be a volume the stack declares (a
   * `docker_volume`, by its name or a reference to it, or a volume a container of the stack
   * mounts), or be marked `external`: checked at synth.
   */
  readonly sources: BackupSource[];
  /**
   * The protected container's other volumes, which are not backed up (`backup: false`): synth
   * refuses a quiesce output written into one.
   * @default - none
   */
  readonly notBackedUp?: BackupSource[];
  /**
   * Where the protected container runs.
   * @default Site.dockerHost()
   */
  readonly site?: Site;
}

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
    attachComplianceHooks(this);
    const where = this.node.path;
    checkNotifyUrl(where, props.notifyUrl);
    const ledger = StackLedger.of(this);
    // A source may be given as a docker_volume's name (a reference): the plan, the checks and the
    // paths use the name it resolves to, the mount keeps the reference (the volume is made first).
    const sources = props.sources.map((s) => ({ ...s, volumeName: ledger.literal(s.volumeName) ?? s.volumeName }));
    const plan = resolveBackupPlan(
      where,
      { ...props, sources },
      (site) => props.targets.map((target, i) => target.bind(this, { containerName: props.containerName, index: i + 1, containerSite: site })),
    );
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
    const password = props.password ?? RepositoryPassword.fromVariable(this);
    // Its names, sources and folders, for the checks across the stack (docker/stack-ledger.ts).
    ledger.recordOwner(this, setBy('containerName', props.containerName));
    ledger.recordBackup(this, { workload: props.containerName, service: false, sources, targets: this.targets });

    const labels = [{ label: 'cdktf-container-backup.protects', value: props.containerName }];
    this.stateVolume = new Volume(this, 'state', { name: `${props.containerName}-backup-state`, labels });
    this.installVolume = new Volume(this, 'install', { name: `${props.containerName}-backup-install`, labels });

    if (this.quiesce.needsDockerApi) {
      this.dockerApi = new DockerApiProxy(this, 'docker-api', { containerName: props.containerName, mode: this.quiesce.mode, quiesce: this.quiesce });
    }

    const files = agentFiles(this, plan, { password: password.value, notifyUrl: props.notifyUrl, wiring: { dockerApi: this.dockerApi?.endpoint } });
    const init = initialization(plan);
    const localTargets = this.targets.filter((t) => t.hostPath !== undefined).map((t) => ({ name: t.name, hostPath: t.hostPath! }));
    this.installer = new Container(this, 'installer', {
      name: `${props.containerName}-backup-install`,
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
      labels: [
        { label: 'cdktf-container-backup.role', value: 'backup-agent-installer' },
        { label: 'cdktf-container-backup.protects', value: props.containerName },
      ],
      // The webhook URL is a token (it carries the hook's secret), so synth cannot read it:
      // `terraform plan` refuses a non-https one before anything is deployed.
      lifecycle: {
        postcondition: [exitedZero(where, `${props.containerName}-backup-install`)],
        ...(props.notifyUrl !== undefined
          ? {
            precondition: [
              {
                condition: Fn.startswith(props.notifyUrl, 'https://'),
                errorMessage: `${where}: notifyUrl must be an https:// URL (it carries the webhook's token, which must not travel in clear text). Fix: use the hook's https:// address.`,
              },
            ],
          }
          : {}),
      },
    });

    const networks = [
      ...(props.networks ?? []),
      ...(needsEgress(this.targets, props.notifyUrl) ? [SidecarEgressNetwork.of(this).network.name] : []),
      ...(this.dockerApi ? [this.dockerApi.network.name] : []),
    ];

    this.container = new Container(this, 'container', {
      name: `${props.containerName}-backup`,
      // Fixed, so a re-created sidecar is the same restic host: its own stale locks are
      // recognised at once instead of counting as another host's for 30 minutes.
      hostname: `${props.containerName}-backup`,
      image,
      // The official restic image's ENTRYPOINT is `restic`: replace it, not just the command.
      entrypoint: ['/bin/sh', AGENT_SCRIPT_PATH],
      command: ['daemon'],
      // Everything else the agent is told is in the plan (src/agent/agent-plan.ts).
      env: [`BACKUP_PLAN=${AGENT_PLAN_FILE}`],
      restart: 'unless-stopped',
      mustRun: true,
      // A stop or pause must be undone before the agent goes: give `docker stop` of the sidecar
      // time for the pending Docker call (bounded by the quiesce timeout) and the start/unpause.
      ...(this.quiesce.mode === QuiesceMode.STOP || this.quiesce.mode === QuiesceMode.PAUSE
        ? { stopTimeout: this.quiesce.timeoutSeconds + 60 }
        : {}),
      readOnly: true,
      // DAC_READ_SEARCH reads a database's 0700 folder; Docker's default seccomp profile then
      // also allows open_by_handle_at, which opens any file of the host ("shocker"). The
      // sidecar's profile is Docker's default without that syscall (security/sidecar-seccomp.ts).
      securityOpts: ['no-new-privileges:true', `seccomp=${stackLocal(this, SECCOMP_PROFILE_LOCAL, sidecarSeccompProfile)}`],
      capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
      tmpfs: { '/tmp': 'rw,nosuid,nodev,size=512m' },
      logDriver: 'json-file',
      logOpts: { 'max-size': '10m', 'max-file': '5' },
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
      labels: [
        { label: 'cdktf-container-backup.role', value: 'backup-sidecar' },
        { label: 'cdktf-container-backup.protects', value: props.containerName },
        { label: 'cdktf-container-backup.schedule', value: this.schedule.expression },
      ],
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
