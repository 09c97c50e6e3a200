import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { Construct, IConstruct } from 'constructs';
import { attachComplianceHooks } from '../compliance/hooks';
import { ConfigurationError, show } from '../core/configuration-error';
import { Retention } from '../policy/retention';
import { invalidBucketName, outOfRange } from '../core/validation';
import { AccessLogBucket } from './access-log-bucket';
import { ArchiveTier } from './archive-tier';
import { BackupKey } from './backup-key';
import { HardenedBucket } from './hardened-bucket';
import { ObjectLock, ObjectLockMode } from './object-lock';
import { OffsiteReplica, OffsiteReplicaBucket } from './offsite-replica';
import { Statement, accountOf } from './policy-document';
import { bucketPrefix, checkRegion, defaultAwsProvider, resolveRegion } from './region';
import { checkUploadBoundsHold, uploadBounds } from './upload-bounds';

/** Where a bucket's offsite copy is, as the S3 target and the agent credentials see it. */
export interface OffsiteCopyAttributes {
  /** The replica bucket's name. */
  readonly bucketName: string;
  /** The replica bucket's ARN. */
  readonly bucketArn: string;
  /** The replica's region. */
  readonly region: string;
  /**
   * The KMS key that encrypts the replica (the agent needs `kms:Decrypt` on it to verify).
   * @default - SSE-S3 or a key the agent may already use
   */
  readonly kmsKeyArn?: string;
  /**
   * The replica's Object Lock.
   * @default - not locked
   */
  readonly objectLock?: ObjectLock;
  /**
   * Whether older replica data moves to an archive storage class.
   * @default false
   */
  readonly archived?: boolean;
}

/** A bucket the S3 target can back up to: a `BackupBucket`, or one made elsewhere. */
export interface IBackupBucket extends IConstruct {
  /** The bucket's name. */
  readonly bucketName: string;
  /** The bucket's ARN. */
  readonly bucketArn: string;
  /** The bucket's region (a literal, e.g. "eu-west-1"). */
  readonly region: string;
  /**
   * The KMS key that encrypts the bucket (the agent needs to use it).
   * @default - SSE-S3, no key to grant
   */
  readonly kmsKeyArn?: string;
  /**
   * The bucket's own Object Lock.
   * @default - not locked
   */
  readonly objectLock?: ObjectLock;
  /**
   * The offsite copy S3 replication keeps of this bucket.
   * @default - none
   */
  readonly offsiteCopy?: OffsiteCopyAttributes;
  /**
   * Whether the bucket's own policy refuses, for every principal, uploads that ask for another
   * storage class than S3 Standard or for their own encryption (SSE-C, another algorithm or
   * KMS key): true for a `BackupBucket`. Where it is not, `AgentCredentials` put the same
   * Denies into the agent's and the initializer's own policies.
   * @default false
   */
  readonly boundsUploads?: boolean;
}

/** An existing bucket, for `BackupBucket.fromAttributes`. */
export interface BackupBucketAttributes {
  /** The bucket's name. */
  readonly bucketName: string;
  /** The bucket's region. */
  readonly region: string;
  /**
   * The KMS key that encrypts the bucket.
   * @default - SSE-S3
   */
  readonly kmsKeyArn?: string;
  /**
   * The bucket's Object Lock, if it has one.
   * @default - not locked
   */
  readonly objectLock?: ObjectLock;
  /**
   * The bucket's offsite copy, if replication keeps one.
   * @default - none
   */
  readonly offsiteCopy?: OffsiteCopyAttributes;
  /**
   * The AWS partition.
   * @default "aws"
   */
  readonly partition?: string;
}

/** Properties of a `BackupBucket`. */
export interface BackupBucketProps {
  /**
   * The longest retention of the containers that back up here. Noncurrent versions are kept
   * as long as it reaches, and Object Lock must last at least that long.
   * @default Retention.standard() (7 daily, 4 weekly, 12 monthly: 372 days)
   */
  readonly retention?: Retention;
  /**
   * An offsite copy in another region, with Object Lock.
   * @default - no offsite copy
   */
  readonly offsite?: OffsiteReplica;
  /**
   * Move older data to an archive storage class.
   * @default - no archive transition
   */
  readonly archive?: ArchiveTier;
  /**
   * Object Lock on this bucket too. restic's prune still works (it only adds delete
   * markers), but locked versions are billed until their lock ends.
   * @default - not locked (the offsite replica is the locked copy)
   */
  readonly objectLock?: ObjectLock;
  /**
   * Days a noncurrent object version (pruned or overwritten data) is kept before it expires:
   * the window in which a malicious or mistaken prune can be undone.
   * @default - the retention horizon, at least 7 days
   */
  readonly noncurrentVersionDays?: number;
  /**
   * An exact bucket name.
   * @default - a unique name derived from the construct id
   */
  readonly bucketName?: string;
  /**
   * The bucket's region; must match the provider's.
   * @default - the provider's region (it must be a literal string)
   */
  readonly region?: string;
  /**
   * The AWS provider that creates the bucket.
   * @default - the stack's default AWS provider
   */
  readonly provider?: AwsProvider;
  /**
   * Days server access logs are kept.
   * @default 365
   */
  readonly accessLogRetentionDays?: number;
  /**
   * Refuse `terraform destroy` of the buckets and KMS keys (Terraform `prevent_destroy`).
   * @default true
   */
  readonly protectFromDestroy?: boolean;
}

/**
 * The S3 bucket a restic S3 target writes to, hardened by default: a customer managed KMS key
 * with rotation and S3 Bucket Keys, versioning, all four public access blocks, bucket owner
 * enforced, a bucket policy that denies requests without TLS and uploads that ask for another
 * storage class than S3 Standard or for their own encryption (SSE-C, another KMS key), server
 * access logs to a separate log bucket, and a lifecycle that aborts unfinished uploads and
 * expires noncurrent versions in step with the retention. With `offsite`, S3 replication keeps
 * a locked copy, in S3 Standard, in another region. A second `aws_s3_bucket_policy` of the
 * bucket, or an override of the library's, is refused at synth: it would drop those Denies.
 *
 * @example
 * const vault = new BackupBucket(storageStack, 'vault', {
 *   retention: Retention.standard(),
 *   offsite: OffsiteReplica.inRegion('eu-central-1', { objectLock: ObjectLock.compliance(400) }),
 * });
 */
export class BackupBucket extends Construct implements IBackupBucket {
  /** A bucket made elsewhere (by hand, another stack, another tool). */
  public static fromAttributes(scope: Construct, id: string, attrs: BackupBucketAttributes): IBackupBucket {
    return new ImportedBackupBucket(scope, id, attrs);
  }

  /** The S3 bucket. */
  public readonly bucket: S3Bucket;
  /** The bucket's KMS key. */
  public readonly key: BackupKey;
  /** The bucket that receives server access logs of this region's backup buckets. */
  public readonly accessLogBucket: S3Bucket;
  /** The offsite copy, when `offsite` is set. */
  public readonly offsite?: OffsiteReplicaBucket;
  /** The bucket's region. */
  public readonly region: string;
  /** The retention the bucket is sized for. */
  public readonly retention: Retention;
  /** The bucket's own Object Lock, if any. */
  public readonly objectLock?: ObjectLock;
  /** Days a noncurrent version is kept. */
  public readonly noncurrentVersionDays: number;
  /** The bucket's policy refuses uploads outside S3 Standard and the bucket's own encryption. */
  public readonly boundsUploads?: boolean = true;
  private nameToken?: string;

  constructor(scope: Construct, id: string, props: BackupBucketProps = {}) {
    super(scope, id);
    // Its validation (below) refuses the stack the way the compliance pack does: no Terraform left.
    attachComplianceHooks(this);
    const where = this.node.path;
    const provider = props.provider ?? defaultAwsProvider(this);
    this.region = resolveRegion(where, provider, props.region);
    this.retention = props.retention ?? Retention.standard();
    const horizon = this.retention.horizonDays;
    this.noncurrentVersionDays = props.noncurrentVersionDays ?? Math.max(7, horizon);
    if (!Number.isInteger(this.noncurrentVersionDays) || this.noncurrentVersionDays < 1 || this.noncurrentVersionDays > 36500) {
      throw outOfRange(where, 'noncurrentVersionDays', this.noncurrentVersionDays, 1, 36500);
    }
    const accessLogRetentionDays = props.accessLogRetentionDays ?? 365;
    if (!Number.isInteger(accessLogRetentionDays) || accessLogRetentionDays < 1 || accessLogRetentionDays > 36500) {
      throw outOfRange(where, 'accessLogRetentionDays', accessLogRetentionDays, 1, 36500);
    }
    if (props.bucketName !== undefined) {
      checkBucketName(where, props.bucketName);
    }
    this.objectLock = props.objectLock;
    if (this.objectLock && this.objectLock.days < horizon) {
      throw objectLockTooShort(where, this.objectLock, horizon);
    }
    let replicaLock: ObjectLock | undefined;
    if (props.offsite) {
      if (props.offsite.region === this.region) {
        throw sameRegionReplica(where, this.region);
      }
      if (props.offsite.options.bucketName !== undefined) {
        checkBucketName(where, props.offsite.options.bucketName);
      }
      // Compliance mode by default: the only mode that holds against everyone (docs/compliance.md).
      replicaLock = props.offsite.options.objectLock ?? ObjectLock.compliance(Math.max(1, horizon));
      if (replicaLock.days < horizon) {
        throw objectLockTooShort(`${where} (offsite replica)`, replicaLock, horizon);
      }
    }

    const protectFromDestroy = props.protectFromDestroy ?? true;
    this.key = new BackupKey(this, 'key', {
      provider,
      description: `Encrypts the backup bucket ${where} (${this.region})`,
      protectFromDestroy,
    });
    const accessLogs = new AccessLogBucket(this, 'access-logs', {
      provider,
      bucketPrefix: bucketPrefix(id, 'logs'),
      accountId: accountOf(this.key.keyArn),
      retentionDays: accessLogRetentionDays,
      protectFromDestroy,
    });
    let bounds: Statement[] = [];
    const primary = new HardenedBucket(this, 'primary', {
      provider,
      bucketName: props.bucketName,
      bucketPrefix: bucketPrefix(id, 'backup'),
      kmsKeyArn: this.key.keyArn,
      objectLock: this.objectLock,
      accessLogs: { bucketName: accessLogs.bucket.id, prefix: 'primary/' },
      noncurrentVersionDays: this.noncurrentVersionDays,
      archive: props.archive,
      protectFromDestroy,
      extraPolicyStatements: (arn) => (bounds = uploadBounds([`${arn}/*`], true)),
    });
    // Nothing later in the app may take the bounds out of the policy (docs/security.md).
    this.node.addValidation({
      validate: () =>
        checkUploadBoundsHold(where, { bucket: primary.bucket, bucketName: props.bucketName, policy: primary.policy, document: primary.policyDocument, policyJson: primary.policyJson, bounds }, this.node.root),
    });
    accessLogs.allowSource(primary.bucket.arn);
    this.bucket = primary.bucket;
    this.accessLogBucket = accessLogs.bucket;

    if (props.offsite && replicaLock) {
      this.offsite = new OffsiteReplicaBucket(this, 'offsite', {
        replica: props.offsite,
        objectLock: replicaLock,
        primaryBucket: primary.bucket,
        primaryVersioning: primary.versioning,
        primaryKeyArn: this.key.keyArn,
        primaryRegion: this.region,
        primaryProvider: provider,
        accessLogRetentionDays,
        protectFromDestroy,
      });
    }
  }

  /** The bucket's name. */
  public get bucketName(): string {
    // One token, however often it is asked for: two targets on one bucket and prefix then have
    // equal repository strings, which is how the app-wide check finds a shared repository.
    if (this.nameToken === undefined) {
      this.nameToken = this.bucket.id;
    }
    return this.nameToken;
  }

  /** The bucket's ARN. */
  public get bucketArn(): string {
    return this.bucket.arn;
  }

  /** The KMS key's ARN (always set for a `BackupBucket`; optional for imported buckets). */
  public get kmsKeyArn(): string | undefined {
    return this.key.keyArn;
  }

  /** The offsite copy, as targets and credentials see it. */
  public get offsiteCopy(): OffsiteCopyAttributes | undefined {
    if (!this.offsite) {
      return undefined;
    }
    return {
      bucketName: this.offsite.bucketName,
      bucketArn: this.offsite.bucketArn,
      region: this.offsite.region,
      kmsKeyArn: this.offsite.key.keyArn,
      objectLock: this.offsite.objectLock,
      archived: this.offsite.archived,
    };
  }
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function checkBucketName(where: string, name: string): void {
  if (!BUCKET_NAME.test(name) || name.includes('..')) {
    throw invalidBucketName(where, name);
  }
}

class ImportedBackupBucket extends Construct implements IBackupBucket {
  public readonly bucketName: string;
  public readonly bucketArn: string;
  public readonly region: string;
  public readonly kmsKeyArn?: string;
  public readonly objectLock?: ObjectLock;
  public readonly offsiteCopy?: OffsiteCopyAttributes;

  constructor(scope: Construct, id: string, attrs: BackupBucketAttributes) {
    super(scope, id);
    const where = `BackupBucket.fromAttributes(${this.node.path})`;
    this.region = checkRegion(where, attrs.region);
    if (attrs.offsiteCopy) {
      checkRegion(where, attrs.offsiteCopy.region);
      if (attrs.offsiteCopy.region === attrs.region) {
        throw sameRegionReplica(where, attrs.region);
      }
    }
    this.bucketName = attrs.bucketName;
    this.bucketArn = `arn:${attrs.partition ?? 'aws'}:s3:::${attrs.bucketName}`;
    this.kmsKeyArn = attrs.kmsKeyArn;
    this.objectLock = attrs.objectLock;
    this.offsiteCopy = attrs.offsiteCopy;
  }
}

function objectLockTooShort(where: string, lock: ObjectLock, horizonDays: number): ConfigurationError {
  // The example keeps the user's mode: suggesting governance to a compliance user would weaken
  // the lock and fail OneImmutableOrOffline at the default level.
  const example =
    lock.mode === ObjectLockMode.COMPLIANCE
      ? `ObjectLock.compliance(${horizonDays})`
      : `ObjectLock.governance(${horizonDays}${lock.breakGlassPrincipalArn === undefined ? '' : ', { breakGlassPrincipalArn }'})`;
  return new ConfigurationError(
    where,
    `Object Lock keeps objects for ${lock.days} days, shorter than the backup retention horizon of ${horizonDays} days, so the oldest snapshots the retention keeps would no longer be immutable`,
    `lock for at least ${horizonDays} days, e.g. ${example}, or shorten the bucket's \`retention\``,
  );
}

function sameRegionReplica(where: string, region: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the offsite replica is in ${show(region)}, the same region as the primary bucket, so one regional outage or disaster takes both copies`,
    'pick another region for OffsiteReplica.inRegion(...), e.g. "eu-central-1" for a primary in "eu-west-1"',
  );
}
