import type { IBackupBucket } from '../aws/backup-bucket';
import { LocalPathTarget, LocalPathTargetProps } from './local-target';
import { RestServerTarget, RestServerTargetProps } from './rest-server-target';
import { S3CompatibleTarget, S3CompatibleTargetProps } from './s3-compatible-target';
import { S3Target, S3TargetOptions } from './s3-target';
import { IStorageTarget } from './storage-target-config';

/** Factories for the storage targets this library ships. */
export class StorageTarget {
  /** A repository in a folder of the Docker host (local disk, or a NAS mounted there). */
  public static localPath(props: LocalPathTargetProps): IStorageTarget {
    return new LocalPathTarget(props);
  }

  /**
   * A repository in the prefix `<container name>/` of an S3 bucket: a `BackupBucket` (with its
   * offsite replica, verified read-only by the agent) or one from `BackupBucket.fromAttributes`.
   * Without `credentials`, an IAM user scoped to that prefix is created in the bucket's stack.
   */
  public static s3(bucket: IBackupBucket, options: S3TargetOptions = {}): IStorageTarget {
    return new S3Target(bucket, options);
  }

  /**
   * A repository on an S3-compatible service (MinIO, Backblaze B2, Wasabi): an endpoint and
   * credentials, no AWS resources.
   */
  public static s3Compatible(props: S3CompatibleTargetProps): IStorageTarget {
    return new S3CompatibleTarget(props);
  }

  /**
   * A repository on a restic REST server (rest-server, `rclone serve restic`), optionally
   * with basic authentication and in append-only mode.
   */
  public static restServer(props: RestServerTargetProps): IStorageTarget {
    return new RestServerTarget(props);
  }
}
