/**
 * What an upload to a repository bucket may ask S3 for: nothing but the object. The storage
 * class is S3 Standard, the one restic gets without asking (restic sends `x-amz-storage-class`
 * only with `-o s3.storage-class`, which the agent never passes: restic internal/backend/s3/s3.go
 * `Save`, minio-go `PutObjectOptions.Header` sets the header only when `StorageClass != ""`,
 * checked in restic 0.14.0, 0.17.3 and 0.18.1), and the encryption is the bucket's default
 * (restic sets no `ServerSideEncryption`). A compromised agent could otherwise write packs
 * restic cannot read without a restore request (Glacier Flexible Retrieval, Deep Archive: billed
 * for at least 90 and 180 days, and never replicated), classes that replication carries into
 * the locked replica as they are (One Zone-IA: one Availability Zone; "By default, Amazon S3
 * uses the storage class of the source object to create object replicas"), or packs encrypted
 * with a key of its own (SSE-C), which S3 replicates too, so the replica would keep, and bill,
 * what nobody else can read for the whole lock (AWS S3 User Guide: "Setting the storage class
 * of an object", "Replication configuration file elements", "What does Amazon S3 replicate?").
 *
 * Each bound is a Deny on `s3:PutObject`, which S3 authorizes for PutObject, CopyObject, POST
 * uploads and CreateMultipartUpload, all of which take these headers (User Guide, "Setting the
 * storage class of an object"). IAM's rule for a key the request does not carry: the condition
 * is false, except for a negated operator such as StringNotEquals, which is then *true* (IAM
 * User Guide, "Condition operators": "If the policy condition requires that the key is not
 * matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition
 * is true"). So "StringNotEquals STANDARD" alone would refuse restic's every upload, which
 * carries no storage class; each bound first asks `Null: false` (the key is present) and the
 * conditions of one statement must all hold (IAM: condition operators are ANDed).
 *
 * Not bounded here: lifecycle transitions (the archive tier) are not requests and no bucket
 * policy applies to them ("Deny statements in a bucket policy don't prevent ... Lifecycle
 * actions (such as transitions or expirations)": User Guide, troubleshooting lifecycle), and
 * S3 replication writes the replica with `s3:ReplicateObject`, which no bound names. ACLs are
 * refused by bucket owner enforced ownership (User Guide, "Object Ownership": PUT requests
 * with other ACLs fail with AccessControlListNotSupported), tags need `s3:PutObjectTagging` on
 * top of `s3:PutObject` (S3 API reference, PutObject, "Permissions"), which no identity of the
 * library holds.
 */
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { Tokenization } from 'cdktf';
import { IConstruct } from 'constructs';
import { ConfigurationError } from '../core/configuration-error';
import { Statement } from './policy-document';

/** The one storage class uploads to a repository may ask for (absent means it too). */
export const UPLOAD_STORAGE_CLASS = 'STANDARD';

/** The request headers an upload may not carry, as IAM condition keys, each with its own Deny. */
const REFUSED_HEADERS: Array<{ sid: string; key: string }> = [
  // SSE-C: objects only the holder of the key can read.
  { sid: 'DenyCustomerProvidedKeys', key: 's3:x-amz-server-side-encryption-customer-algorithm' },
  // Another algorithm, or `aws:kms` without a key id (S3 then uses the account's aws/s3 key):
  // the bucket's default encryption, with its own key and S3 Bucket Keys, is the only one.
  { sid: 'DenyPerRequestEncryption', key: 's3:x-amz-server-side-encryption' },
  { sid: 'DenyPerRequestKmsKey', key: 's3:x-amz-server-side-encryption-aws-kms-key-id' },
];

/** The Sids of the bounds, in the order they are written. */
export const UPLOAD_BOUND_SIDS = ['DenyStorageClassesButStandard', ...REFUSED_HEADERS.map((h) => h.sid)];

/**
 * The bounds as Deny statements on `resources` (object ARNs). With `everyone` they are for a
 * bucket policy (principal `*`: every identity, the agent's, the initializer's and any other);
 * without, for an identity's own policy.
 */
export function uploadBounds(resources: string[], everyone: boolean): Statement[] {
  const principals = everyone ? [{ type: '*', identifiers: ['*'] }] : undefined;
  const present = (key: string) => ({ test: 'Null', variable: key, values: ['false'] });
  return [
    {
      sid: UPLOAD_BOUND_SIDS[0],
      effect: 'Deny',
      actions: ['s3:PutObject'],
      resources,
      principals,
      conditions: [
        present('s3:x-amz-storage-class'),
        { test: 'StringNotEquals', variable: 's3:x-amz-storage-class', values: [UPLOAD_STORAGE_CLASS] },
      ],
    },
    ...REFUSED_HEADERS.map(
      (h): Statement => ({ sid: h.sid, effect: 'Deny', actions: ['s3:PutObject'], resources, principals, conditions: [present(h.key)] }),
    ),
  ];
}

/** The parts of a bucket whose policy carries the bounds, as `checkUploadBoundsHold` reads them. */
export interface BoundedBucketPolicy {
  readonly bucket: S3Bucket;
  /** The bucket's exact name, when it has one (a policy may name the bucket by it). */
  readonly bucketName?: string;
  readonly policy: S3BucketPolicy;
  readonly document: DataAwsIamPolicyDocument;
  /** The document's `json` as the library passed it to `policy` (each read of `json` is a new token). */
  readonly policyJson: string;
  /** The bound statements as written into `document`. */
  readonly bounds: Statement[];
}

/**
 * Why the bounds would not hold in what `terraform apply` gets, for a validation: another
 * `aws_s3_bucket_policy` of the same bucket (S3 keeps one policy per bucket, so the last apply
 * wins and the library's statements go), the bucket's legacy `policy` argument (the same), or an
 * escape hatch on the library's policy or its document (`addOverride`, a replaced statement
 * list, another `policy`). An Allow anywhere else cannot reopen them: "an explicit deny in any
 * of these policies overrides the allow" (IAM User Guide, "Policy evaluation logic").
 */
export function checkUploadBoundsHold(where: string, parts: BoundedBucketPolicy, root: IConstruct): string[] {
  const problems: string[] = [];
  const names = [parts.bucket.id, ...(parts.bucketName !== undefined ? [parts.bucketName] : [])].map(sameValue);
  for (const node of root.node.findAll()) {
    if (node instanceof S3BucketPolicy && node !== parts.policy && names.includes(sameValue(node.bucketInput ?? ''))) {
      problems.push(anotherBucketPolicy(where, node.node.path).message);
    }
  }
  const overridden = [parts.policy, parts.document].filter((element) => Object.keys(overridesOf(element)).length > 0);
  const bucketPolicyArgument = parts.bucket.policyInput !== undefined || overridesOf(parts.bucket).policy !== undefined;
  const replaced = parts.policy.policyInput !== parts.policyJson;
  const written = (parts.document.statementInput ?? []) as Array<{ sid?: string }>;
  const missing = parts.bounds.filter((b) => !written.some((s) => s.sid === b.sid && sameStatement(s, b)));
  if (overridden.length > 0 || bucketPolicyArgument || replaced || missing.length > 0) {
    problems.push(policyChanged(where, missing.map((m) => m.sid)).message);
  }
  return problems;
}

/**
 * What a value stands for: the Terraform reference of a token (each read of `bucket.id` is a
 * new token string for the same `aws_s3_bucket.<id>.id`), or the literal string.
 */
function sameValue(value: string): string {
  const fragments = Tokenization.reverseString(value);
  const token = fragments.length === 1 ? (fragments.firstToken as { identifier?: string; originStack?: IConstruct } | undefined) : undefined;
  return token?.identifier !== undefined ? `${token.originStack?.node.path}:${token.identifier}` : value;
}

/** cdktf keeps escape-hatch overrides in a protected field, merged into the JSON at synth. */
function overridesOf(element: object): Record<string, unknown> {
  return (element as unknown as { rawOverrides?: Record<string, unknown> }).rawOverrides ?? {};
}

/** Whether a statement as the document holds it is the bound as written (the same JSON). */
function sameStatement(written: object, bound: Statement): boolean {
  const expected = { sid: bound.sid, effect: bound.effect, actions: bound.actions, resources: bound.resources, principals: bound.principals, condition: bound.conditions };
  return JSON.stringify(written) === JSON.stringify(expected);
}

function anotherBucketPolicy(where: string, path: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `another aws_s3_bucket_policy (${path}) sets the policy of this bucket; S3 keeps one policy per bucket, so whichever applies last replaces the other, and with the library's policy go the Denies that keep uploads to S3 Standard with the bucket's own encryption (and TLS-only access)`,
    'remove it, and grant what it granted through identity policies (IAM users and roles): an explicit Deny in the bucket policy holds against every Allow of theirs, so they cannot reopen the bounds (docs/security.md)',
  );
}

function policyChanged(where: string, missing: string[]): ConfigurationError {
  return new ConfigurationError(
    where,
    `the bucket policy the library writes was changed (an override, a replaced policy or statement list, or the bucket's own policy argument)${missing.length > 0 ? `, and it no longer holds ${missing.join(', ')}` : ''}; those Denies keep every upload to S3 Standard with the bucket's own encryption, so a compromised agent cannot make the locked replica keep objects nobody can read or that cost more`,
    'remove the override; grant access through identity policies instead, which the Denies bound but do not need to change (docs/security.md)',
  );
}
