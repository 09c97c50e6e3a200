import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketReplicationConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-replication-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { TerraformProvider, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AccessLogBucket } from './access-log-bucket';
import { ArchiveTier } from './archive-tier';
import { BackupKey } from './backup-key';
import { HardenedBucket } from './hardened-bucket';
import { ObjectLock } from './object-lock';
import { accountOf, policyDocument, serviceTrustPolicy } from './policy-document';
import { bucketPrefix, checkRegion, findStackProvider, resolveRegion } from './region';
import { UPLOAD_STORAGE_CLASS } from './upload-bounds';

/** Options of `OffsiteReplica.inRegion`. */
export interface OffsiteReplicaOptions {
  /**
   * Object Lock of the replica bucket. Its retention must be at least the backup bucket's
   * retention horizon, so every snapshot the retention keeps is also immutable offsite.
   *
   * Compliance mode by default: nobody, the account's root user included, can delete a locked
   * version or shorten its lock before it ends, so the replica is the immutable copy of
   * 3-2-1-1-0 whoever's credentials are stolen. It cannot be undone: the bucket and its data
   * stay (and are billed) until the lock ends. For a way out, use
   * `ObjectLock.governance(days, { breakGlassPrincipalArn })`, which writes a bucket policy
   * that keeps the bypass to that principal; governance mode without it does not count as
   * immutable at level 3-2-1-1-0.
   * @default ObjectLock.compliance(<the bucket's retention horizon in days>)
   */
  readonly objectLock?: ObjectLock;
  /**
   * The AWS provider for the offsite region. Pass your own to set credentials, an assumed
   * role or default tags for that region.
   * @default - an aliased AwsProvider for the region, created in the bucket's stack
   */
  readonly provider?: AwsProvider;
  /**
   * S3 Replication Time Control: 99.99% of objects replicated within 15 minutes, with
   * events when the threshold is missed (billed per GB).
   * @default false
   */
  readonly replicationTimeControl?: boolean;
  /**
   * Move older replica data to an archive storage class.
   * @default - no archive transition
   */
  readonly archive?: ArchiveTier;
  /**
   * An exact name for the replica bucket.
   * @default - a unique name derived from the construct id
   */
  readonly bucketName?: string;
}

/**
 * Where and how a `BackupBucket` keeps its offsite copy: a bucket in another AWS region with
 * Object Lock, its own KMS key and access logs, filled by S3 replication from the primary
 * bucket. Delete markers are not replicated, so deleting (or pruning) in the primary never
 * removes data from the replica.
 *
 * @example
 * // Governance mode counts as the immutable copy only with a break-glass principal.
 * new BackupBucket(stack, 'vault', {
 *   offsite: OffsiteReplica.inRegion('eu-central-1', {
 *     objectLock: ObjectLock.governance(400, { breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/backup-break-glass' }),
 *   }),
 * });
 */
export class OffsiteReplica {
  /** An offsite replica in `region` (another region than the primary bucket's). */
  public static inRegion(region: string, options: OffsiteReplicaOptions = {}): OffsiteReplica {
    checkRegion(`OffsiteReplica.inRegion(${JSON.stringify(region)})`, region);
    return new OffsiteReplica(region, options);
  }

  private constructor(
    /** The offsite region. */
    public readonly region: string,
    /** The options given. */
    public readonly options: OffsiteReplicaOptions,
  ) {}
}

/** What the offsite replica needs to know about its primary bucket (`BackupBucket` fills it in). */
export interface OffsiteReplicaBucketProps {
  /** Where and how to replicate. */
  readonly replica: OffsiteReplica;
  /** The replica's Object Lock (checked against the retention by `BackupBucket`). */
  readonly objectLock: ObjectLock;
  /** The primary bucket. */
  readonly primaryBucket: S3Bucket;
  /** The primary bucket's versioning (replication waits for it). */
  readonly primaryVersioning: S3BucketVersioningA;
  /** The ARN of the KMS key that encrypts the primary bucket. */
  readonly primaryKeyArn: string;
  /** The primary bucket's region. */
  readonly primaryRegion: string;
  /**
   * The provider of the primary region.
   * @default - the stack's default AWS provider
   */
  readonly primaryProvider?: TerraformProvider;
  /**
   * Days the replica's server access logs are kept.
   * @default 365
   */
  readonly accessLogRetentionDays?: number;
  /**
   * Refuse `terraform destroy` of the replica bucket and key.
   * @default true
   */
  readonly protectFromDestroy?: boolean;
}

/**
 * The offsite copy of a `BackupBucket`, made by `BackupBucket` when it has `offsite`: the
 * replica bucket (Object Lock, versioning, its own KMS key, access logs to a log bucket of its
 * region), the replication role and the primary bucket's replication configuration.
 */
export class OffsiteReplicaBucket extends Construct {
  /** The provider of the offsite region. */
  public readonly provider: AwsProvider;
  /** The offsite region. */
  public readonly region: string;
  /** The replica bucket's KMS key. */
  public readonly key: BackupKey;
  /** The replica bucket. */
  public readonly bucket: S3Bucket;
  /** The bucket that receives the replica bucket's server access logs. */
  public readonly accessLogBucket: S3Bucket;
  /** The role S3 assumes to replicate. */
  public readonly replicationRole: IamRole;
  /** The primary bucket's replication configuration. */
  public readonly replication: S3BucketReplicationConfigurationA;
  /** The replica's Object Lock. */
  public readonly objectLock: ObjectLock;
  /** Whether older replica data moves to an archive storage class. */
  public readonly archived: boolean;

  constructor(scope: Construct, id: string, props: OffsiteReplicaBucketProps) {
    super(scope, id);
    const options = props.replica.options;
    this.region = props.replica.region;
    this.objectLock = props.objectLock;
    this.archived = options.archive !== undefined;
    this.provider = options.provider ?? offsiteProvider(this, this.region);
    resolveRegion(this.node.path, this.provider, this.region);
    const provider = this.provider;
    const protect = props.protectFromDestroy ?? true;

    this.key = new BackupKey(this, 'key', {
      provider,
      description: `Encrypts the offsite backup replica ${this.node.path} (${this.region})`,
      protectFromDestroy: protect,
    });
    const scopeName = (scope as Construct).node.id;
    const accessLogs = new AccessLogBucket(this, 'access-logs', {
      provider,
      bucketPrefix: bucketPrefix(scopeName, 'replica-logs'),
      accountId: accountOf(this.key.keyArn),
      retentionDays: props.accessLogRetentionDays ?? 365,
      protectFromDestroy: protect,
    });
    const replica = new HardenedBucket(this, 'replica', {
      provider,
      bucketName: options.bucketName,
      bucketPrefix: bucketPrefix(scopeName, 'replica'),
      kmsKeyArn: this.key.keyArn,
      objectLock: props.objectLock,
      accessLogs: { bucketName: accessLogs.bucket.id, prefix: 'replica/' },
      // Locked versions outlive this anyway; noncurrent versions go once their lock ends.
      noncurrentVersionDays: props.objectLock.days,
      archive: options.archive,
      protectFromDestroy: protect,
    });
    accessLogs.allowSource(replica.bucket.arn);
    this.bucket = replica.bucket;
    this.accessLogBucket = accessLogs.bucket;

    const primaryArn = props.primaryBucket.arn;
    const replicaArn = replica.bucket.arn;
    const trust = serviceTrustPolicy(this, 'replication-trust', 'S3AssumesReplicationRole', 's3.amazonaws.com', props.primaryProvider);
    this.replicationRole = new IamRole(this, 'replication-role', {
      provider: props.primaryProvider,
      namePrefix: 'backup-replication-',
      description: `S3 replication of ${props.primaryBucket.node.path} to its offsite replica in ${this.region}`,
      assumeRolePolicy: trust.json,
    });
    const permissions = policyDocument(
      this,
      'replication-permissions',
      [
        {
          sid: 'ReadReplicationConfiguration',
          actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'],
          resources: [primaryArn],
        },
        {
          sid: 'ReadSourceVersions',
          actions: [
            's3:GetObjectLegalHold',
            's3:GetObjectRetention',
            's3:GetObjectVersionAcl',
            's3:GetObjectVersionForReplication',
            's3:GetObjectVersionTagging',
          ],
          resources: [`${primaryArn}/*`],
        },
        {
          sid: 'WriteReplicas',
          actions: ['s3:ReplicateObject', 's3:ReplicateTags'],
          resources: [`${replicaArn}/*`],
        },
        {
          sid: 'DecryptSourceThroughS3',
          actions: ['kms:Decrypt'],
          resources: [props.primaryKeyArn],
          conditions: [
            { test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${props.primaryRegion}.amazonaws.com`] },
            { test: 'StringLike', variable: 'kms:EncryptionContext:aws:s3:arn', values: [primaryArn, `${primaryArn}/*`] },
          ],
        },
        {
          sid: 'EncryptReplicasThroughS3',
          actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [this.key.keyArn],
          conditions: [
            { test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${this.region}.amazonaws.com`] },
            { test: 'StringLike', variable: 'kms:EncryptionContext:aws:s3:arn', values: [replicaArn, `${replicaArn}/*`] },
          ],
        },
      ],
      props.primaryProvider,
    );
    new IamRolePolicy(this, 'replication-policy', {
      provider: props.primaryProvider,
      role: this.replicationRole.id,
      name: 'replicate-to-offsite',
      policy: permissions.json,
    });

    const rtc = options.replicationTimeControl ?? false;
    this.replication = new S3BucketReplicationConfigurationA(this, 'replication', {
      provider: props.primaryProvider,
      bucket: props.primaryBucket.id,
      role: this.replicationRole.arn,
      rule: [
        {
          id: 'offsite-copy',
          status: 'Enabled',
          priority: 1,
          filter: {},
          // Deleting or pruning in the primary must never reach the offsite copy.
          deleteMarkerReplication: { status: 'Disabled' },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
          destination: {
            bucket: replicaArn,
            // The locked copy's class is the library's, not the uploader's: by default S3 keeps
            // a replica in its source object's class (S3 User Guide, "Replication configuration
            // file elements"). The replica's own archive tier, if any, moves it later.
            storageClass: UPLOAD_STORAGE_CLASS,
            encryptionConfiguration: { replicaKmsKeyId: this.key.keyArn },
            metrics: rtc ? { status: 'Enabled', eventThreshold: { minutes: 15 } } : { status: 'Enabled' },
            replicationTime: rtc ? { status: 'Enabled', time: { minutes: 15 } } : undefined,
          },
        },
      ],
      // Replication needs versioning on both sides, and the replica's lock in place.
      dependsOn: [
        props.primaryVersioning,
        replica.versioning,
        ...(replica.objectLockConfiguration ? [replica.objectLockConfiguration] : []),
      ],
    });
  }

  /** The replica bucket's name. */
  public get bucketName(): string {
    return this.bucket.id;
  }

  /** The replica bucket's ARN. */
  public get bucketArn(): string {
    return this.bucket.arn;
  }
}

/** One aliased provider per offsite region and stack, shared by every bucket there. */
function offsiteProvider(scope: Construct, region: string): AwsProvider {
  const alias = `offsite-${region}`;
  // Created on the stack itself below, so the direct children are where it is found.
  const existing = findStackProvider(scope, `alias ${alias}`, (p) => p.alias === alias, false);
  return existing ?? new AwsProvider(TerraformStack.of(scope), `aws-${alias}`, { region, alias });
}
