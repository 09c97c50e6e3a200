/**
 * The backup of one container (or swarm service), decided once: every default filled in and
 * every check made, before anything is wired. `BackupSidecar` and `BackupService` render it,
 * the topology model and the compliance rules read it, and the agent's plan is written from
 * it (agent/agent-plan.ts). Pure (no cdktf): what needs the construct tree (binding the
 * targets, the stack's password variable) the caller does through `BackupBinding`, when the
 * resolver asks.
 */
import type { BackupSidecarProps } from './backup-sidecar-props';
import { ConfigurationError, show } from '../core/configuration-error';
import { Quiesce, QuiesceMode } from '../policy/quiesce';
import { Retention } from '../policy/retention';
import { Schedule, WeekDay } from '../policy/schedule';
import { Verification } from '../policy/verification';
import { Site } from '../targets/site';
import type { StorageTargetConfig } from '../targets/storage-target-config';
import { SOURCE_ROOT } from '../agent/agent-constants';
import { holdsToken } from '../core/string-token';
import { checkName } from '../core/validation';
import type { RepositoryPassword } from '../targets/repository-password';
import { DEFAULT_PASSWORD_VARIABLE } from './default-password-variable';
import { QuiesceOutput, resolveQuiesceOutput } from './quiesce-output';
import { SidecarHost, SidecarRuntime, sidecarRuntime } from './sidecar-runtime';

/**
 * The restic image the sidecar runs by default: the official image, pinned by its multi-arch
 * manifest-list digest so a re-pushed tag cannot change what runs the backups.
 */
export const DEFAULT_AGENT_IMAGE =
  'restic/restic:0.17.3@sha256:8f5a62b422a2cb1277ea0dd6e826fe1acf649e5b9f02d60e5268d5fd1976255a';

/** Where Docker keeps named volumes on the host (the default data root). */
export const DOCKER_VOLUMES_ROOT = '/var/lib/docker/volumes';

/**
 * The backup of one container as decided: every default filled in.
 */
export interface ResolvedBackup {
  /** The protected container's name: the restic `--host`. */
  readonly containerName: string;
  /** The named volumes backed up. */
  readonly volumeNames: string[];
  /** The bound targets, in order. */
  readonly targets: StorageTargetConfig[];
  readonly site: Site;
  readonly schedule: Schedule;
  readonly retention: Retention;
  /** @default - retention after every complete backup */
  readonly retentionSchedule?: Schedule;
  readonly pruneSchedule: Schedule;
  readonly quiesce: Quiesce;
  readonly verification: Verification;
  /** @default - not declared */
  readonly recoveryPointObjectiveMinutes?: number;
  readonly image: string;
  readonly healthMaxAgeSeconds: number;
  readonly networkTimeoutSeconds: number;
  readonly timeZone: string;
  readonly tags: string[];
  /** `t` of the rolling `restic check --read-data-subset n/t` (0: none). */
  readonly readDataSubsets: number;
  /** How many targets a cycle backs up at the same time. */
  readonly targetConcurrency: number;
  /** Whether a failure webhook is set. */
  readonly notify: boolean;
  /**
   * Where the file the quiesce command writes lands, and where the sidecar reads it.
   * @default - unknown, or no exec quiesce
   */
  readonly quiesceOutput?: QuiesceOutput;
  /** The volumes that may be empty when a cycle backs them up (all others fail the cycle). */
  readonly emptyAllowed: string[];
  /** Where the sidecar gets the repository password, in words. */
  readonly passwordSource: string;
  /**
   * Where a copy of the repository password is kept off the Docker host.
   * @default - not escrowed, as far as synth knows
   */
  readonly passwordEscrowedIn?: string;
}

/** What the resolver asks of the construct that renders the backup: the parts that need its tree. */
export interface BackupBinding {
  /** The declared targets bound for the workload's site, in order. */
  readonly targets: (site: Site) => StorageTargetConfig[];
  /** The stack's sensitive variable `name` as the password (declared once per stack); asked only when none is declared. */
  readonly passwordVariable: (name: string) => RepositoryPassword;
}

/** Everything decided about one backup: its public description, its secrets and its runtime. */
export interface BackupDecision {
  /** What the constructs expose as `resolved`, the rules read and the agent's plan is written from. */
  readonly backup: ResolvedBackup;
  /** The repository password's token. */
  readonly password: string;
  /**
   * The failure webhook's URL (a token).
   * @default - no notification
   */
  readonly notifyUrl?: string;
  /** How the agent runs beside the workload. */
  readonly runtime: SidecarRuntime;
}

/**
 * Fills in every default of `declared` and checks it, for an agent running on `host`; throws a
 * ConfigurationError naming `where`.
 */
export function resolveBackupPlan(where: string, declared: BackupSidecarProps, host: SidecarHost, bind: BackupBinding): BackupDecision {
  checkName(where, 'containerName', declared.containerName);
  if (declared.notifyUrl !== undefined && !holdsToken(declared.notifyUrl)) {
    throw literalNotifyUrl(where);
  }
  const volumeNames = declared.sources.map((s) => s.volumeName);
  if (volumeNames.length === 0) {
    throw noVolumes(where);
  }
  if (declared.targets.length === 0) {
    throw noTargets(where);
  }
  for (const volume of volumeNames) {
    checkName(where, 'volume name', volume);
  }
  const image = declared.image ?? DEFAULT_AGENT_IMAGE;
  if (!/@sha256:[0-9a-f]{64}$/.test(image)) {
    throw invalidImage(where, image);
  }
  const networkTimeoutSeconds = declared.networkTimeoutSeconds ?? 21600;
  if (!Number.isInteger(networkTimeoutSeconds) || networkTimeoutSeconds < 10 || networkTimeoutSeconds > 86400) {
    throw invalidTimeout(where, networkTimeoutSeconds);
  }
  const schedule = declared.schedule ?? Schedule.daily({ hour: 2 });
  const healthMaxAgeSeconds = declared.healthMaxAgeSeconds ?? 2 * schedule.maxIntervalSeconds;
  if (healthMaxAgeSeconds < schedule.maxIntervalSeconds) {
    throw invalidMaxAge(where, healthMaxAgeSeconds, schedule.maxIntervalSeconds);
  }
  const site = declared.site ?? Site.dockerHost();
  const targets = bind.targets(site);
  checkTargets(where, targets, volumeNames);
  const quiesce = declared.quiesce ?? Quiesce.none();
  if (host === SidecarHost.SWARM_SERVICE && quiesce.mode === QuiesceMode.STOP) {
    throw stoppedService(where);
  }
  const quiesceOutput = resolveQuiesceOutput(where, quiesce, declared.sources, declared.notBackedUp ?? [], SOURCE_ROOT);
  const verification = declared.verification ?? Verification.standard();
  const targetConcurrency = declared.targetConcurrency ?? 4;
  if (!Number.isInteger(targetConcurrency) || targetConcurrency < 1 || targetConcurrency > 16) {
    throw invalidConcurrency(where, targetConcurrency);
  }
  // After the targets, as the constructs always made it: the stack's variables keep their order.
  const password = declared.password ?? bind.passwordVariable(DEFAULT_PASSWORD_VARIABLE);
  const backup: ResolvedBackup = {
    containerName: declared.containerName,
    volumeNames,
    targets,
    site,
    schedule,
    retention: declared.retention ?? Retention.standard(),
    retentionSchedule: declared.retentionSchedule,
    pruneSchedule: declared.pruneSchedule ?? Schedule.weekly({ weekDay: WeekDay.SUNDAY, hour: 4 }),
    quiesce,
    quiesceOutput,
    emptyAllowed: declared.sources.filter((s) => s.allowEmpty ?? false).map((s) => s.volumeName),
    verification,
    recoveryPointObjectiveMinutes: declared.recoveryPointObjectiveMinutes,
    image,
    healthMaxAgeSeconds,
    networkTimeoutSeconds,
    timeZone: declared.timeZone ?? 'UTC',
    tags: declared.tags ?? ['cdktf-container-backup', declared.containerName],
    readDataSubsets: verification.readDataSubsets(),
    targetConcurrency: Math.min(targetConcurrency, targets.length),
    notify: declared.notifyUrl !== undefined,
    passwordSource: password.source,
    passwordEscrowedIn: password.escrowedIn,
  };
  return {
    backup,
    password: password.value,
    notifyUrl: declared.notifyUrl,
    runtime: sidecarRuntime({
      workload: declared.containerName,
      host,
      scheduleExpression: schedule.expression,
      quiesce,
      declaredNetworks: declared.networks ?? [],
      egress: needsEgress(targets, declared.notifyUrl),
    }),
  };
}

/** A route out (the stack's egress network): a target that is not a host folder, or a webhook. */
function needsEgress(targets: StorageTargetConfig[], notifyUrl: string | undefined): boolean {
  return notifyUrl !== undefined || targets.some((t) => t.hostPath === undefined);
}

/** Target names are distinct, and no local target lies inside a volume it protects. */
function checkTargets(where: string, targets: StorageTargetConfig[], volumeNames: string[]): void {
  const seen = new Set<string>();
  for (const target of targets) {
    checkName(where, 'target name', target.name);
    if (seen.has(target.name)) {
      throw duplicateTarget(where, target.name);
    }
    seen.add(target.name);
    if (target.hostPath === undefined) {
      continue;
    }
    for (const volume of volumeNames) {
      const volumeDir = `${DOCKER_VOLUMES_ROOT}/${volume}`;
      if (target.hostPath === volumeDir || target.hostPath.startsWith(`${volumeDir}/`)) {
        throw targetInsideVolume(where, target.hostPath, volume, volumeDir);
      }
    }
  }
}

function noVolumes(path: string): ConfigurationError {
  return new ConfigurationError(
    path,
    'the container has a backup but no volumes, so there is no data to protect',
    'declare the data volumes in `volumes`, or remove `backup`',
  );
}

function noTargets(path: string): ConfigurationError {
  return new ConfigurationError(
    path,
    'the backup has no storage targets',
    'add at least one target to `backup.targets`, e.g. StorageTarget.localPath({ hostPath: "/mnt/backup-disk/db", medium: Medium.DISK })',
  );
}

function invalidImage(path: string, image: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the sidecar image ${show(image)} is not pinned by digest, so a re-pushed tag could change what runs your backups`,
    'pin it as "registry/restic/restic:0.17.3@sha256:<64 hex digits>"',
  );
}

function invalidTimeout(path: string, value: number): ConfigurationError {
  return new ConfigurationError(
    path,
    `networkTimeoutSeconds must be a whole number of seconds from 10 to 86400, got ${show(value)}`,
    'pass a timeout that covers one backup of this container to one target, e.g. 3600',
  );
}

function invalidMaxAge(path: string, value: number, minimum: number): ConfigurationError {
  return new ConfigurationError(
    path,
    `healthMaxAgeSeconds ${show(value)} is shorter than the schedule's longest gap between two runs (${minimum} s), so the sidecar would be unhealthy between every two backups`,
    `set healthMaxAgeSeconds to at least ${minimum}, or leave it unset for twice the interval`,
  );
}

function invalidConcurrency(path: string, value: number): ConfigurationError {
  return new ConfigurationError(
    path,
    `targetConcurrency must be a whole number from 1 to 16, got ${show(value)}`,
    'pass how many targets a cycle may back up at the same time, e.g. 4 (1: one after another)',
  );
}

function duplicateTarget(path: string, name: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `two storage targets are named ${show(name)}`,
    'give each target its own `name`',
  );
}

function targetInsideVolume(path: string, hostPath: string, volume: string, mountpoint: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the local target ${show(hostPath)} lies inside the protected volume ${show(volume)} (${mountpoint}), so the backup would contain itself and be lost with the data it protects`,
    'put the repository on another disk or mount, outside every protected volume',
  );
}

function literalNotifyUrl(path: string): ConfigurationError {
  return new ConfigurationError(
    path,
    'notifyUrl is a literal string; a webhook URL carries its token, and would be written in plain text into cdk.tf.json and the Terraform plan',
    'pass a token that Terraform resolves at apply time, e.g. new TerraformVariable(stack, "notify_url", { type: "string", sensitive: true }).stringValue',
  );
}

function stoppedService(path: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `a swarm service cannot be stopped for a backup (${show('Quiesce.stop()')}): swarm replaces a stopped task at once, and starting the old one again would run two writers on one volume`,
    'pause it (Quiesce.pause()) or dump it onto the volume first (Quiesce.exec([...]))',
  );
}
