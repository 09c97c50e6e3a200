import { Construct } from 'constructs';
import { AgentCredentials, credentialsDoNotCover } from '../aws/agent-credentials';
import type { IBackupBucket } from '../aws/backup-bucket';
import { s3Endpoint } from '../aws/region';
import { holdsSecretsInState } from '../aws/state-backend';
import { ConfigurationError } from '../core/configuration-error';
import { Medium } from './medium';
import { checkPrefix } from './repository-prefix';
import { Site } from './site';
import type { IStorageTarget, ReplicaDescription, StorageTargetBindContext, StorageTargetConfig, TargetSecret } from './storage-target-config';

/** Options of `StorageTarget.s3`. */
export interface S3TargetOptions {
  /**
   * The agent's AWS identity. Pass `AgentCredentials` made with
   * `identity: AgentIdentity.INSTANCE_PROFILE` for a Docker host on EC2, or to share one
   * identity between containers.
   * @default - an IAM user and access key scoped to this container's prefix, created in the bucket's stack
   */
  readonly credentials?: AgentCredentials;
  /**
   * The folder of the bucket that holds this container's repository.
   * @default - the container name
   */
  readonly prefix?: string;
  /**
   * The target's name in logs, status and `--target`.
   * @default "s3"
   */
  readonly name?: string;
  /**
   * Let the agent read the offsite replica back (`check --no-lock`, read-only) on its
   * verification schedule.
   * @default true when the bucket has an offsite copy
   */
  readonly verifyReplica?: boolean;
}

/**
 * A restic repository in a folder of an S3 bucket (a `BackupBucket`, or one imported with
 * `BackupBucket.fromAttributes`): `s3:https://s3.<region>.amazonaws.com/<bucket>/<prefix>`.
 */
export class S3Target implements IStorageTarget {
  /** The target's name. */
  public readonly name: string;

  constructor(
    private readonly bucket: IBackupBucket,
    private readonly options: S3TargetOptions = {},
  ) {
    this.name = options.name ?? 's3';
  }

  public bind(scope: Construct, context: StorageTargetBindContext): StorageTargetConfig {
    const where = `StorageTarget.s3(${this.bucket.node.path}) for ${context.containerName}`;
    const prefix = this.options.prefix ?? context.containerName;
    checkPrefix(where, prefix);
    const credentials = this.options.credentials ?? AgentCredentials.forContainer(this.bucket, prefix);
    if (credentials.bucket !== this.bucket) {
      throw credentialsForOtherBucket(where);
    }
    if (!credentials.covers(prefix)) {
      throw credentialsDoNotCover(where, prefix, credentials.prefixes);
    }
    const keyEnvironment: { [name: string]: string } = {};
    const secrets: TargetSecret[] = [];
    if (credentials.accessKeyId !== undefined && credentials.secretAccessKey !== undefined) {
      keyEnvironment.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
      secrets.push({ variable: 'AWS_SECRET_ACCESS_KEY', value: credentials.secretAccessKey });
      holdsSecretsInState(scope, `the S3 secret access key of ${credentials.node.path}, delivered to the sidecar`);
    }
    // The initializer's key: only `restic init` (a one-shot container at deploy time) gets it,
    // and it works for a window after its creation (AgentCredentials.initKeyValidityHours).
    let initEnvironment: { [name: string]: string } | undefined;
    let initSecrets: TargetSecret[] | undefined;
    if (credentials.initAccessKeyId !== undefined && credentials.initSecretAccessKey !== undefined) {
      initEnvironment = { AWS_DEFAULT_REGION: this.bucket.region, AWS_ACCESS_KEY_ID: credentials.initAccessKeyId };
      initSecrets = [{ variable: 'AWS_SECRET_ACCESS_KEY', value: credentials.initSecretAccessKey }];
    }

    const replicas: ReplicaDescription[] = [];
    const copy = this.bucket.offsiteCopy;
    if (copy) {
      const verify = this.options.verifyReplica ?? true;
      replicas.push({
        name: `${this.name}-offsite`,
        medium: copy.archived ? Medium.ARCHIVE : Medium.OBJECT_STORAGE,
        site: Site.awsRegion(copy.region),
        immutable: copy.objectLock !== undefined,
        immutableRetentionDays: copy.objectLock?.days,
        lockStrength: copy.objectLock?.strength,
        verifyRepository: verify ? repository(copy.region, copy.bucketName, prefix) : undefined,
        // The same identity: it may only list, get and decrypt on the replica.
        environment: verify ? { AWS_DEFAULT_REGION: copy.region, ...keyEnvironment } : undefined,
        secrets: verify ? secrets : undefined,
      });
    }

    return {
      name: this.name,
      repository: repository(this.bucket.region, this.bucket.bucketName, prefix),
      medium: Medium.OBJECT_STORAGE,
      site: Site.awsRegion(this.bucket.region),
      immutable: this.bucket.objectLock !== undefined,
      immutableRetentionDays: this.bucket.objectLock?.days,
      lockStrength: this.bucket.objectLock?.strength,
      environment: { AWS_DEFAULT_REGION: this.bucket.region, ...keyEnvironment },
      secrets,
      initEnvironment,
      initSecrets,
      initValidUntil: initEnvironment !== undefined ? credentials.initKeyExpiresAt : undefined,
      initRenewal: initEnvironment !== undefined ? credentials.initKeyRenewal : undefined,
      replicas,
    };
  }
}

function repository(region: string, bucketName: string, prefix: string): string {
  return `s3:${s3Endpoint(region)}/${bucketName}/${prefix}`;
}

function credentialsForOtherBucket(where: string): ConfigurationError {
  return new ConfigurationError(
    where,
    'the agent credentials were made for another bucket than the one this target writes to',
    'create the AgentCredentials with `bucket` set to the same BackupBucket as StorageTarget.s3(...)',
  );
}
