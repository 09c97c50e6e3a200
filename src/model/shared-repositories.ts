/**
 * Two backups in one remote repository, across the app: the same bucket and prefix (or REST
 * server path) written by two sidecars, e.g. a container named "db" on two hosts backed up to
 * one vault. Every stack of an app may be another Docker host, so this one check looks at all
 * of them. Pure: no cdktf here.
 */
import { ConfigurationError, show } from '../core/configuration-error';
import { BackupUse, LedgerFinding, RemoteRepository } from './host-ledger';

/**
 * Every second writer of a repository, reported on the later backup (in the app's order) and
 * naming the earlier one. A repository is its repository string: equal strings are one.
 */
export function sharedRepositories(backups: BackupUse[]): LedgerFinding[] {
  const writers = new Map<string, { backup: BackupUse; target: RemoteRepository }>();
  const findings: LedgerFinding[] = [];
  for (const backup of backups) {
    for (const target of backup.remoteRepositories) {
      const earlier = writers.get(target.repository);
      if (earlier === undefined) {
        writers.set(target.repository, { backup, target });
        continue;
      }
      findings.push({ where: backup.path, message: sharedRepository(backup, target, earlier.backup, earlier.target).message });
    }
  }
  return findings;
}

function sharedRepository(backup: BackupUse, target: RemoteRepository, other: BackupUse, otherTarget: RemoteRepository): ConfigurationError {
  const self = other.path === backup.path;
  const theirs = self ? `its target ${show(otherTarget.target)}` : `the target ${show(otherTarget.target)} of ${other.path}`;
  const why = self
    ? 'the sidecar would back up into it twice and count it as two copies'
    : backup.workload === other.workload
      ? `two sidecars under one restic host name (${show(backup.workload)}) would mix their snapshots: retention would forget one's snapshots as the other's, and a restore of "latest" could bring back the other's data; they would also share the repository's locks and password`
      : 'two sidecars in one repository share its locks (one\'s prune or check holds off the other\'s backups) and its password, and the library\'s restore and retention assume one workload per repository';
  return new ConfigurationError(
    backup.path,
    `the target ${show(target.target)} writes the restic repository ${target.display}, which ${theirs} writes too: ${why}`,
    self
      ? 'remove one of the two targets, or point it at another bucket or path'
      : 'give each its own repository: a containerName (serviceName) of its own, or a prefix of its own, e.g. StorageTarget.s3(bucket, { prefix: "host-2/db" }) (`prefix` of an S3-compatible target, `repositoryPath` of a REST server)',
  );
}
