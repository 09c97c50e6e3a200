import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3BucketReplicationConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-replication-configuration';
import { S3BucketObjectLockConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration';
import { Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { ArchiveTier, BackupBucket, ObjectLock, ObjectLockMode, OffsiteReplica, Retention } from '../../src';
import { UPLOAD_BOUND_SIDS } from '../../src/aws/upload-bounds';
import { awsStack, forBucket, policyStatements, resourceNamed, resourcesOf, serviceTrust, statement, synthJson } from './helpers';

Testing.setupJest();

function withReplica(options: Parameters<typeof OffsiteReplica.inRegion>[1] = {}, retention = Retention.gfs({ daily: 7, weekly: 4 })) {
  const stack = awsStack('eu-west-1');
  const vault = new BackupBucket(stack, 'vault', { retention, offsite: OffsiteReplica.inRegion('eu-central-1', options) });
  const synthesized = Testing.synth(stack);
  const json = JSON.parse(synthesized);
  const ids = Object.keys(resourcesOf(json, 'aws_s3_bucket'));
  return {
    stack,
    vault,
    synthesized,
    json,
    primary: ids.find((id) => id.includes('primary'))!,
    replica: ids.find((id) => id.includes('offsite_replica'))!,
    replicaLogs: ids.find((id) => id.includes('offsite_access-logs'))!,
  };
}

describe('OffsiteReplica', () => {
  test('a replica bucket with Object Lock in the offsite region, through its own provider alias', () => {
    // WHEN
    const { json, synthesized, replica, vault } = withReplica({ objectLock: ObjectLock.compliance(60) });
    // THEN
    expect(json.provider.aws).toContainEqual({ alias: 'offsite-eu-central-1', region: 'eu-central-1' });
    const bucket = resourcesOf(json, 'aws_s3_bucket')[replica];
    expect(bucket).toMatchObject({ object_lock_enabled: true, provider: 'aws.offsite-eu-central-1' });
    expect(synthesized).toHaveResourceWithProperties(S3BucketObjectLockConfigurationA, {
      bucket: `\${aws_s3_bucket.${replica}.id}`,
      rule: { default_retention: { mode: 'COMPLIANCE', days: 60 } },
    });
    expect(forBucket(json, 'aws_s3_bucket_versioning', replica)[0].versioning_configuration).toEqual({ status: 'Enabled' });
    expect(vault.offsite?.objectLock.mode).toBe(ObjectLockMode.COMPLIANCE);
  });

  test('the lock defaults to compliance mode for the retention horizon (the mode that holds against everyone)', () => {
    // WHEN
    const { vault } = withReplica({}, Retention.gfs({ daily: 7, weekly: 4, monthly: 3 }));
    // THEN
    expect(vault.offsite?.objectLock.mode).toBe(ObjectLockMode.COMPLIANCE);
    expect(vault.offsite?.objectLock.days).toBe(93);
  });

  test('governance mode with a break-glass principal: the replica policy denies the bypass, version deletes and retention changes to everyone else', () => {
    // GIVEN
    const breakGlass = 'arn:aws:iam::111122223333:role/backup-break-glass';
    // WHEN
    const { json, replica, primary } = withReplica({ objectLock: ObjectLock.governance(60, { breakGlassPrincipalArn: breakGlass }) });
    // THEN
    const policy = forBucket(json, 'aws_s3_bucket_policy', replica)[0];
    expect(statement(policyStatements(json, policy.policy), 'OnlyBreakGlassLiftsTheLock')).toEqual({
      sid: 'OnlyBreakGlassLiftsTheLock',
      effect: 'Deny',
      actions: ['s3:BypassGovernanceRetention', 's3:DeleteObjectVersion', 's3:PutObjectRetention'],
      resources: [`\${aws_s3_bucket.${replica}.arn}/*`],
      principals: [{ type: '*', identifiers: ['*'] }],
      condition: [{ test: 'ArnNotEquals', variable: 'aws:PrincipalArn', values: [breakGlass] }],
    });
    // Only the locked bucket gets it (the primary has TLS-only and its upload bounds).
    const primaryPolicy = forBucket(json, 'aws_s3_bucket_policy', primary)[0];
    expect(policyStatements(json, primaryPolicy.policy).map((s) => s.sid)).toEqual(['DenyInsecureTransport', ...UPLOAD_BOUND_SIDS]);
  });

  test('governance mode without a break-glass principal writes no such policy', () => {
    const { json, replica } = withReplica({ objectLock: ObjectLock.governance(60) });
    const policy = forBucket(json, 'aws_s3_bucket_policy', replica)[0];
    expect(policyStatements(json, policy.policy).map((s) => s.sid)).toEqual(['DenyInsecureTransport']);
  });

  test('a break-glass principal must be one role or user ARN', () => {
    expect(() => ObjectLock.governance(30, { breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/*' })).toThrow(
      'ObjectLock.governance(30, { breakGlassPrincipalArn }): breakGlassPrincipalArn must be the ARN of one IAM role or user',
    );
    expect(() => ObjectLock.governance(30, { breakGlassPrincipalArn: 'arn:aws:iam::111122223333:root' })).toThrow('Fix: name the one role');
    expect(ObjectLock.governance(30, { breakGlassPrincipalArn: 'arn:aws:iam::111122223333:user/ops/break-glass' }).breakGlassPrincipalArn).toBeDefined();
  });

  test('the replica has its own rotating KMS key in the offsite region and SSE-KMS with bucket keys', () => {
    // WHEN
    const { json, replica } = withReplica();
    // THEN
    const key = resourceNamed(json, 'aws_kms_key', 'offsite_key');
    expect(key).toMatchObject({ enable_key_rotation: true, provider: 'aws.offsite-eu-central-1' });
    const keyId = Object.entries(resourcesOf(json, 'aws_kms_key')).find(([, k]) => k === key)![0];
    expect(forBucket(json, 'aws_s3_bucket_server_side_encryption_configuration', replica)[0].rule).toEqual([
      {
        apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: `\${aws_kms_key.${keyId}.arn}` },
        bucket_key_enabled: true,
      },
    ]);
    expect(resourceNamed(json, 'aws_kms_key_policy', 'offsite_key').provider).toBe('aws.offsite-eu-central-1');
  });

  test('the replica logs to a log bucket of its own region, and is otherwise hardened like the primary', () => {
    // WHEN
    const { json, replica, replicaLogs } = withReplica();
    // THEN
    expect(forBucket(json, 'aws_s3_bucket_logging', replica)[0]).toMatchObject({
      target_bucket: `\${aws_s3_bucket.${replicaLogs}.id}`,
      target_prefix: 'replica/',
      provider: 'aws.offsite-eu-central-1',
    });
    expect(resourcesOf(json, 'aws_s3_bucket')[replicaLogs].provider).toBe('aws.offsite-eu-central-1');
    expect(forBucket(json, 'aws_s3_bucket_public_access_block', replica)).toHaveLength(1);
    const policy = policyStatements(json, forBucket(json, 'aws_s3_bucket_policy', replica)[0].policy);
    expect(statement(policy, 'DenyInsecureTransport').effect).toBe('Deny');
    const lifecycle = forBucket(json, 'aws_s3_bucket_lifecycle_configuration', replica)[0];
    expect(lifecycle.rule[0].abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 7 }]);
    // Noncurrent versions outlive their lock, never less.
    expect(lifecycle.rule[1].noncurrent_version_expiration).toEqual([{ noncurrent_days: 28 }]);
  });

  test('replication from the primary: delete markers not replicated, KMS objects re-encrypted with the replica key, in S3 Standard, metrics on', () => {
    // WHEN
    const { synthesized, json, primary, replica } = withReplica();
    // THEN
    const replicaKey = Object.keys(resourcesOf(json, 'aws_kms_key')).find((id) => id.includes('offsite_key'))!;
    expect(synthesized).toHaveResourceWithProperties(S3BucketReplicationConfigurationA, {
      bucket: `\${aws_s3_bucket.${primary}.id}`,
      rule: [
        {
          id: 'offsite-copy',
          status: 'Enabled',
          priority: 1,
          filter: {},
          delete_marker_replication: { status: 'Disabled' },
          source_selection_criteria: { sse_kms_encrypted_objects: { status: 'Enabled' } },
          destination: {
            bucket: `\${aws_s3_bucket.${replica}.arn}`,
            // the replica's class is S3 Standard, whatever class an upload to the primary had
            storage_class: 'STANDARD',
            encryption_configuration: { replica_kms_key_id: `\${aws_kms_key.${replicaKey}.arn}` },
            metrics: { status: 'Enabled' },
          },
        },
      ],
    });
    const replication = Object.values<any>(resourcesOf(json, 'aws_s3_bucket_replication_configuration'))[0];
    expect(replication.rule[0].destination.replication_time).toBeUndefined();
    expect(replication.provider).toBe('aws'); // the primary region's (default) provider
    expect(replication.depends_on).toEqual(
      expect.arrayContaining([expect.stringContaining('aws_s3_bucket_versioning.vault_primary'), expect.stringContaining('aws_s3_bucket_object_lock_configuration')]),
    );
  });

  test('replication time control is optional', () => {
    // WHEN
    const { json } = withReplica({ replicationTimeControl: true });
    // THEN
    const destination = Object.values<any>(resourcesOf(json, 'aws_s3_bucket_replication_configuration'))[0].rule[0].destination;
    expect(destination.replication_time).toEqual({ status: 'Enabled', time: { minutes: 15 } });
    expect(destination.metrics).toEqual({ status: 'Enabled', event_threshold: { minutes: 15 } });
  });

  test('the replication role is assumable by S3 only and scoped to exactly these buckets and keys', () => {
    // WHEN
    const { json, primary, replica } = withReplica();
    // THEN
    const role = Object.values<any>(resourcesOf(json, 'aws_iam_role')).find((r) => r.name_prefix === 'backup-replication-');
    expect(policyStatements(json, role.assume_role_policy)).toEqual([serviceTrust('S3AssumesReplicationRole', 's3.amazonaws.com')]);
    const keys = Object.keys(resourcesOf(json, 'aws_kms_key'));
    const primaryKey = `\${aws_kms_key.${keys.find((k) => k.includes('vault_key'))}.arn}`;
    const replicaKey = `\${aws_kms_key.${keys.find((k) => k.includes('offsite_key'))}.arn}`;
    const p = `\${aws_s3_bucket.${primary}.arn}`;
    const r = `\${aws_s3_bucket.${replica}.arn}`;
    const statements = policyStatements(json, Object.values<any>(resourcesOf(json, 'aws_iam_role_policy'))[0].policy);
    expect(statements.map((s) => [s.sid, s.resources])).toEqual([
      ['ReadReplicationConfiguration', [p]],
      ['ReadSourceVersions', [`${p}/*`]],
      ['WriteReplicas', [`${r}/*`]],
      ['DecryptSourceThroughS3', [primaryKey]],
      ['EncryptReplicasThroughS3', [replicaKey]],
    ]);
    // Never replicates deletions.
    expect(statement(statements, 'WriteReplicas').actions).toEqual(['s3:ReplicateObject', 's3:ReplicateTags']);
    expect(statement(statements, 'DecryptSourceThroughS3').condition).toContainEqual({
      test: 'StringEquals',
      variable: 'kms:ViaService',
      values: ['s3.eu-west-1.amazonaws.com'],
    });
    expect(statement(statements, 'EncryptReplicasThroughS3').condition).toContainEqual({
      test: 'StringEquals',
      variable: 'kms:ViaService',
      values: ['s3.eu-central-1.amazonaws.com'],
    });
  });

  test('an archive tier on the replica', () => {
    // WHEN
    const { json, replica, vault } = withReplica({ archive: ArchiveTier.glacierInstantRetrieval(14) });
    // THEN
    const lifecycle = forBucket(json, 'aws_s3_bucket_lifecycle_configuration', replica)[0];
    expect(lifecycle.rule[2].transition).toEqual([{ days: 14, storage_class: 'GLACIER_IR' }]);
    expect(vault.offsiteCopy?.archived).toBe(true);
  });

  test('an offsite provider given by the user is used, and two buckets share one created alias', () => {
    // GIVEN
    const stack = awsStack('eu-west-1');
    const mine = new AwsProvider(stack, 'frankfurt', { region: 'eu-central-1', alias: 'frankfurt' });
    // WHEN
    new BackupBucket(stack, 'a', { offsite: OffsiteReplica.inRegion('eu-central-1', { provider: mine }) });
    new BackupBucket(stack, 'b', { offsite: OffsiteReplica.inRegion('eu-north-1') });
    new BackupBucket(stack, 'c', { offsite: OffsiteReplica.inRegion('eu-north-1') });
    const json = synthJson(stack);
    // THEN
    expect(resourceNamed(json, 'aws_s3_bucket', 'a_offsite_replica').provider).toBe('aws.frankfurt');
    expect(json.provider.aws.filter((p: any) => p.alias === 'offsite-eu-north-1')).toHaveLength(1);
    expect(resourceNamed(json, 'aws_s3_bucket', 'c_offsite_replica').provider).toBe('aws.offsite-eu-north-1');
  });

  describe('refuses at synth time', () => {
    test('a replica in the primary\'s region', () => {
      expect(() => new BackupBucket(awsStack('eu-west-1'), 'vault', { offsite: OffsiteReplica.inRegion('eu-west-1') })).toThrow(
        'storage/vault: the offsite replica is in "eu-west-1", the same region as the primary bucket, so one regional outage or disaster takes both copies. Fix: pick another region',
      );
    });

    test('a replica lock shorter than the retention horizon', () => {
      expect(
        () =>
          new BackupBucket(awsStack(), 'vault', {
            retention: Retention.standard(),
            offsite: OffsiteReplica.inRegion('eu-central-1', { objectLock: ObjectLock.governance(30) }),
          }),
      ).toThrow(
        'storage/vault (offsite replica): Object Lock keeps objects for 30 days, shorter than the backup retention horizon of 372 days',
      );
    });

    test('a malformed offsite region', () => {
      expect(() => OffsiteReplica.inRegion('frankfurt')).toThrow(
        'OffsiteReplica.inRegion("frankfurt"): "frankfurt" is not an AWS region name',
      );
    });

    test('a user provider whose region is not the replica region', () => {
      const stack = awsStack('eu-west-1');
      const wrong = new AwsProvider(stack, 'wrong', { region: 'us-east-1', alias: 'wrong' });
      expect(() => new BackupBucket(stack, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1', { provider: wrong }) })).toThrow(
        'the region "eu-central-1" differs from the region "us-east-1" of the AWS provider',
      );
    });
  });
});
