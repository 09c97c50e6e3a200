import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import {
  S3BucketLifecycleConfiguration,
  S3BucketLifecycleConfigurationRule,
} from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { S3BucketObjectLockConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { ArchiveTier } from './archive-tier';
import { ObjectLock } from './object-lock';
import { Statement, denyInsecureTransport, policyDocument } from './policy-document';

/** Days after which an unfinished multipart upload is aborted (its parts are billed until then). */
export const ABORT_INCOMPLETE_UPLOADS_DAYS = 7;

/** Internal: the settings every bucket of this library shares, and what differs. */
export interface HardenedBucketProps {
  readonly provider?: TerraformProvider;
  /** An exact name; without it Terraform makes a unique one from `bucketPrefix`. */
  readonly bucketName?: string;
  readonly bucketPrefix: string;
  /** SSE-KMS with this key and S3 Bucket Keys; without it SSE-S3 (only for access-log buckets). */
  readonly kmsKeyArn?: string;
  readonly objectLock?: ObjectLock;
  /** Where S3 server access logs go; absent only for an access-log bucket itself. */
  readonly accessLogs?: { readonly bucketName: string; readonly prefix: string };
  /** Days a noncurrent object version is kept. */
  readonly noncurrentVersionDays: number;
  /** Days a current object is kept (access-log buckets only; never for repositories). */
  readonly expireCurrentAfterDays?: number;
  readonly archive?: ArchiveTier;
  /** Statements added to the TLS-only bucket policy. */
  readonly extraPolicyStatements?: (bucketArn: string) => Statement[];
  readonly protectFromDestroy: boolean;
}

/**
 * Internal: an S3 bucket with the controls every bucket of this library has: all four public
 * access blocks (S3.8), bucket owner enforced (no ACLs), versioning (S3.14), default
 * encryption (S3.17 with a KMS key), a policy that denies requests without TLS (S3.5), server
 * access logs (S3.9), a lifecycle (S3.13) that aborts unfinished uploads and expires
 * noncurrent versions, and optionally Object Lock (S3.15) and an archive transition.
 */
export class HardenedBucket extends Construct {
  public readonly bucket: S3Bucket;
  public readonly versioning: S3BucketVersioningA;
  public readonly publicAccessBlock: S3BucketPublicAccessBlock;
  public readonly policy: S3BucketPolicy;
  /** The statements of `policy`, as a document tests and checks can read statement by statement. */
  public readonly policyDocument: DataAwsIamPolicyDocument;
  /** `policyDocument.json` as `policy` got it (each read of `json` is a new token). */
  public readonly policyJson: string;
  public readonly lifecycle: S3BucketLifecycleConfiguration;
  public readonly objectLockConfiguration?: S3BucketObjectLockConfigurationA;

  constructor(scope: Construct, id: string, props: HardenedBucketProps) {
    super(scope, id);
    const provider = props.provider;
    this.bucket = new S3Bucket(this, 'bucket', {
      provider,
      bucket: props.bucketName,
      bucketPrefix: props.bucketName === undefined ? props.bucketPrefix : undefined,
      objectLockEnabled: props.objectLock ? true : undefined,
      forceDestroy: false,
      lifecycle: props.protectFromDestroy ? { preventDestroy: true } : undefined,
    });
    const bucket = this.bucket.id;

    new S3BucketOwnershipControls(this, 'ownership', {
      provider,
      bucket,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    this.publicAccessBlock = new S3BucketPublicAccessBlock(this, 'public-access-block', {
      provider,
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    this.versioning = new S3BucketVersioningA(this, 'versioning', {
      provider,
      bucket,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      provider,
      bucket,
      rule: [
        props.kmsKeyArn !== undefined
          ? {
              applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.kmsKeyArn },
              bucketKeyEnabled: true,
            }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
      ],
    });
    const document = (this.policyDocument = policyDocument(
      this,
      'policy-document',
      [
        denyInsecureTransport(this.bucket.arn),
        ...(props.objectLock?.breakGlassPrincipalArn !== undefined ? [breakGlassOnly(this.bucket.arn, props.objectLock.breakGlassPrincipalArn)] : []),
        ...(props.extraPolicyStatements?.(this.bucket.arn) ?? []),
      ],
      provider,
    ));
    this.policyJson = document.json;
    this.policy = new S3BucketPolicy(this, 'policy', {
      provider,
      bucket,
      policy: this.policyJson,
      // S3 rejects some policies while the public access block is being applied.
      dependsOn: [this.publicAccessBlock],
    });
    if (props.accessLogs) {
      new S3BucketLoggingA(this, 'access-logging', {
        provider,
        bucket,
        targetBucket: props.accessLogs.bucketName,
        targetPrefix: props.accessLogs.prefix,
      });
    }
    if (props.objectLock) {
      this.objectLockConfiguration = new S3BucketObjectLockConfigurationA(this, 'object-lock', {
        provider,
        bucket,
        rule: { defaultRetention: { mode: props.objectLock.mode, days: props.objectLock.days } },
        dependsOn: [this.versioning],
      });
    }
    this.lifecycle = new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      provider,
      bucket,
      rule: lifecycleRules(props),
      // Lifecycle rules on noncurrent versions need versioning to be on first.
      dependsOn: [this.versioning],
    });
  }
}

/**
 * What makes a governance-mode lock hold against administrators: every principal except the
 * break-glass one (matched on `aws:PrincipalArn`, i.e. the role for every session of it) is
 * denied the governance bypass, deleting an object version and changing a version's
 * retention. The root user is denied too, but can always rewrite the bucket policy: only
 * compliance mode holds against it.
 */
export const BREAK_GLASS_ACTIONS = ['s3:BypassGovernanceRetention', 's3:DeleteObjectVersion', 's3:PutObjectRetention'];

function breakGlassOnly(bucketArn: string, principalArn: string): Statement {
  return {
    sid: 'OnlyBreakGlassLiftsTheLock',
    effect: 'Deny',
    actions: BREAK_GLASS_ACTIONS,
    resources: [`${bucketArn}/*`],
    principals: [{ type: '*', identifiers: ['*'] }],
    conditions: [{ test: 'ArnNotEquals', variable: 'aws:PrincipalArn', values: [principalArn] }],
  };
}

function lifecycleRules(props: HardenedBucketProps): S3BucketLifecycleConfigurationRule[] {
  const everything = [{}];
  const rules: S3BucketLifecycleConfigurationRule[] = [
    {
      id: 'abort-incomplete-multipart-uploads',
      status: 'Enabled',
      filter: everything,
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: ABORT_INCOMPLETE_UPLOADS_DAYS }],
    },
    {
      id: 'expire-noncurrent-versions',
      status: 'Enabled',
      filter: everything,
      noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays }],
      expiration:
        props.expireCurrentAfterDays !== undefined
          ? [{ days: props.expireCurrentAfterDays }]
          : // Removes delete markers left alone once their noncurrent versions expired.
            [{ expiredObjectDeleteMarker: true }],
    },
  ];
  if (props.archive) {
    rules.push({
      id: 'archive-older-data',
      status: 'Enabled',
      filter: everything,
      transition: [{ days: props.archive.afterDays, storageClass: props.archive.storageClass }],
      noncurrentVersionTransition:
        props.archive.afterDays < props.noncurrentVersionDays
          ? [{ noncurrentDays: props.archive.afterDays, storageClass: props.archive.storageClass }]
          : undefined,
    });
  }
  return rules;
}
