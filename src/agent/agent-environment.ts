import { AGENT_SECRETS_DIR, AGENT_STATE_DIR, terraformLiteral } from './agent-asset';
import { execCreateBody } from '../docker-api/exec-body';
import type { Quiesce } from '../policy/quiesce';
import type { Verification } from '../policy/verification';
import type { StorageTargetConfig } from '../targets/storage-target-config';

/** Everything the agent is told, decided at synth time. */
export interface AgentSettings {
  readonly host: string;
  readonly sources: string[];
  readonly tags: string[];
  readonly schedule: string;
  readonly maxAgeSeconds: number;
  readonly networkTimeoutSeconds: number;
  readonly timeZone: string;
  readonly retention: string[];
  readonly quiesce: Quiesce;
  /** The Docker API proxy's URL, when the quiesce mode needs it. */
  readonly dockerApi?: string;
  readonly verification: Verification;
  /** `t` of the rolling `check --read-data-subset n/t`, derived from the schedule (0: none). */
  readonly readDataSubsets: number;
  /** When `restic prune` runs, a cron expression (empty: never on its own). */
  readonly pruneSchedule: string;
  /** Whether a failure webhook URL is uploaded (to NOTIFY_URL_FILE). */
  readonly notify: boolean;
  readonly targets: StorageTargetConfig[];
  /**
   * Where the targets' secret files are.
   * @default AGENT_SECRETS_DIR
   */
  readonly secretsDir?: string;
}

/** A file the sidecar needs, uploaded by Terraform. */
export interface SecretUpload {
  readonly file: string;
  readonly value: string;
}

/** The default repository password file in the sidecar. */
export const PASSWORD_FILE = `${AGENT_SECRETS_DIR}/repository-password`;

/** The file that holds the failure webhook's URL (a secret: it carries the hook's token). */
export const NOTIFY_URL_FILE = `${AGENT_SECRETS_DIR}/notify-url`;

/** Renders the agent's environment (docs/agent-contract.md) as Docker `KEY=value` entries. */
export function agentEnvironment(settings: AgentSettings): string[] {
  const env: Array<[string, string]> = [
    ['BACKUP_HOST', settings.host],
    ['BACKUP_SOURCES', settings.sources.join(' ')],
    ['BACKUP_TAGS', settings.tags.join(' ')],
    ['BACKUP_SCHEDULE', settings.schedule],
    ['BACKUP_MAX_AGE_SECONDS', String(settings.maxAgeSeconds)],
    ['BACKUP_NETWORK_TIMEOUT_SECONDS', String(settings.networkTimeoutSeconds)],
    ['BACKUP_RETENTION', settings.retention.join(' ')],
    ['BACKUP_STATE_DIR', AGENT_STATE_DIR],
    // On the state volume, not the 512m /tmp tmpfs: a restored database must fit.
    ['BACKUP_RESTORE_DIR', `${AGENT_STATE_DIR}/restore`],
    ['RESTIC_PASSWORD_FILE', PASSWORD_FILE],
    ['RESTIC_CACHE_DIR', `${AGENT_STATE_DIR}/cache`],
    ['TMPDIR', '/tmp'],
    ['TZ', settings.timeZone],
    ['BACKUP_QUIESCE_MODE', settings.quiesce.mode],
    ['BACKUP_PRUNE_SCHEDULE', settings.pruneSchedule],
    ['BACKUP_VERIFY_READ_DATA_DAYS', String(settings.verification.readAllDataWithinDays ?? 0)],
    ['BACKUP_VERIFY_READ_DATA_SUBSETS', String(settings.readDataSubsets)],
    ['BACKUP_VERIFY_DRILL_SCHEDULE', settings.verification.restoreDrill?.expression ?? ''],
    ['BACKUP_TARGET_COUNT', String(settings.targets.length)],
  ];
  if (settings.notify) {
    env.push(['BACKUP_NOTIFY_URL_FILE', NOTIFY_URL_FILE]);
  }
  if (settings.quiesce.needsDockerApi) {
    env.push(
      ['BACKUP_QUIESCE_CONTAINER', settings.host],
      ['BACKUP_DOCKER_API', settings.dockerApi ?? ''],
      ['BACKUP_QUIESCE_TIMEOUT_SECONDS', String(settings.quiesce.timeoutSeconds)],
      ['BACKUP_QUIESCE_ON_ERROR', settings.quiesce.onError],
    );
  }
  if (settings.quiesce.command.length > 0) {
    // JSON, for the logs and for running the agent by hand.
    env.push(['BACKUP_QUIESCE_COMMAND', terraformLiteral(JSON.stringify(settings.quiesce.command))]);
    // The exact bytes of the exec call: the Docker API proxy refuses any other body.
    env.push(['BACKUP_QUIESCE_EXEC_BODY', terraformLiteral(execCreateBody(settings.quiesce.command))]);
  }
  settings.targets.forEach((target, i) => {
    const prefix = `BACKUP_TARGET_${i + 1}`;
    env.push([`${prefix}_NAME`, target.name], [`${prefix}_REPOSITORY`, target.repository]);
    for (const [name, value] of Object.entries(target.environment ?? {})) {
      env.push([`${prefix}_ENV_${name}`, value]);
    }
    for (const secret of target.secrets ?? []) {
      env.push([`${prefix}_ENV_${secret.variable}_FILE`, targetSecretFile(settings.secretsDir, i + 1, secret.variable)]);
    }
    // The server refuses deletes: the agent skips forget and prune for this target.
    if (target.appendOnly ?? false) {
      env.push([`${prefix}_APPEND_ONLY`, 'true']);
    }
    if (target.caCertificate !== undefined) {
      env.push([`${prefix}_CACERT`, targetCaCertificateFile(settings.secretsDir, i + 1)]);
    }
    // Replicas the agent reads back (read-only `check --no-lock`), e.g. an S3 offsite copy.
    const replicas = verifiableReplicas(target);
    if (replicas.length > 0) {
      env.push([`${prefix}_REPLICA_COUNT`, String(replicas.length)]);
    }
    replicas.forEach((replica, j) => {
      const rprefix = `${prefix}_REPLICA_${j + 1}`;
      env.push([`${rprefix}_NAME`, replica.name], [`${rprefix}_REPOSITORY`, replica.verifyRepository!]);
      for (const [name, value] of Object.entries(replica.environment ?? {})) {
        env.push([`${rprefix}_ENV_${name}`, value]);
      }
      for (const secret of replica.secrets ?? []) {
        env.push([`${rprefix}_ENV_${secret.variable}_FILE`, replicaSecretFile(settings.secretsDir, i + 1, j + 1, secret.variable)]);
      }
    });
  });
  return env.map(([k, v]) => `${k}=${v}`);
}

/**
 * The files that carry each target's secrets, and its CA certificate (`caCertificate`, for
 * `restic --cacert`). The certificate is no secret, but it travels the same way: uploaded to
 * the installer and installed with the secrets (mode 0400: only the agent, the files' owner,
 * reads them), so the installer and `BackupSidecar` need nothing new for it.
 */
export function targetSecretUploads(targets: StorageTargetConfig[], secretsDir?: string): SecretUpload[] {
  return targets.flatMap((target, i) => [
    ...(target.caCertificate !== undefined ? [{ file: targetCaCertificateFile(secretsDir, i + 1), value: target.caCertificate }] : []),
    ...(target.secrets ?? []).map((secret) => ({ file: targetSecretFile(secretsDir, i + 1, secret.variable), value: secret.value })),
    ...verifiableReplicas(target).flatMap((replica, j) =>
      (replica.secrets ?? []).map((secret) => ({ file: replicaSecretFile(secretsDir, i + 1, j + 1, secret.variable), value: secret.value })),
    ),
  ]);
}

/** The replicas of a target that the agent can read back. */
function verifiableReplicas(target: StorageTargetConfig) {
  return (target.replicas ?? []).filter((replica) => replica.verifyRepository !== undefined);
}

function replicaSecretFile(dir: string | undefined, index: number, replica: number, variable: string): string {
  return `${dir ?? AGENT_SECRETS_DIR}/target-${index}-replica-${replica}-${variable.toLowerCase().replace(/_/g, '-')}`;
}

function targetCaCertificateFile(dir: string | undefined, index: number): string {
  return `${dir ?? AGENT_SECRETS_DIR}/target-${index}-ca-certificate.pem`;
}

function targetSecretFile(dir: string | undefined, index: number, variable: string): string {
  return `${dir ?? AGENT_SECRETS_DIR}/target-${index}-${variable.toLowerCase().replace(/_/g, '-')}`;
}
