/**
 * The controls every bucket of the default example's AWS stack must hold (AWS Security Hub
 * S3.5, S3.8, S3.9, S3.13, S3.14, S3.15, S3.17, cross-region replication), and the rule that no
 * policy the library writes grants a wildcard action or resource. Walks the synthesized JSON
 * as Terraform will read it, so a bucket added later without its controls fails here.
 */
import { RETENTION } from '../../examples/postgres/main';
import { UPLOAD_BOUND_SIDS } from '../../src/aws/upload-bounds';
import { policyStatements, referencedId } from './helpers';
import { synthesizeDefaultExample } from './default-example';

const { storage, host } = synthesizeDefaultExample();
const resources = (type: string): Record<string, any> => storage.resource?.[type] ?? {};
const ref = (bucketId: string) => `\${aws_s3_bucket.${bucketId}.id}`;
const arn = (bucketId: string) => `\${aws_s3_bucket.${bucketId}.arn}`;
const of = (type: string, bucketId: string) => Object.values(resources(type)).filter((r: any) => r.bucket === ref(bucketId));

const buckets = Object.keys(resources('aws_s3_bucket'));
/** Buckets that receive another bucket's server access logs. */
const logBuckets = new Set(Object.values(resources('aws_s3_bucket_logging')).map((l: any) => referencedId(l.target_bucket, 'aws_s3_bucket')));
/** Buckets that S3 replication writes to. */
const replicaBuckets = new Set(
  Object.values(resources('aws_s3_bucket_replication_configuration')).flatMap((c: any) =>
    c.rule.map((r: any) => referencedId(r.destination.bucket, 'aws_s3_bucket')),
  ),
);
const regionOf = (resource: any): string => {
  const alias = resource.provider === undefined || resource.provider === 'aws' ? undefined : resource.provider.replace(/^aws\./, '');
  return storage.provider.aws.find((p: any) => p.alias === alias).region;
};

describe('every aws_s3_bucket of the default example', () => {
  test('the example has the topology the controls are checked on', () => {
    // primary + replica, each with a log bucket of its region
    expect(buckets).toHaveLength(4);
    expect(logBuckets.size).toBe(2);
    expect(replicaBuckets.size).toBe(1);
  });

  test.each(buckets)('%s blocks public access with all four settings, bucket owner enforced (S3.8)', (id) => {
    expect(of('aws_s3_bucket_public_access_block', id)).toEqual([
      expect.objectContaining({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true }),
    ]);
    expect(of('aws_s3_bucket_ownership_controls', id)).toEqual([expect.objectContaining({ rule: { object_ownership: 'BucketOwnerEnforced' } })]);
  });

  test.each(buckets)('%s is encrypted at rest: SSE-KMS with a customer managed key, SSE-S3 only for log buckets (S3.17)', (id) => {
    const [encryption] = of('aws_s3_bucket_server_side_encryption_configuration', id) as any[];
    const byDefault = encryption.rule[0].apply_server_side_encryption_by_default;
    if (logBuckets.has(id)) {
      // The one documented exception: S3 server access logs are delivered only to SSE-S3 buckets.
      expect(byDefault).toEqual({ sse_algorithm: 'AES256' });
    } else {
      expect(byDefault).toEqual({ sse_algorithm: 'aws:kms', kms_master_key_id: expect.stringMatching(/^\$\{aws_kms_key\.[^.]+\.arn\}$/) });
      expect(encryption.rule[0].bucket_key_enabled).toBe(true);
      const keyId = referencedId(byDefault.kms_master_key_id, 'aws_kms_key');
      expect(resources('aws_kms_key')[keyId].enable_key_rotation).toBe(true);
      // the key lives in the bucket's region
      expect(regionOf(resources('aws_kms_key')[keyId])).toBe(regionOf(resources('aws_s3_bucket')[id]));
    }
  });

  test.each(buckets)('%s has versioning enabled (S3.14)', (id) => {
    expect(of('aws_s3_bucket_versioning', id)).toEqual([expect.objectContaining({ versioning_configuration: { status: 'Enabled' } })]);
  });

  test.each(buckets)('%s has a policy that denies requests without TLS (S3.5)', (id) => {
    const [policy] = of('aws_s3_bucket_policy', id) as any[];
    expect(policyStatements(storage, policy.policy)).toContainEqual({
      sid: 'DenyInsecureTransport',
      effect: 'Deny',
      actions: ['s3:*'],
      resources: [arn(id), `${arn(id)}/*`],
      principals: [{ type: '*', identifiers: ['*'] }],
      condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
    });
  });

  test.each(buckets)('%s logs server access to a log bucket of its region, unless it is a log bucket (S3.9)', (id) => {
    const logging = of('aws_s3_bucket_logging', id) as any[];
    if (logBuckets.has(id)) {
      expect(logging).toEqual([]);
      return;
    }
    expect(logging).toHaveLength(1);
    const target = referencedId(logging[0].target_bucket, 'aws_s3_bucket');
    expect(target).not.toBe(id);
    expect(regionOf(resources('aws_s3_bucket')[target])).toBe(regionOf(resources('aws_s3_bucket')[id]));
  });

  test.each(buckets)('%s has a lifecycle that aborts incomplete multipart uploads and expires noncurrent versions (S3.13)', (id) => {
    const [lifecycle] = of('aws_s3_bucket_lifecycle_configuration', id) as any[];
    expect(lifecycle.rule).toContainEqual(
      expect.objectContaining({ status: 'Enabled', filter: [{}], abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }] }),
    );
    expect(lifecycle.rule).toContainEqual(
      expect.objectContaining({ status: 'Enabled', noncurrent_version_expiration: [{ noncurrent_days: expect.any(Number) }] }),
    );
    // No rule ever expires current objects of a repository: only log buckets age out.
    const expiresCurrent = lifecycle.rule.some((r: any) => r.expiration?.some((e: any) => e.days !== undefined));
    expect(expiresCurrent).toBe(logBuckets.has(id));
  });

  test('the offsite replica has Object Lock for at least the retention horizon (S3.15), in another region', () => {
    for (const id of replicaBuckets) {
      expect(resources('aws_s3_bucket')[id].object_lock_enabled).toBe(true);
      const [lock] = of('aws_s3_bucket_object_lock_configuration', id) as any[];
      expect(['GOVERNANCE', 'COMPLIANCE']).toContain(lock.rule.default_retention.mode);
      expect(lock.rule.default_retention.days).toBeGreaterThanOrEqual(RETENTION.horizonDays);
    }
  });

  test('every repository bucket that is not itself a replica replicates to a locked bucket in another region, delete markers kept back', () => {
    const sources = buckets.filter((id) => !logBuckets.has(id) && !replicaBuckets.has(id));
    expect(sources).toHaveLength(1);
    for (const id of sources) {
      const [replication] = of('aws_s3_bucket_replication_configuration', id) as any[];
      const [rule] = replication.rule;
      const destination = referencedId(rule.destination.bucket, 'aws_s3_bucket');
      expect(regionOf(resources('aws_s3_bucket')[destination])).not.toBe(regionOf(resources('aws_s3_bucket')[id]));
      expect(rule).toMatchObject({ status: 'Enabled', delete_marker_replication: { status: 'Disabled' } });
      expect(rule.destination.metrics).toMatchObject({ status: 'Enabled' });
      // the locked copy is S3 Standard whatever class the source object has
      expect(rule.destination.storage_class).toBe('STANDARD');
    }
  });

  test('every repository bucket that is not itself a replica refuses uploads that ask for another storage class or their own encryption', () => {
    const sources = buckets.filter((id) => !logBuckets.has(id) && !replicaBuckets.has(id));
    for (const id of sources) {
      const [policy] = of('aws_s3_bucket_policy', id) as any[];
      const bounds = policyStatements(storage, policy.policy).filter((s: any) => UPLOAD_BOUND_SIDS.includes(s.sid));
      expect(bounds.map((s: any) => [s.sid, s.effect, s.actions, s.resources, s.condition.map((c: any) => `${c.test} ${c.variable} ${c.values}`)])).toEqual([
        ['DenyStorageClassesButStandard', 'Deny', ['s3:PutObject'], [`${arn(id)}/*`], ['Null s3:x-amz-storage-class false', 'StringNotEquals s3:x-amz-storage-class STANDARD']],
        ['DenyCustomerProvidedKeys', 'Deny', ['s3:PutObject'], [`${arn(id)}/*`], ['Null s3:x-amz-server-side-encryption-customer-algorithm false']],
        ['DenyPerRequestEncryption', 'Deny', ['s3:PutObject'], [`${arn(id)}/*`], ['Null s3:x-amz-server-side-encryption false']],
        ['DenyPerRequestKmsKey', 'Deny', ['s3:PutObject'], [`${arn(id)}/*`], ['Null s3:x-amz-server-side-encryption-aws-kms-key-id false']],
      ]);
    }
  });

  test('account-level public access block is on (S3.1)', () => {
    expect(Object.values(resources('aws_s3_account_public_access_block'))).toEqual([
      expect.objectContaining({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true }),
    ]);
  });
});

describe('no policy the library writes grants a wildcard', () => {
  const documents: Record<string, any> = storage.data?.aws_iam_policy_document ?? {};
  /** Every attribute that holds a policy, on every resource. */
  const policyAttributes = Object.entries<Record<string, any>>(storage.resource).flatMap(([type, byId]) =>
    Object.entries<any>(byId).flatMap(([id, r]) =>
      ['policy', 'assume_role_policy'].filter((attr) => r[attr] !== undefined).map((attr) => ({ type, id, attr, value: r[attr] as string })),
    ),
  );
  const keyPolicyDocuments = new Set(
    policyAttributes.filter((p) => p.type === 'aws_kms_key_policy').map((p) => referencedId(p.value, 'data.aws_iam_policy_document')),
  );

  test('every policy attribute is an aws_iam_policy_document, so this test sees every statement', () => {
    // 4 bucket policies, 2 key policies, the replication role's trust and permissions, the
    // agent user's policy, the restic-init user's policy
    expect(policyAttributes.length).toBe(10);
    for (const p of policyAttributes) {
      expect(p.value).toMatch(/^\$\{data\.aws_iam_policy_document\.[^.]+\.json\}$/);
    }
    expect(Object.keys(documents).length).toBe(policyAttributes.length);
  });

  test.each(Object.keys(documents))('%s: no Allow statement has a wildcard action, a "*" resource outside a key policy, or a "*" principal', (id) => {
    for (const s of documents[id].statement) {
      expect(s.not_actions).toBeUndefined();
      expect(s.not_resources).toBeUndefined();
      expect(s.not_principals).toBeUndefined();
      if (s.effect === 'Deny') {
        // The Denies the library writes: TLS only (its wildcards widen a refusal), the
        // agent's refusal to rewrite a repository's config and keys, and the primary's bounds
        // on uploads (each only when the header it names is present: `Null false`).
        if (s.sid === 'DenyRewritingConfigAndKeys') {
          expect(s.actions).toEqual(['s3:DeleteObject', 's3:PutObject']);
          continue;
        }
        if (UPLOAD_BOUND_SIDS.includes(s.sid)) {
          expect(s).toMatchObject({ actions: ['s3:PutObject'], principals: [{ type: '*', identifiers: ['*'] }] });
          expect(s.condition[0]).toMatchObject({ test: 'Null', values: ['false'] });
          continue;
        }
        expect(s).toMatchObject({
          sid: 'DenyInsecureTransport',
          actions: ['s3:*'],
          condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        });
        continue;
      }
      expect(s.effect).toBe('Allow');
      for (const action of s.actions) {
        expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
      }
      for (const principal of s.principals ?? []) {
        expect(principal.identifiers).not.toContain('*');
      }
      if (keyPolicyDocuments.has(id)) {
        // Key policies: Resource "*" means "this key" (the only value KMS documents there); the
        // principal is the key's own account, read from the key's ARN.
        expect(s.resources).toEqual(['*']);
        expect(s.principals).toEqual([
          { type: 'AWS', identifiers: [expect.stringMatching(/^\$\{join\(":", \["arn", element\(split\(":", aws_kms_key\.[^.]+\.arn\), 1\), "iam", "", element\(split\(":", aws_kms_key\.[^.]+\.arn\), 4\), "root"\]\)\}$/)] },
        ]);
        continue;
      }
      if (s.actions.includes('sts:AssumeRole')) {
        // A trust policy: the resource is the role itself.
        expect(s.resources).toBeUndefined();
        continue;
      }
      expect(s.resources.length).toBeGreaterThan(0);
      for (const resource of s.resources) {
        // A specific bucket or key, or objects under a bucket: a wildcard only ends an object key.
        expect(resource).toMatch(/^\$\{aws_(s3_bucket|kms_key)\.[^.}]+\.arn\}(\/([A-Za-z0-9_.-]+\/)*(\*|config))?$/);
      }
    }
  });

  test('the key-policy exception is exactly the two statements of each key policy', () => {
    expect(keyPolicyDocuments.size).toBe(Object.keys(storage.resource.aws_kms_key).length);
    for (const id of keyPolicyDocuments) {
      expect(documents[id].statement.map((s: any) => s.sid)).toEqual(['AccountAdministersKey', 'AccountDelegatesKeyUseToIamPolicies']);
    }
    const starResources = Object.entries(documents).flatMap(([id, d]) =>
      d.statement.filter((s: any) => (s.resources ?? []).includes('*')).map(() => id),
    );
    expect(new Set(starResources)).toEqual(keyPolicyDocuments);
  });
});

describe('the Docker host stack of the default example', () => {
  test('holds no AWS resource and no secret in plain text: it reads bucket, key and password from the storage stack', () => {
    expect(Object.keys(host.resource).filter((t) => t.startsWith('aws_'))).toEqual([]);
    expect(host.provider.aws).toBeUndefined();
    // Whichever container carries the sidecar's secret files (the sidecar, or a one-shot installer).
    const uploads = Object.values<any>(host.resource.docker_container).flatMap((c) => c.upload ?? []);
    const remote = '${data.terraform_remote_state.cross-stack-reference-input-backup-storage.outputs.';
    for (const upload of uploads.filter((u: any) => u.file.includes('/secrets/') && u.content !== undefined)) {
      expect(upload.content.startsWith(remote)).toBe(true);
    }
    expect(JSON.stringify(host)).not.toMatch(/AKIA[0-9A-Z]{16}/);
    expect(Object.values<any>(storage.output).every((o) => o.sensitive === true)).toBe(true);
  });
});
