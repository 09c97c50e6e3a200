import { S3AccountPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-account-public-access-block';
import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';

/** Properties of an `AccountPublicAccessBlock`. */
export interface AccountPublicAccessBlockProps {
  /**
   * The AWS provider of the account (the setting is account-wide, in every region).
   * @default - the stack's default AWS provider
   */
  readonly provider?: TerraformProvider;
}

/**
 * Turns on all four S3 Block Public Access settings for the whole AWS account (Security Hub
 * S3.1), on top of the per-bucket blocks every `BackupBucket` has (S3.8). Add it to the stack
 * that owns the account's storage; it affects every bucket of the account, so leave it out
 * where another team manages that setting.
 */
export class AccountPublicAccessBlock extends Construct {
  /** The account-level block. */
  public readonly block: S3AccountPublicAccessBlock;

  constructor(scope: Construct, id: string, props: AccountPublicAccessBlockProps = {}) {
    super(scope, id);
    this.block = new S3AccountPublicAccessBlock(this, 'block', {
      provider: props.provider,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
  }
}
