import { Fn } from 'cdktf';
import { terraformLiteral } from './agent-asset';
import { AGENT_PLAN_SCHEMA_VERSION, AGENT_SECRETS_DIR, AGENT_STATE_DIR, SOURCE_ROOT } from './agent-constants';
import { execCreateBody } from '../docker/exec-body';
import { parseCron } from '../policy/cron';
import type { ResolvedBackup } from '../model/resolve-backup-plan';
import type { StorageTargetConfig } from '../targets/storage-target-config';

/*
 * The plan: everything the agent is told, decided at synth time, as one versioned JSON
 * document (docs/agent-contract.md, with its JSON Schema in docs/agent-plan.schema.json). The
 * agent reads it with jq and decides nothing the plan could have said; secrets stay files,
 * which the plan names. Its version and its path in the sidecar are in agent-constants.ts,
 * which the agent's generated part reads too.
 */
export { AGENT_PLAN_FILE, AGENT_PLAN_SCHEMA_VERSION } from './agent-constants';

/** The default repository password file in the sidecar. */
export const PASSWORD_FILE = `${AGENT_SECRETS_DIR}/repository-password`;

/** The file that holds the failure webhook's URL (a secret: it carries the hook's token). */
export const NOTIFY_URL_FILE = `${AGENT_SECRETS_DIR}/notify-url`;

/** Settings no construct exposes: fixed here so that the agent has no defaults of its own. */
const NOTIFY_TIMEOUT_SECONDS = 15;
const QUIESCE_RELEASE_ATTEMPTS = 6;
const MANIFESTS_KEPT = 100;

/** A cron expression expanded into the values of each field and the day rule (Vixie cron). */
export interface PlanSchedule {
  readonly expression: string;
  readonly minutes: number[];
  readonly hours: number[];
  readonly daysOfMonth: number[];
  readonly months: number[];
  /** Sunday 0 (a 7 in the expression is 0 here). */
  readonly daysOfWeek: number[];
  /** True: a day matches when both day fields match; false: when either does. */
  readonly bothDayFields: boolean;
}

/** A restic repository the agent opens, with the environment restic needs for it. */
export interface PlanRepository {
  readonly name: string;
  readonly repository: string;
  readonly passwordFile: string;
  /** Variables exported as they are, e.g. AWS_DEFAULT_REGION. */
  readonly environment: Record<string, string>;
  /** VAR → file: exported as VAR (the file's content) and VAR_FILE (its path). */
  readonly secretFiles: Record<string, string>;
  /** `restic --cacert` for a server signed by a private CA. */
  readonly caCertificateFile: string | null;
}

/**
 * Other credentials for `restic init` only (an identity that may create `config` and `keys/`,
 * which the target's own may not): in the installer's init plan, never in agent.json.
 */
export interface PlanInit {
  /** Exported instead of the target's `environment` while `restic init` runs. */
  readonly environment: Record<string, string>;
  /** Instead of the target's `secretFiles` while `restic init` runs. */
  readonly secretFiles: Record<string, string>;
  /** When they stop working (RFC 3339, UTC), or null: the agent says so when init is refused after it. */
  readonly validUntil: string | null;
  /** How to get new ones, for the log, or null. */
  readonly renewal: string | null;
}

export interface PlanTarget extends PlanRepository {
  /** The server refuses deletes: the agent skips forget and prune. */
  readonly appendOnly: boolean;
  /** Copies the agent reads back with `restic check --no-lock`, e.g. the offsite replica. */
  readonly replicas: PlanRepository[];
  /** Credentials for `restic init` only (the init plan); null: the target's own. */
  readonly init: PlanInit | null;
}

/** The document the agent reads (`agent.json`). */
export interface AgentPlan {
  readonly schemaVersion: number;
  /**
   * The restic --host: the protected container's name; null for a swarm service's backup task,
   * whose hostname is its node's (each node's history its own).
   */
  readonly host: string | null;
  readonly sources: string[];
  /** The sources that may be empty; a cycle that finds any other empty fails before its backup. */
  readonly sourcesAllowedEmpty: string[];
  readonly tags: string[];
  /** The schedules are read in this IANA time zone. */
  readonly timeZone: string;
  readonly stateDir: string;
  /** `restore` without --to writes here; on the state volume, not the 512m /tmp tmpfs. */
  readonly restoreDir: string;
  readonly drillDir: string;
  readonly cacheDir: string;
  readonly networkTimeoutSeconds: number;
  readonly healthMaxAgeSeconds: number;
  readonly runOnStart: boolean;
  readonly manifest: { readonly enabled: boolean; readonly keep: number };
  readonly schedule: PlanSchedule;
  readonly pruneSchedule: PlanSchedule | null;
  /** restic forget --keep-* flags and values. */
  readonly retention: string[];
  /** Retention after the first complete backup at or after each firing; null: after every one. */
  readonly retentionSchedule: PlanSchedule | null;
  /** How many targets a cycle backs up (and applies retention to) at the same time. */
  readonly targetConcurrency: number;
  readonly verification: {
    /** When `restic check` runs (the next data subset with it). */
    readonly checkSchedule: PlanSchedule;
    /** `t` of the rolling `check --read-data-subset n/t` (0: none). */
    readonly readDataSubsets: number;
    readonly readAllDataWithinDays: number | null;
    readonly drillSchedule: PlanSchedule | null;
  };
  readonly quiesce: {
    readonly mode: 'none' | 'stop' | 'pause' | 'exec';
    /** The container to stop, pause or exec into; null for a service (its task is looked up). */
    readonly container: string | null;
    /** A swarm service whose task on this node is quiesced, found through `taskListPath`. */
    readonly service: string | null;
    /** The one Docker API query (path and query) that lists that service's running tasks. */
    readonly taskListPath: string | null;
    /** The Docker API proxy; `{node}` in it is this node's hostname (a proxy per node). */
    readonly dockerApi: string | null;
    readonly timeoutSeconds: number;
    readonly onError: 'abort' | 'continue';
    readonly releaseAttempts: number;
    readonly command: string[];
    /** The exact bytes of the exec call: the Docker API proxy refuses any other body. */
    readonly execBody: string | null;
    /**
     * What the exec command writes, which the cycle checks after it exited 0: `path` as the
     * sidecar reads it (in a source), `containerPath` as the command wrote it; null: unknown.
     */
    readonly output: { readonly path: string; readonly containerPath: string } | null;
  };
  readonly notify: { readonly urlFile: string; readonly timeoutSeconds: number } | null;
  readonly targets: PlanTarget[];
}

/** A swarm service's backup: how its agent finds its node and the service's task there. */
export interface ServiceWiring {
  /** The protected service's name. */
  readonly name: string;
  /**
   * The exact Docker API query that lists the service's running tasks on a node.
   * @default - none (no quiesce)
   */
  readonly taskListPath?: string;
}

/** What the plan needs besides the resolved backup: where things are wired. */
export interface AgentWiring {
  /** The Docker API proxy's URL, when the quiesce mode needs it (`{node}`: the node's hostname). */
  readonly dockerApi?: string;
  /**
   * The backup of a swarm service rather than of a container.
   * @default - a container's
   */
  readonly service?: ServiceWiring;
}

/** A file the sidecar needs, uploaded by Terraform. */
export interface SecretUpload {
  readonly file: string;
  readonly value: string;
}

/** The plan for the agent: the resolved backup, as the agent reads it. */
export function agentPlan(backup: ResolvedBackup, wiring: AgentWiring = {}): AgentPlan {
  const { quiesce, verification } = backup;
  const drill = verification.restoreDrill?.expression;
  return {
    schemaVersion: AGENT_PLAN_SCHEMA_VERSION,
    host: wiring.service ? null : backup.containerName,
    sources: backup.volumeNames.map((v) => `${SOURCE_ROOT}/${v}`),
    sourcesAllowedEmpty: backup.emptyAllowed.map((v) => `${SOURCE_ROOT}/${v}`),
    tags: backup.tags,
    timeZone: backup.timeZone,
    stateDir: AGENT_STATE_DIR,
    restoreDir: `${AGENT_STATE_DIR}/restore`,
    drillDir: `${AGENT_STATE_DIR}/drill`,
    cacheDir: `${AGENT_STATE_DIR}/cache`,
    networkTimeoutSeconds: backup.networkTimeoutSeconds,
    healthMaxAgeSeconds: backup.healthMaxAgeSeconds,
    runOnStart: false,
    manifest: { enabled: true, keep: MANIFESTS_KEPT },
    schedule: planSchedule(backup.schedule.expression),
    pruneSchedule: planSchedule(backup.pruneSchedule.expression),
    retention: backup.retention.forgetArguments,
    retentionSchedule: backup.retentionSchedule ? planSchedule(backup.retentionSchedule.expression) : null,
    targetConcurrency: backup.targetConcurrency,
    verification: {
      checkSchedule: planSchedule(verification.checkSchedule.expression),
      readDataSubsets: backup.readDataSubsets,
      readAllDataWithinDays: verification.readAllDataWithinDays ?? null,
      drillSchedule: drill === undefined ? null : planSchedule(drill),
    },
    quiesce: {
      mode: quiesce.mode as AgentPlan['quiesce']['mode'],
      container: quiesce.needsDockerApi && !wiring.service ? backup.containerName : null,
      service: quiesce.needsDockerApi ? wiring.service?.name ?? null : null,
      taskListPath: quiesce.needsDockerApi ? wiring.service?.taskListPath ?? null : null,
      dockerApi: quiesce.needsDockerApi ? wiring.dockerApi ?? null : null,
      timeoutSeconds: quiesce.timeoutSeconds,
      onError: quiesce.onError as AgentPlan['quiesce']['onError'],
      releaseAttempts: QUIESCE_RELEASE_ATTEMPTS,
      command: quiesce.command,
      execBody: quiesce.command.length > 0 ? execCreateBody(quiesce.command) : null,
      output: backup.quiesceOutput?.sidecarPath !== undefined
        ? { path: backup.quiesceOutput.sidecarPath, containerPath: backup.quiesceOutput.containerPath }
        : null,
    },
    notify: backup.notify ? { urlFile: NOTIFY_URL_FILE, timeoutSeconds: NOTIFY_TIMEOUT_SECONDS } : null,
    targets: backup.targets.map((target, i) => ({
      ...planRepository(target, PASSWORD_FILE, (variable) => targetSecretFile(AGENT_SECRETS_DIR, i + 1, variable)),
      caCertificateFile: target.caCertificate !== undefined ? targetCaCertificateFile(AGENT_SECRETS_DIR, i + 1) : null,
      appendOnly: target.appendOnly ?? false,
      init: null,
      replicas: verifiableReplicas(target).map((replica, j) => ({
        ...planRepository(
          { name: replica.name, repository: replica.verifyRepository!, environment: replica.environment, secrets: replica.secrets },
          PASSWORD_FILE,
          (variable) => replicaSecretFile(AGENT_SECRETS_DIR, i + 1, j + 1, variable),
        ),
        caCertificateFile: null,
      })),
    })),
  };
}

/**
 * The plan as the content of an uploaded file: JSON, with Terraform's `${` and `%{` escaped in
 * the user's strings, and each cdktf token (a bucket name, an endpoint, a key id from a
 * variable) left for Terraform to fill in JSON-escaped (jsonStringToken).
 */
export function agentPlanFileContent(plan: AgentPlan): string {
  const json = JSON.stringify(plan, null, 1).replace(/\$\{TfToken\[[^\]]+\]\}/g, (token) => jsonStringToken(token));
  return terraformLiteral(`${json}\n`);
}

/**
 * A Terraform reference inside a JSON string: Terraform puts the value in as it is, so a `"`,
 * `\` or newline in it would end the string early or add fields to the plan. jsonencode escapes
 * the value; the trims drop the quotes it adds around it.
 */
function jsonStringToken(token: string): string {
  return Fn.trimsuffix(Fn.trimprefix(Fn.jsonencode(token), Fn.rawString('"')), Fn.rawString('"'));
}

/** A cron expression as the plan carries it (the model's parser; throws on an invalid one). */
export function planSchedule(expression: string): PlanSchedule {
  const f = parseCron(expression);
  const values = (allowed: readonly boolean[]) => allowed.flatMap((ok, v) => (ok ? [v] : []));
  return {
    expression,
    minutes: values(f.minutes),
    hours: values(f.hours),
    daysOfMonth: values(f.daysOfMonth),
    months: values(f.months),
    daysOfWeek: values(f.daysOfWeek),
    bothDayFields: f.bothDayFields,
  };
}

function planRepository(
  source: { name: string; repository: string; environment?: Record<string, string>; secrets?: Array<{ variable: string }> },
  passwordFile: string,
  secretFile: (variable: string) => string,
): Omit<PlanRepository, 'caCertificateFile'> {
  return {
    name: source.name,
    repository: source.repository,
    passwordFile,
    environment: { ...(source.environment ?? {}) },
    secretFiles: Object.fromEntries((source.secrets ?? []).map((s) => [s.variable, secretFile(s.variable)])),
  };
}

/**
 * The files that carry each target's secrets, and its CA certificate (`caCertificate`, for
 * `restic --cacert`). The certificate is no secret, but it travels the same way: uploaded to
 * the installer and installed with the secrets (mode 0400: only the agent, the files' owner,
 * reads them), so the installer and `BackupSidecar` need nothing new for it.
 */
export function targetSecretUploads(targets: StorageTargetConfig[]): SecretUpload[] {
  return targets.flatMap((target, i) => [
    ...targetOwnSecretUploads(target, i + 1),
    ...verifiableReplicas(target).flatMap((replica, j) =>
      (replica.secrets ?? []).map((secret) => ({ file: replicaSecretFile(AGENT_SECRETS_DIR, i + 1, j + 1, secret.variable), value: secret.value })),
    ),
  ]);
}

/**
 * The init credentials of target `index` (1-based, as in agent.json) as the init plan carries
 * them, their secret files in `dir`.
 */
export function planInit(target: StorageTargetConfig, index: number, dir: string): PlanInit {
  return {
    environment: { ...(target.initEnvironment ?? {}) },
    secretFiles: Object.fromEntries((target.initSecrets ?? []).map((s) => [s.variable, targetSecretFile(dir, index, s.variable)])),
    validUntil: target.initValidUntil ?? null,
    renewal: target.initRenewal ?? null,
  };
}

/** The files of the init credentials of target `index` (1-based), in `dir`. */
export function initSecretUploads(target: StorageTargetConfig, index: number, dir: string): SecretUpload[] {
  return (target.initSecrets ?? []).map((secret) => ({ file: targetSecretFile(dir, index, secret.variable), value: secret.value }));
}

/** The files of target `index`'s own secrets and CA certificate (not its replicas'), where agent.json names them. */
export function targetOwnSecretUploads(target: StorageTargetConfig, index: number): SecretUpload[] {
  return [
    ...(target.caCertificate !== undefined ? [{ file: targetCaCertificateFile(AGENT_SECRETS_DIR, index), value: target.caCertificate }] : []),
    ...(target.secrets ?? []).map((secret) => ({ file: targetSecretFile(AGENT_SECRETS_DIR, index, secret.variable), value: secret.value })),
  ];
}

/** The replicas of a target that the agent can read back. */
function verifiableReplicas(target: StorageTargetConfig) {
  return (target.replicas ?? []).filter((replica) => replica.verifyRepository !== undefined);
}

function replicaSecretFile(dir: string, index: number, replica: number, variable: string): string {
  return `${dir}/target-${index}-replica-${replica}-${variable.toLowerCase().replace(/_/g, '-')}`;
}

function targetCaCertificateFile(dir: string, index: number): string {
  return `${dir}/target-${index}-ca-certificate.pem`;
}

function targetSecretFile(dir: string, index: number, variable: string): string {
  return `${dir}/target-${index}-${variable.toLowerCase().replace(/_/g, '-')}`;
}
