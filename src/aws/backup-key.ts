import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy';
import { Fn, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { accountOf, partitionOf, policyDocument } from './policy-document';

/** Properties of a `BackupKey`. */
export interface BackupKeyProps {
  /** What the key protects, shown in the KMS console. */
  readonly description: string;
  /**
   * The AWS provider (and so the region) that creates the key.
   * @default - the stack's default AWS provider
   */
  readonly provider?: TerraformProvider;
  /**
   * Days KMS waits before deleting the key once deletion is scheduled (7 to 30).
   * @default 30
   */
  readonly deletionWindowInDays?: number;
  /**
   * Refuse `terraform destroy` of the key: without it, every backup it encrypts is unreadable.
   * @default true
   */
  readonly protectFromDestroy?: boolean;
}

/**
 * Key administration the account may delegate through IAM policies. Listed one by one (no
 * `kms:*`): deliberately absent are `kms:DisableKeyRotation`, the grant-creating and the
 * key-material-import operations, which a backup key never needs.
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/** Cryptographic use the account may delegate through IAM policies (S3 SSE-KMS, SSM). */
export const KEY_USE_ACTIONS = [
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

/**
 * A customer managed KMS key with yearly automatic rotation, for a backup bucket or the
 * password escrow.
 *
 * Its key policy names only the owning account (the key's own account, read from its ARN,
 * so a plan needs no AWS call) and enables IAM policies to grant use of the key; the agent,
 * the replication role and the operators then get exactly the operations their IAM policies
 * list. `Resource` in a key policy is `"*"`, which in a key policy means "this key" and is the
 * only value KMS documents there; it is the one place the library writes a `"*"` resource.
 */
export class BackupKey extends Construct {
  /** The KMS key. */
  public readonly key: KmsKey;
  /** Its key policy. */
  public readonly keyPolicy: KmsKeyPolicy;

  constructor(scope: Construct, id: string, props: BackupKeyProps) {
    super(scope, id);
    const protect = props.protectFromDestroy ?? true;
    this.key = new KmsKey(this, 'key', {
      provider: props.provider,
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowInDays ?? 30,
      lifecycle: protect ? { preventDestroy: true } : undefined,
    });
    const accountRoot = Fn.join(':', ['arn', partitionOf(this.key.arn), 'iam', '', accountOf(this.key.arn), 'root']);
    const document = policyDocument(
      this,
      'key-policy-document',
      [
        {
          sid: 'AccountAdministersKey',
          actions: KEY_ADMIN_ACTIONS,
          resources: ['*'],
          principals: [{ type: 'AWS', identifiers: [accountRoot] }],
        },
        {
          sid: 'AccountDelegatesKeyUseToIamPolicies',
          actions: KEY_USE_ACTIONS,
          resources: ['*'],
          principals: [{ type: 'AWS', identifiers: [accountRoot] }],
        },
      ],
      props.provider,
    );
    this.keyPolicy = new KmsKeyPolicy(this, 'key-policy', {
      provider: props.provider,
      keyId: this.key.keyId,
      policy: document.json,
    });
  }

  /** The key's ARN. */
  public get keyArn(): string {
    return this.key.arn;
  }
}
