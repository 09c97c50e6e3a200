import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { AgentCredentials, AgentIdentity, BackupBucket, OffsiteReplica } from '../../src';
import { awsStack, policyStatements, resourcesOf, statement } from './helpers';

Testing.setupJest();

function credentials(identity?: AgentIdentity, containerNames = ['db']) {
  const stack = awsStack('eu-west-1');
  const vault = new BackupBucket(stack, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1') });
  const agent = new AgentCredentials(stack, 'agent', { bucket: vault, containerNames, identity });
  const synthesized = Testing.synth(stack);
  const json = JSON.parse(synthesized);
  const buckets = Object.keys(resourcesOf(json, 'aws_s3_bucket'));
  const keys = Object.keys(resourcesOf(json, 'aws_kms_key'));
  const policy = Object.values<any>(resourcesOf(json, identity === AgentIdentity.INSTANCE_PROFILE ? 'aws_iam_role_policy' : 'aws_iam_user_policy')).find(
    (p) => p.name === 'backup-agent',
  );
  return {
    agent,
    synthesized,
    json,
    statements: policyStatements(json, policy.policy),
    primary: `\${aws_s3_bucket.${buckets.find((id) => id.includes('primary'))}.arn}`,
    replica: `\${aws_s3_bucket.${buckets.find((id) => id.includes('offsite_replica'))}.arn}`,
    primaryKey: `\${aws_kms_key.${keys.find((id) => id.includes('vault_key'))}.arn}`,
    replicaKey: `\${aws_kms_key.${keys.find((id) => id.includes('offsite_key'))}.arn}`,
  };
}

describe('AgentCredentials', () => {
  test('hosts outside AWS get an IAM user and an access key whose secret stays a sensitive attribute', () => {
    // WHEN
    const { synthesized, agent } = credentials();
    // THEN
    expect(synthesized).toHaveResourceWithProperties(IamUser, { path: '/cdktf-container-backup/' });
    expect(synthesized).toHaveResource(IamAccessKey);
    expect(agent.secretAccessKey).toMatch(/^\$\{TfToken\[/);
    expect(agent.role).toBeUndefined();
  });

  test('hosts on EC2 get a role with an instance profile, and no access key', () => {
    // WHEN
    const { json, synthesized, agent } = credentials(AgentIdentity.INSTANCE_PROFILE);
    // THEN
    expect(synthesized).toHaveResourceWithProperties(IamInstanceProfile, { path: '/cdktf-container-backup/' });
    expect(resourcesOf(json, 'aws_iam_access_key')).toEqual({});
    expect(resourcesOf(json, 'aws_iam_user')).toEqual({});
    const role = Object.values<any>(resourcesOf(json, 'aws_iam_role')).find((r) => r.path === '/cdktf-container-backup/');
    expect(policyStatements(json, role.assume_role_policy)).toEqual([
      {
        sid: 'Ec2AssumesAgentRole',
        effect: 'Allow',
        actions: ['sts:AssumeRole'],
        principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }],
      },
    ]);
    expect(agent.accessKeyId).toBeUndefined();
  });

  test('on the bucket: list, get and put within the container prefixes only', () => {
    // WHEN
    const { statements, primary } = credentials(undefined, ['db', 'wiki']);
    // THEN
    expect(statement(statements, 'ListRepositoryPrefixes')).toEqual({
      sid: 'ListRepositoryPrefixes',
      effect: 'Allow',
      actions: ['s3:ListBucket'],
      resources: [primary],
      condition: [{ test: 'StringLike', variable: 's3:prefix', values: ['db/*', 'wiki/*'] }],
    });
    expect(statement(statements, 'ReadWriteRepositories')).toMatchObject({
      actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      resources: [`${primary}/db/*`, `${primary}/wiki/*`],
    });
    expect(statement(statements, 'LocateBucket')).toMatchObject({ actions: ['s3:GetBucketLocation'], resources: [primary] });
  });

  test('delete only where restic\'s locks and prune delete, never object versions, never config or keys', () => {
    // WHEN
    const { statements, primary } = credentials();
    // THEN
    expect(statement(statements, 'DeleteWhereLocksAndPruneNeed')).toMatchObject({
      actions: ['s3:DeleteObject'],
      resources: [`${primary}/db/data/*`, `${primary}/db/index/*`, `${primary}/db/locks/*`, `${primary}/db/snapshots/*`],
    });
    const actions = statements.flatMap((s) => s.actions);
    expect(actions).not.toContain('s3:DeleteObjectVersion');
    expect(actions).not.toContain('s3:PutBucketPolicy');
    expect(actions).not.toContain('s3:PutLifecycleConfiguration');
    expect(actions.filter((a) => a === 's3:DeleteObject')).toHaveLength(1);
  });

  test('the bucket key is used only through S3 in the bucket\'s region', () => {
    // WHEN
    const { statements, primaryKey } = credentials();
    // THEN
    expect(statement(statements, 'UseBucketKeyThroughS3')).toMatchObject({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [primaryKey],
      condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: ['s3.eu-west-1.amazonaws.com'] }],
    });
  });

  test('nothing on the replica but read: list, get, locate, decrypt through S3', () => {
    // WHEN
    const { statements, replica, replicaKey } = credentials();
    // THEN
    const onReplica = statements.filter((s) => s.resources.some((r: string) => r.startsWith(replica) || r === replicaKey));
    expect(onReplica.map((s) => [s.sid, s.actions, s.resources])).toEqual([
      ['ListReplicaPrefixes', ['s3:ListBucket'], [replica]],
      ['LocateReplica', ['s3:GetBucketLocation'], [replica]],
      ['ReadReplicaRepositories', ['s3:GetObject'], [`${replica}/db/*`]],
      ['DecryptReplicaThroughS3', ['kms:Decrypt'], [replicaKey]],
    ]);
    expect(statement(statements, 'DecryptReplicaThroughS3').condition).toEqual([
      { test: 'StringEquals', variable: 'kms:ViaService', values: ['s3.eu-central-1.amazonaws.com'] },
    ]);
  });

  test('forContainer creates one user per container in the bucket\'s stack, and reuses it', () => {
    // GIVEN
    const stack = awsStack();
    const vault = new BackupBucket(stack, 'vault');
    // WHEN
    const a = AgentCredentials.forContainer(vault, 'db');
    const b = AgentCredentials.forContainer(vault, 'db');
    const c = AgentCredentials.forContainer(vault, 'wiki');
    // THEN
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(a.prefixes).toEqual(['db']);
    expect(a.covers('db')).toBe(true);
    expect(a.covers('wiki')).toBe(false);
    expect(Object.keys(resourcesOf(JSON.parse(Testing.synth(stack)), 'aws_iam_user'))).toHaveLength(2);
  });

  test('refuses prefixes that would widen the grant', () => {
    const stack = awsStack();
    const vault = new BackupBucket(stack, 'vault');
    expect(() => new AgentCredentials(stack, 'a', { bucket: vault, containerNames: ['db/*'] })).toThrow(
      'storage/a: the repository prefix "db/*" is not a plain folder name',
    );
    expect(() => new AgentCredentials(stack, 'b', { bucket: vault, containerNames: ['../x'] })).toThrow('is not a plain folder name');
    expect(() => new AgentCredentials(stack, 'c', { bucket: vault, containerNames: [] })).toThrow(
      'storage/c: the agent credentials are scoped to the prefixes [] and do not cover "(none)"',
    );
  });
});
