import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { Lazy, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { HardenedBucket } from './hardened-bucket';

/** Internal: properties of an `AccessLogBucket`. */
export interface AccessLogBucketProps {
  readonly provider?: TerraformProvider;
  readonly bucketPrefix: string;
  /** The account whose buckets log here (an expression; see `accountOf`). */
  readonly accountId: string;
  /** Days log objects are kept. */
  readonly retentionDays: number;
  readonly protectFromDestroy: boolean;
}

/**
 * Internal: the bucket that receives S3 server access logs of the backup buckets of one
 * region (S3 logs only to a bucket in the source's region).
 *
 * Hardened like every bucket here, with two deliberate differences: it is encrypted with
 * SSE-S3 (AES256), because S3 documents server access log delivery only for SSE-S3 encrypted
 * destinations, and it does not log its own access (that would loop). It is not locked:
 * its objects expire after the log retention.
 */
export class AccessLogBucket extends Construct {
  public readonly hardened: HardenedBucket;
  private readonly sources: string[] = [];

  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    super(scope, id);
    this.hardened = new HardenedBucket(this, 'logs', {
      provider: props.provider,
      bucketPrefix: props.bucketPrefix,
      noncurrentVersionDays: 30,
      expireCurrentAfterDays: props.retentionDays,
      protectFromDestroy: props.protectFromDestroy,
      extraPolicyStatements: (arn) => [
        {
          sid: 'S3ServerAccessLogDelivery',
          actions: ['s3:PutObject'],
          resources: [`${arn}/*`],
          principals: [{ type: 'Service', identifiers: ['logging.s3.amazonaws.com'] }],
          conditions: [
            { test: 'StringEquals', variable: 'aws:SourceAccount', values: [props.accountId] },
            {
              test: 'ArnEquals',
              variable: 'aws:SourceArn',
              values: Lazy.listValue({ produce: () => this.sources }),
            },
          ],
        },
      ],
    });
  }

  /** The S3 bucket. */
  public get bucket(): S3Bucket {
    return this.hardened.bucket;
  }

  /** Lets S3 deliver the access logs of `bucketArn` here. */
  public allowSource(bucketArn: string): void {
    this.sources.push(bucketArn);
  }
}
