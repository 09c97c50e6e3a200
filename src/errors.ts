/**
 * The configuration errors not yet moved beside their checks (see configuration-error.ts).
 */

import { ConfigurationError, show } from './configuration-error';

export { ConfigurationError };

// ---- Schedule ---------------------------------------------------------------------------

export function invalidCron(expression: string, reason: string): ConfigurationError {
  return new ConfigurationError(
    `Schedule.cron(${show(expression)})`,
    reason,
    'give five space-separated fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *" for 02:00 every day, or use Schedule.daily({ hour: 2 })',
  );
}

// ---- Retention --------------------------------------------------------------------------

export function retentionKeepsNothing(received: unknown): ConfigurationError {
  return new ConfigurationError(
    'Retention.gfs(...)',
    `the policy keeps no snapshot at all (got ${show(received)}), so every backup would be deleted by the next forget`,
    'keep at least one snapshot, e.g. Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }) or a preset such as Retention.standard()',
  );
}

// ---- Repository password ----------------------------------------------------------------

export function literalPassword(): ConfigurationError {
  return new ConfigurationError(
    'RepositoryPassword.fromString(...)',
    'the value is a literal string, which would be written in plain text into cdk.tf.json and the Terraform plan',
    'pass a token that Terraform resolves at apply time, e.g. RepositoryPassword.fromVariable(stack, "restic_password") (a sensitive Terraform variable) or RepositoryPassword.fromString(secret.stringValue)',
  );
}

// ---- Constructs -------------------------------------------------------------------------

export function duplicateVolume(path: string, name: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the volume name ${show(name)} is declared more than once`,
    'give every entry of `volumes` its own name, or mount the same volume once',
  );
}

export function duplicateContainerPath(path: string, containerPath: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `two volumes are mounted at the same containerPath ${show(containerPath)}`,
    'give each volume its own containerPath',
  );
}

export function noVolumes(path: string): ConfigurationError {
  return new ConfigurationError(
    path,
    'the container has a backup but no volumes, so there is no data to protect',
    'declare the data volumes in `volumes`, or remove `backup`',
  );
}

export function noTargets(path: string): ConfigurationError {
  return new ConfigurationError(
    path,
    'the backup has no storage targets',
    'add at least one target to `backup.targets`, e.g. StorageTarget.localPath({ hostPath: "/mnt/backup-disk/db", medium: Medium.DISK })',
  );
}

export function duplicateTarget(path: string, name: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `two storage targets are named ${show(name)}`,
    'give each target its own `name`',
  );
}

export function targetInsideVolume(path: string, hostPath: string, volume: string, mountpoint: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the local target ${show(hostPath)} lies inside the protected volume ${show(volume)} (${mountpoint}), so the backup would contain itself and be lost with the data it protects`,
    'put the repository on another disk or mount, outside every protected volume',
  );
}

export function invalidImage(path: string, image: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the sidecar image ${show(image)} is not pinned by digest, so a re-pushed tag could change what runs your backups`,
    'pin it as "registry/restic/restic:0.17.3@sha256:<64 hex digits>"',
  );
}

export function invalidMaxAge(path: string, value: number, minimum: number): ConfigurationError {
  return new ConfigurationError(
    path,
    `healthMaxAgeSeconds ${show(value)} is shorter than the schedule's longest gap between two runs (${minimum} s), so the sidecar would be unhealthy between every two backups`,
    `set healthMaxAgeSeconds to at least ${minimum}, or leave it unset for twice the interval`,
  );
}

export function invalidTimeout(path: string, value: number): ConfigurationError {
  return new ConfigurationError(
    path,
    `networkTimeoutSeconds must be a whole number of seconds from 10 to 86400, got ${show(value)}`,
    'pass a timeout that covers one backup of this container to one target, e.g. 3600',
  );
}

export function literalNotifyUrl(path: string): ConfigurationError {
  return new ConfigurationError(
    path,
    'notifyUrl is a literal string; a webhook URL carries its token, and would be written in plain text into cdk.tf.json and the Terraform plan',
    'pass a token that Terraform resolves at apply time, e.g. new TerraformVariable(stack, "notify_url", { type: "string", sensitive: true }).stringValue',
  );
}

export function literalSecretEnvironment(path: string, name: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the environment variable ${name} looks like a secret and has a literal value, which would be stored in plain text in cdk.tf.json`,
    `pass a sensitive TerraformVariable's value (new TerraformVariable(stack, "${name.toLowerCase()}", { sensitive: true }).stringValue), or point the image at a file with ${name}_FILE`,
  );
}

export function invalidRestart(path: string, value: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `restart policy ${show(value)} is not one of "no", "on-failure", "always", "unless-stopped"`,
    'use "unless-stopped" (the default) for a long-running service',
  );
}

export function invalidPort(path: string, field: string, value: number): ConfigurationError {
  return new ConfigurationError(
    path,
    `port ${field} must be a whole number from 1 to 65535, got ${show(value)}`,
    'pass a valid TCP/UDP port number',
  );
}

export function emptyQuiesceCommand(): ConfigurationError {
  return new ConfigurationError(
    'Quiesce.exec([])',
    'the command is empty',
    "pass the program and its arguments, e.g. Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'])",
  );
}

// ---- AWS storage (BackupBucket, OffsiteReplica, AgentCredentials, KeyEscrow, S3 targets) ----

// ---- Terraform state and the Object Lock (issue 11) -------------------------------------------

// ---- Docker API proxy -------------------------------------------------------------------

export function proxyModeMismatch(where: string, mode: string, quiesceMode: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the proxy serves quiesce mode ${show(mode)} but was given a Quiesce of mode ${show(quiesceMode)}`,
    'pass the same Quiesce whose mode is `mode` (e.g. { mode: quiesce.mode, quiesce })',
  );
}

// ---- Storage targets: private CA (issue 12) -----------------------------------------------

