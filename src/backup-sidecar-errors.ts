/**
 * The errors of BackupSidecar's checks. A file beside backup-sidecar.ts rather than inside it:
 * the checks are moving into the plan resolver (issue 12), and their errors go with them.
 */
import { ConfigurationError, show } from './configuration-error';

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

export function invalidImage(path: string, image: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the sidecar image ${show(image)} is not pinned by digest, so a re-pushed tag could change what runs your backups`,
    'pin it as "registry/restic/restic:0.17.3@sha256:<64 hex digits>"',
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

export function invalidMaxAge(path: string, value: number, minimum: number): ConfigurationError {
  return new ConfigurationError(
    path,
    `healthMaxAgeSeconds ${show(value)} is shorter than the schedule's longest gap between two runs (${minimum} s), so the sidecar would be unhealthy between every two backups`,
    `set healthMaxAgeSeconds to at least ${minimum}, or leave it unset for twice the interval`,
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
