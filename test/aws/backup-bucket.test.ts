import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { S3AccountPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-account-public-access-block';
import { TerraformStack, Testing } from 'cdktf';
import { AccountPublicAccessBlock, ArchiveTier, BackupBucket, BackupBucketProps, ObjectLock, Retention } from '../../src';
import { KEY_ADMIN_ACTIONS, KEY_USE_ACTIONS } from '../../src/aws/backup-key';
import 'cdktf/lib/testing/adapters/jest';
import { awsStack, forBucket, policyStatements, resourceNamed, resourcesOf, statement, synthJson } from './helpers';

Testing.setupJest();

/**
 * A BackupBucket "vault" with `props`, alone in a fresh AWS stack, synthesized: cdk.tf.json as
 * text and parsed, and the logical ids of the primary bucket and its log bucket.
 */
function synthesizedVault(props: BackupBucketProps = {}) {
  const stack = awsStack();
  const vault = new BackupBucket(stack, 'vault', props);
  const synthesized = Testing.synth(stack);
  const json = JSON.parse(synthesized);
  const ids = Object.keys(resourcesOf(json, 'aws_s3_bucket'));
  const primary = ids.find((id) => id.includes('primary'))!;
  const logs = ids.find((id) => id.includes('access-logs') || id.includes('access_logs'))!;
  return { vault, synthesized, json, primary, logs };
}

describe('BackupBucket', () => {
  test('creates a customer managed KMS key with rotation and a key policy without wildcard actions', () => {
    // WHEN
    const { synthesized, json } = synthesizedVault();
    // THEN
    expect(synthesized).toHaveResourceWithProperties(KmsKey, { enable_key_rotation: true, deletion_window_in_days: 30 });
    const keyPolicy = resourceNamed(json, 'aws_kms_key_policy', 'vault_key');
    expect(keyPolicy.key_id).toMatch(/^\$\{aws_kms_key\.vault_key_.*\.key_id\}$/);
    const statements = policyStatements(json, keyPolicy.policy);
    expect(statement(statements, 'AccountAdministersKey').actions).toEqual(KEY_ADMIN_ACTIONS);
    expect(statement(statements, 'AccountDelegatesKeyUseToIamPolicies').actions).toEqual(KEY_USE_ACTIONS);
    for (const s of statements) {
      // The key's own account only, read from the key's ARN (no STS call at plan time).
      expect(s.principals).toEqual([{ type: 'AWS', identifiers: [expect.stringMatching(/^\$\{join\(":", \["arn", element\(split\(":", aws_kms_key\.vault_key_[^.]+\.arn\), 1\), "iam", "", element\(split\(":", aws_kms_key\.vault_key_[^.]+\.arn\), 4\), "root"\]\)\}$/)] }]);
      expect(s.actions.some((a: string) => a.includes('*'))).toBe(false);
      expect(s.resources).toEqual(['*']);
    }
    expect(KEY_ADMIN_ACTIONS).not.toContain('kms:DisableKeyRotation');
  });

  test('encrypts the bucket with its KMS key and S3 Bucket Keys', () => {
    // WHEN
    const { json, primary } = synthesizedVault();
    // THEN
    const [encryption] = forBucket(json, 'aws_s3_bucket_server_side_encryption_configuration', primary);
    expect(encryption.rule).toEqual([
      {
        apply_server_side_encryption_by_default: {
          sse_algorithm: 'aws:kms',
          kms_master_key_id: expect.stringMatching(/^\$\{aws_kms_key\.vault_key_[^.]+\.arn\}$/),
        },
        bucket_key_enabled: true,
      },
    ]);
  });

  test('versioning, all four public access blocks and bucket owner enforced on every bucket it makes', () => {
    // WHEN
    const { synthesized, json } = synthesizedVault();
    // THEN
    expect(synthesized).toHaveResourceWithProperties(S3BucketVersioningA, { versioning_configuration: { status: 'Enabled' } });
    expect(synthesized).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(synthesized).toHaveResourceWithProperties(S3BucketOwnershipControls, { rule: { object_ownership: 'BucketOwnerEnforced' } });
    for (const id of Object.keys(resourcesOf(json, 'aws_s3_bucket'))) {
      expect(forBucket(json, 'aws_s3_bucket_versioning', id)).toHaveLength(1);
      expect(forBucket(json, 'aws_s3_bucket_public_access_block', id)).toHaveLength(1);
      expect(forBucket(json, 'aws_s3_bucket_ownership_controls', id)).toHaveLength(1);
    }
  });

  test('a bucket policy denies every request without TLS', () => {
    // WHEN
    const { json, primary } = synthesizedVault();
    // THEN
    const [policy] = forBucket(json, 'aws_s3_bucket_policy', primary);
    const deny = statement(policyStatements(json, policy.policy), 'DenyInsecureTransport');
    expect(deny).toEqual({
      sid: 'DenyInsecureTransport',
      effect: 'Deny',
      actions: ['s3:*'],
      resources: [`\${aws_s3_bucket.${primary}.arn}`, `\${aws_s3_bucket.${primary}.arn}/*`],
      principals: [{ type: '*', identifiers: ['*'] }],
      condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
    });
  });

  test('the bucket policy refuses, for everyone, uploads that ask for another storage class than S3 Standard', () => {
    // WHEN
    const { json, primary } = synthesizedVault();
    // THEN
    const [policy] = forBucket(json, 'aws_s3_bucket_policy', primary);
    expect(statement(policyStatements(json, policy.policy), 'DenyStorageClassesButStandard')).toEqual({
      sid: 'DenyStorageClassesButStandard',
      effect: 'Deny',
      actions: ['s3:PutObject'],
      resources: [`\${aws_s3_bucket.${primary}.arn}/*`],
      principals: [{ type: '*', identifiers: ['*'] }],
      // Both must hold: a request without the header (restic's) is S3 Standard and passes;
      // StringNotEquals alone would be true for it, and refuse every upload.
      condition: [
        { test: 'Null', variable: 's3:x-amz-storage-class', values: ['false'] },
        { test: 'StringNotEquals', variable: 's3:x-amz-storage-class', values: ['STANDARD'] },
      ],
    });
  });

  test('the bucket policy refuses, for everyone, uploads that bring their own encryption: SSE-C, another algorithm or KMS key', () => {
    // WHEN
    const { json, primary } = synthesizedVault();
    // THEN
    const [policy] = forBucket(json, 'aws_s3_bucket_policy', primary);
    const statements = policyStatements(json, policy.policy);
    const headerDenies = ['DenyCustomerProvidedKeys', 'DenyPerRequestEncryption', 'DenyPerRequestKmsKey'].map((sid) => statement(statements, sid));
    expect(headerDenies.map((s) => s.condition)).toEqual([
      [{ test: 'Null', variable: 's3:x-amz-server-side-encryption-customer-algorithm', values: ['false'] }],
      [{ test: 'Null', variable: 's3:x-amz-server-side-encryption', values: ['false'] }],
      [{ test: 'Null', variable: 's3:x-amz-server-side-encryption-aws-kms-key-id', values: ['false'] }],
    ]);
    for (const s of headerDenies) {
      expect(s).toMatchObject({ effect: 'Deny', actions: ['s3:PutObject'], resources: [`\${aws_s3_bucket.${primary}.arn}/*`], principals: [{ type: '*', identifiers: ['*'] }] });
    }
    // The bucket's default encryption is what every upload gets.
    const [encryption] = forBucket(json, 'aws_s3_bucket_server_side_encryption_configuration', primary);
    expect(encryption.rule[0].apply_server_side_encryption_by_default.sse_algorithm).toBe('aws:kms');
  });

  test('the bounds do not touch the lifecycle or the log bucket: only s3:PutObject on the primary\'s objects', () => {
    // WHEN
    const { json, primary, logs } = synthesizedVault({ archive: ArchiveTier.glacierInstantRetrieval(30) });
    // THEN the archive transition stays (lifecycle actions are no requests a bucket policy sees)
    const [lifecycle] = forBucket(json, 'aws_s3_bucket_lifecycle_configuration', primary);
    expect(lifecycle.rule.find((r: any) => r.id === 'archive-older-data').transition).toEqual([{ days: 30, storage_class: 'GLACIER_IR' }]);
    const [logPolicy] = forBucket(json, 'aws_s3_bucket_policy', logs);
    expect(policyStatements(json, logPolicy.policy).map((s) => s.sid)).not.toContain('DenyStorageClassesButStandard');
  });

  test('server access logs go to a separate, hardened, unlocked log bucket that only S3 logging may write to', () => {
    // WHEN
    const { json, primary, logs } = synthesizedVault({ accessLogRetentionDays: 90 });
    // THEN
    const [logging] = forBucket(json, 'aws_s3_bucket_logging', primary);
    expect(logging).toMatchObject({ target_bucket: `\${aws_s3_bucket.${logs}.id}`, target_prefix: 'primary/' });
    expect(forBucket(json, 'aws_s3_bucket_logging', logs)).toHaveLength(0);
    expect(resourcesOf(json, 'aws_s3_bucket')[logs].object_lock_enabled).toBeUndefined();
    // SSE-S3: S3 server access log delivery is documented for SSE-S3 destinations only.
    expect(forBucket(json, 'aws_s3_bucket_server_side_encryption_configuration', logs)[0].rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } },
    ]);
    const statements = policyStatements(json, forBucket(json, 'aws_s3_bucket_policy', logs)[0].policy);
    expect(statement(statements, 'DenyInsecureTransport').effect).toBe('Deny');
    expect(statement(statements, 'S3ServerAccessLogDelivery')).toEqual({
      sid: 'S3ServerAccessLogDelivery',
      effect: 'Allow',
      actions: ['s3:PutObject'],
      resources: [`\${aws_s3_bucket.${logs}.arn}/*`],
      principals: [{ type: 'Service', identifiers: ['logging.s3.amazonaws.com'] }],
      condition: [
        { test: 'StringEquals', variable: 'aws:SourceAccount', values: [expect.stringContaining('aws_kms_key.vault_key_')] },
        { test: 'ArnEquals', variable: 'aws:SourceArn', values: [`\${aws_s3_bucket.${primary}.arn}`] },
      ],
    });
    const [lifecycle] = forBucket(json, 'aws_s3_bucket_lifecycle_configuration', logs);
    expect(lifecycle.rule[1]).toMatchObject({ expiration: [{ days: 90 }], noncurrent_version_expiration: [{ noncurrent_days: 30 }] });
  });

  test('the lifecycle aborts incomplete multipart uploads and expires noncurrent versions in step with the retention', () => {
    // WHEN
    const { synthesized } = synthesizedVault({ retention: Retention.gfs({ daily: 14, weekly: 8 }) });
    // THEN
    expect(synthesized).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: [
        {
          id: 'abort-incomplete-multipart-uploads',
          status: 'Enabled',
          filter: [{}],
          abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
        },
        {
          id: 'expire-noncurrent-versions',
          status: 'Enabled',
          filter: [{}],
          // 8 weeks: the retention horizon.
          noncurrent_version_expiration: [{ noncurrent_days: 56 }],
          expiration: [{ expired_object_delete_marker: true }],
        },
      ],
    });
  });

  test('noncurrent versions are kept at least 7 days, and as long as asked', () => {
    // GIVEN
    const short = awsStack();
    const custom = awsStack();
    // WHEN
    const a = new BackupBucket(short, 'vault', { retention: Retention.keepLast(3) });
    const b = new BackupBucket(custom, 'vault', { noncurrentVersionDays: 90 });
    // THEN
    expect(a.noncurrentVersionDays).toBe(7);
    expect(b.noncurrentVersionDays).toBe(90);
    expect(new BackupBucket(awsStack(), 'vault').noncurrentVersionDays).toBe(Retention.standard().horizonDays);
  });

  test('an archive tier transitions older current and noncurrent data to Glacier Instant Retrieval', () => {
    // WHEN
    const { json, primary } = synthesizedVault({ archive: ArchiveTier.glacierInstantRetrieval(30) });
    // THEN
    const [lifecycle] = forBucket(json, 'aws_s3_bucket_lifecycle_configuration', primary);
    expect(lifecycle.rule[2]).toEqual({
      id: 'archive-older-data',
      status: 'Enabled',
      filter: [{}],
      transition: [{ days: 30, storage_class: 'GLACIER_IR' }],
      noncurrent_version_transition: [{ noncurrent_days: 30, storage_class: 'GLACIER_IR' }],
    });
  });

  test('no archive rule unless asked', () => {
    const { json, primary } = synthesizedVault();
    const [lifecycle] = forBucket(json, 'aws_s3_bucket_lifecycle_configuration', primary);
    expect(lifecycle.rule.map((r: any) => r.id)).toEqual(['abort-incomplete-multipart-uploads', 'expire-noncurrent-versions']);
  });

  test('optional Object Lock on the primary bucket', () => {
    // WHEN
    const { vault, synthesized, json } = synthesizedVault({ retention: Retention.gfs({ daily: 7 }), objectLock: ObjectLock.compliance(10) });
    // THEN
    expect(synthesized).toHaveResourceWithProperties(S3Bucket, { object_lock_enabled: true });
    expect(json.resource.aws_s3_bucket_object_lock_configuration).toBeDefined();
    expect(Object.values<any>(json.resource.aws_s3_bucket_object_lock_configuration)[0].rule).toEqual({
      default_retention: { mode: 'COMPLIANCE', days: 10 },
    });
    expect(vault.objectLock?.days).toBe(10);
  });

  test('buckets and keys are protected from terraform destroy by default, and can opt out', () => {
    // GIVEN
    const protectedStack = awsStack();
    const openStack = awsStack();
    // WHEN
    new BackupBucket(protectedStack, 'vault');
    new BackupBucket(openStack, 'vault', { protectFromDestroy: false });
    // THEN
    for (const type of ['aws_s3_bucket', 'aws_kms_key']) {
      for (const r of Object.values<any>(resourcesOf(synthJson(protectedStack), type))) {
        expect(r.lifecycle).toEqual({ prevent_destroy: true });
      }
      for (const r of Object.values<any>(resourcesOf(synthJson(openStack), type))) {
        expect(r.lifecycle).toBeUndefined();
      }
    }
  });

  test('a unique name from the construct id, or the exact name given', () => {
    // GIVEN
    const stack = awsStack();
    // WHEN
    new BackupBucket(stack, 'Vault_01');
    new BackupBucket(stack, 'named', { bucketName: 'acme-backups-eu' });
    const json = synthJson(stack);
    // THEN
    const buckets = Object.values<any>(resourcesOf(json, 'aws_s3_bucket'));
    expect(buckets.map((b) => b.bucket_prefix).filter(Boolean)).toEqual(
      expect.arrayContaining(['vault-01-backup-', 'vault-01-logs-', 'named-logs-']),
    );
    expect(buckets.filter((b) => b.bucket === 'acme-backups-eu')).toHaveLength(1);
    for (const b of buckets) {
      expect((b.bucket_prefix ?? '').length).toBeLessThanOrEqual(37);
    }
  });

  test('takes the region from the stack\'s default provider, or from props matching a given provider', () => {
    // GIVEN
    const stack = awsStack('us-east-2');
    const other = new AwsProvider(stack, 'aws-west', { region: 'us-west-2', alias: 'west' });
    // WHEN
    const a = new BackupBucket(stack, 'a');
    const b = new BackupBucket(stack, 'b', { provider: other });
    const c = new BackupBucket(stack, 'c', { provider: other, region: 'us-west-2' });
    // THEN
    expect([a.region, b.region, c.region]).toEqual(['us-east-2', 'us-west-2', 'us-west-2']);
    const json = synthJson(stack);
    expect(resourceNamed(json, 'aws_s3_bucket', 'b_primary').provider).toBe('aws.west');
  });

  describe('refuses at synth time', () => {
    test('a stack whose provider region is not a literal, without `region`', () => {
      // GIVEN
      const app = Testing.app();
      const stack = new TerraformStack(app, 'storage');
      new AwsProvider(stack, 'aws', {});
      // WHEN / THEN
      expect(() => new BackupBucket(stack, 'vault')).toThrow(
        "storage/vault: the bucket's region is unknown: the stack has no default AwsProvider with a literal `region`, and no `region` was given. Fix: pass `region: \"eu-west-1\"`",
      );
    });

    test('a region that differs from the provider\'s', () => {
      expect(() => new BackupBucket(awsStack('eu-west-1'), 'vault', { region: 'eu-west-2' })).toThrow(
        'storage/vault: the region "eu-west-2" differs from the region "eu-west-1" of the AWS provider',
      );
    });

    test('a malformed region', () => {
      expect(() => new BackupBucket(awsStack('eu-west-1'), 'vault', { region: 'Frankfurt' })).toThrow(
        'storage/vault: "Frankfurt" is not an AWS region name. Fix: pass a region such as "eu-west-1"',
      );
    });

    test('an Object Lock shorter than the retention horizon', () => {
      expect(
        () => new BackupBucket(awsStack(), 'vault', { retention: Retention.standard(), objectLock: ObjectLock.governance(30) }),
      ).toThrow(
        'storage/vault: Object Lock keeps objects for 30 days, shorter than the backup retention horizon of 372 days, so the oldest snapshots the retention keeps would no longer be immutable. Fix: lock for at least 372 days, e.g. ObjectLock.governance(372)',
      );
    });

    test('the fix of a lock too short keeps the mode chosen (issue 22: never suggests a lock the pack does not count)', () => {
      const tooShort = (objectLock: ObjectLock) => () => new BackupBucket(awsStack(), 'vault', { objectLock });
      expect(tooShort(ObjectLock.compliance(30))).toThrow('Fix: lock for at least 372 days, e.g. ObjectLock.compliance(372), or shorten');
      expect(tooShort(ObjectLock.governance(30, { breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/glass' }))).toThrow(
        'Fix: lock for at least 372 days, e.g. ObjectLock.governance(372, { breakGlassPrincipalArn }), or shorten',
      );
    });

    test('an invalid bucket name', () => {
      expect(() => new BackupBucket(awsStack(), 'vault', { bucketName: 'My_Backups' })).toThrow(
        'storage/vault: "My_Backups" is not a valid S3 bucket name (3 to 63 lowercase letters, digits, \'.\' and \'-\', starting and ending with a letter or digit). Fix: rename it, e.g. "my-backups"',
      );
    });

    test('out-of-range day counts', () => {
      expect(() => new BackupBucket(awsStack(), 'vault', { noncurrentVersionDays: 0 })).toThrow(
        'storage/vault: noncurrentVersionDays must be a whole number from 1 to 36500, got 0',
      );
      expect(() => new BackupBucket(awsStack(), 'vault', { accessLogRetentionDays: 1.5 })).toThrow(
        'accessLogRetentionDays must be a whole number from 1 to 36500, got 1.5',
      );
      expect(() => ObjectLock.governance(0)).toThrow('ObjectLock.governance: days must be a whole number from 1 to 36500, got 0');
      expect(() => ObjectLock.compliance(36501)).toThrow('ObjectLock.compliance: days must be a whole number');
      expect(() => ArchiveTier.glacierInstantRetrieval(0)).toThrow(
        'ArchiveTier.glacierInstantRetrieval: afterDays must be a whole number from 1 to 36500, got 0',
      );
    });
  });

  describe('refuses at synth what would take the upload bounds out of the bucket policy', () => {
    test('a second aws_s3_bucket_policy of the bucket (S3 keeps one: the last apply would replace the library\'s)', () => {
      // GIVEN
      const stack = awsStack();
      const vault = new BackupBucket(stack, 'vault');
      // WHEN
      new S3BucketPolicy(stack, 'mine', { bucket: vault.bucketName, policy: '{"Version":"2012-10-17","Statement":[]}' });
      // THEN
      expect(() => Testing.fullSynth(stack)).toThrow(
        'storage/vault: another aws_s3_bucket_policy (storage/mine) sets the policy of this bucket; S3 keeps one policy per bucket, so whichever applies last replaces the other, and with the library\'s policy go the Denies that keep uploads to S3 Standard with the bucket\'s own encryption (and TLS-only access). Fix: remove it, and grant what it granted through identity policies (IAM users and roles)',
      );
    });

    test('a second policy from another stack, naming the bucket by reference or by its exact name', () => {
      for (const byName of [false, true]) {
        // GIVEN
        const stack = awsStack();
        const vault = new BackupBucket(stack, 'vault', { bucketName: 'acme-vault' });
        const other = new TerraformStack(stack.node.root, 'other');
        new AwsProvider(other, 'aws', { region: 'eu-west-1' });
        // WHEN
        new S3BucketPolicy(other, 'mine', { bucket: byName ? 'acme-vault' : vault.bucketName, policy: '{}' });
        // THEN
        expect(() => Testing.fullSynth(stack)).toThrow('another aws_s3_bucket_policy (other/mine) sets the policy of this bucket');
      }
    });

    test('an escape-hatch override of the library\'s policy, or the bucket\'s own policy argument', () => {
      const changed = 'the bucket policy the library writes was changed (an override, a replaced policy or statement list, or the bucket\'s own policy argument)';
      for (const change of [
        (p: any) => p.policy.addOverride('policy', '{}'),
        (p: any) => p.policyDocument.addOverride('statement', []),
        (p: any) => p.bucket.addOverride('policy', '{}'),
      ]) {
        // GIVEN
        const stack = awsStack();
        const vault = new BackupBucket(stack, 'vault');
        // WHEN
        change(vault.node.findChild('primary'));
        // THEN
        expect(() => Testing.fullSynth(stack)).toThrow(`storage/vault: ${changed}`);
      }
    });

    test('a statement list without the bounds names the missing ones', () => {
      // GIVEN
      const stack = awsStack();
      const vault = new BackupBucket(stack, 'vault');
      const primary = vault.node.findChild('primary') as any;
      // WHEN
      primary.policyDocument.putStatement(primary.policyDocument.statementInput.slice(0, 1));
      // THEN
      expect(() => Testing.fullSynth(stack)).toThrow(
        /and it no longer holds DenyStorageClassesButStandard, DenyCustomerProvidedKeys, DenyPerRequestEncryption, DenyPerRequestKmsKey; .* Fix: remove the override/,
      );
    });

    test('nothing: the library\'s own bucket synthesizes', () => {
      const stack = awsStack();
      new BackupBucket(stack, 'vault', { objectLock: ObjectLock.governance(400, { breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/glass' }) });
      expect(() => Testing.fullSynth(stack)).not.toThrow();
    });
  });

  test('fromAttributes references an existing bucket without creating resources', () => {
    // GIVEN
    const stack = awsStack();
    // WHEN
    const bucket = BackupBucket.fromAttributes(stack, 'existing', {
      bucketName: 'acme-backups',
      region: 'eu-west-1',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/abc',
    });
    // THEN
    expect(bucket.bucketArn).toBe('arn:aws:s3:::acme-backups');
    expect(bucket.region).toBe('eu-west-1');
    expect(resourcesOf(synthJson(stack), 'aws_s3_bucket')).toEqual({});
    expect(() => BackupBucket.fromAttributes(stack, 'bad', { bucketName: 'x-backups', region: 'mars-1' })).toThrow(
      '"mars-1" is not an AWS region name',
    );
  });
});

describe('AccountPublicAccessBlock', () => {
  test('turns on all four account-level public access blocks (Security Hub S3.1)', () => {
    // GIVEN
    const stack = awsStack();
    // WHEN
    new AccountPublicAccessBlock(stack, 'account');
    // THEN
    expect(Testing.synth(stack)).toHaveResourceWithProperties(S3AccountPublicAccessBlock, {
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
  });
});

