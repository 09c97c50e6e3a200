import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { TerraformOutput, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { AgentCredentials, AgentIdentity, BackupBucket, OffsiteReplica } from '../../src';
import { UPLOAD_BOUND_SIDS } from '../../src/aws/upload-bounds';
import { synthesizeDefaultExample } from './default-example';
import { awsStack, policyStatements, referencedId, resourcesOf, serviceTrust, statement, userPolicy } from './helpers';

Testing.setupJest();

function credentials(identity?: AgentIdentity, containerNames = ['db']) {
  const stack = awsStack('eu-west-1');
  const vault = new BackupBucket(stack, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1') });
  const agent = new AgentCredentials(stack, 'agent', { bucket: vault, containerNames, identity });
  const synthesized = Testing.synth(stack);
  const json = JSON.parse(synthesized);
  const buckets = Object.keys(resourcesOf(json, 'aws_s3_bucket'));
  const keys = Object.keys(resourcesOf(json, 'aws_kms_key'));
  const policy = identity === AgentIdentity.INSTANCE_PROFILE
    ? Object.values<any>(resourcesOf(json, 'aws_iam_role_policy')).find((p) => p.name === 'backup-agent')
    : userPolicy(json, 'backup-agent');
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
    expect(policyStatements(json, role.assume_role_policy)).toEqual([serviceTrust('Ec2AssumesAgentRole', 'ec2.amazonaws.com')]);
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
    expect(statement(statements, 'ReadRepositories')).toMatchObject({
      actions: ['s3:GetObject'],
      resources: [`${primary}/db/*`, `${primary}/wiki/*`],
    });
    // Writes only where backup, forget, prune and locking write: never config or keys/.
    expect(statement(statements, 'WriteDataIndexSnapshotsLocks')).toMatchObject({
      actions: ['s3:AbortMultipartUpload', 's3:PutObject'],
      resources: ['db', 'wiki'].flatMap((p) => ['data', 'index', 'locks', 'snapshots'].map((f) => `${primary}/${p}/${f}/*`)),
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
    // One Allow, and the Deny on config and keys/.
    expect(statements.filter((s) => s.effect === 'Allow' && s.actions.includes('s3:DeleteObject'))).toHaveLength(1);
  });

  test('the agent is explicitly denied rewriting or deleting config and keys/, whatever else grants it', () => {
    // WHEN
    const { statements, primary } = credentials(undefined, ['db', 'wiki']);
    // THEN
    expect(statement(statements, 'DenyRewritingConfigAndKeys')).toEqual({
      sid: 'DenyRewritingConfigAndKeys',
      effect: 'Deny',
      actions: ['s3:DeleteObject', 's3:PutObject'],
      resources: [`${primary}/db/config`, `${primary}/db/keys/*`, `${primary}/wiki/config`, `${primary}/wiki/keys/*`],
    });
    // No Allow reaches config or keys/ for writing.
    for (const s of statements.filter((x) => x.effect === 'Allow' && x.actions.some((a: string) => /Put|Delete/.test(a)))) {
      for (const r of s.resources) {
        expect(r).toMatch(/\/(data|index|locks|snapshots)\/\*$/);
      }
    }
  });

  test('the initializer may only list, and get and put config and keys/: what restic init calls, within 24 h of its key\'s creation', () => {
    // WHEN
    const { json, agent, primary, primaryKey } = credentials();
    // THEN
    expect(agent.initAccessKeyId).toMatch(/^\$\{TfToken\[/);
    expect(agent.initSecretAccessKey).toMatch(/^\$\{TfToken\[/);
    expect(agent.initUser).toBeDefined();
    const initKey = Object.keys(resourcesOf(json, 'aws_iam_access_key')).find((id) => id.includes('init-access-key'));
    const withinWindow = { test: 'DateLessThan', variable: 'aws:CurrentTime', values: [`\${timeadd(aws_iam_access_key.${initKey}.create_date, "24h")}`] };
    const policy = userPolicy(json, 'restic-init');
    expect(policyStatements(json, policy.policy)).toEqual([
      {
        sid: 'ListRepositoryPrefixes',
        effect: 'Allow',
        actions: ['s3:ListBucket'],
        resources: [primary],
        condition: [{ test: 'StringLike', variable: 's3:prefix', values: ['db/*'] }, withinWindow],
      },
      { sid: 'LocateBucket', effect: 'Allow', actions: ['s3:GetBucketLocation'], resources: [primary], condition: [withinWindow] },
      {
        sid: 'CreateConfigAndKeys',
        effect: 'Allow',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [`${primary}/db/config`, `${primary}/db/keys/*`],
        condition: [withinWindow],
      },
      {
        sid: 'UseBucketKeyThroughS3',
        effect: 'Allow',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [primaryKey],
        condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: ['s3.eu-west-1.amazonaws.com'] }, withinWindow],
      },
    ]);
    // Its own user: the agent's key never carries these rights, and this key never the agent's.
    const keyUsers = Object.values<any>(resourcesOf(json, 'aws_iam_access_key')).map((k) => k.user);
    expect(keyUsers).toHaveLength(2);
    expect(new Set(keyUsers).size).toBe(2);
  });

  test('the initializer key\'s window is a whole number of hours, and says how to renew the key', () => {
    // GIVEN
    const stack = awsStack('eu-west-1');
    const vault = new BackupBucket(stack, 'vault');
    // WHEN
    const agent = new AgentCredentials(stack, 'agent', { bucket: vault, containerNames: ['db'], initKeyValidityHours: 6 });
    new TerraformOutput(stack, 'expiry', { value: agent.initKeyExpiresAt });
    new TerraformOutput(stack, 'renewal', { value: agent.initKeyRenewal });
    const json = JSON.parse(Testing.synth(stack));
    // THEN the policy holds for 6 h after the key's creation, and the expiry is that expression
    const initKey = Object.keys(resourcesOf(json, 'aws_iam_access_key')).find((id) => id.includes('init-access-key'))!;
    const window = `\${timeadd(aws_iam_access_key.${initKey}.create_date, "6h")}`;
    const policy = userPolicy(json, 'restic-init');
    for (const s of policyStatements(json, policy.policy)) {
      expect(s.condition).toContainEqual({ test: 'DateLessThan', variable: 'aws:CurrentTime', values: [window] });
    }
    expect(agent.initKeyValidityHours).toBe(6);
    // (a local of the storage stack: another stack reads the time through one output)
    const local = /^\$\{local\.([^}]+)\}$/.exec(json.output.expiry.value)![1];
    expect(json.locals[local]).toBe(window);
    // AND the renewal names the key's address in its stack's folder
    expect(json.output.renewal.value).toBe(
      `terraform -chdir=cdktf.out/stacks/storage apply -replace=aws_iam_access_key.${initKey} (stack storage: a new key, valid for 6 h), then deploy the Docker host's stack again`,
    );
  });

  test('refuses an initializer window that is not a whole number of hours from 1 to 720', () => {
    for (const hours of [0, 1.5, 721]) {
      const stack = awsStack();
      const vault = new BackupBucket(stack, 'vault');
      expect(() => new AgentCredentials(stack, 'agent', { bucket: vault, containerNames: ['db'], initKeyValidityHours: hours })).toThrow(
        `storage/agent: initKeyValidityHours must be a whole number from 1 to 720, got ${hours}. Fix: pass initKeyValidityHours between 1 and 720`,
      );
    }
  });

  test('a BackupBucket bounds uploads in its own policy: the identities get no bounds policy of their own', () => {
    // WHEN
    const { json } = credentials();
    // THEN
    expect(Object.values<any>(resourcesOf(json, 'aws_iam_policy')).filter((p) => p.name_prefix === 'backup-upload-bounds-')).toEqual([]);
  });

  test.each([AgentIdentity.ACCESS_KEY, AgentIdentity.INSTANCE_PROFILE])(
    'a bucket made elsewhere: the %s identities carry the upload bounds themselves, in a managed policy',
    (identity) => {
      // GIVEN a bucket whose policy is not the library's
      const stack = awsStack('eu-west-1');
      const bucket = BackupBucket.fromAttributes(stack, 'existing', { bucketName: 'acme-backups', region: 'eu-west-1' });
      // WHEN
      new AgentCredentials(stack, 'agent', { bucket, containerNames: ['db', 'wiki'], identity });
      const json = JSON.parse(Testing.synth(stack));
      // THEN one managed policy with the bounds on the repositories' objects
      const boundsIds = Object.entries<any>(resourcesOf(json, 'aws_iam_policy')).filter(([, p]) => p.name_prefix !== undefined).map(([id]) => id);
      const policies = boundsIds.map((id) => resourcesOf(json, 'aws_iam_policy')[id]);
      expect(policies).toHaveLength(1);
      const bound = (a: any) => a.policy_arn === `\${aws_iam_policy.${boundsIds[0]}.arn}`;
      expect(policies[0]).toMatchObject({ name_prefix: 'backup-upload-bounds-', path: '/cdktf-container-backup/' });
      const bounds = policyStatements(json, policies[0].policy);
      expect(bounds.map((s) => s.sid)).toEqual(UPLOAD_BOUND_SIDS);
      for (const s of bounds) {
        expect(s).toMatchObject({ effect: 'Deny', actions: ['s3:PutObject'], resources: ['arn:aws:s3:::acme-backups/db/*', 'arn:aws:s3:::acme-backups/wiki/*'] });
        expect(s.principals).toBeUndefined();
        expect(s.condition[0]).toMatchObject({ test: 'Null', values: ['false'] });
      }
      // AND attached to every identity that writes: the agent (user or role) and the initializer
      const attached = [
        ...Object.values<any>(resourcesOf(json, 'aws_iam_user_policy_attachment')).filter(bound).map((a) => a.user),
        ...Object.values<any>(resourcesOf(json, 'aws_iam_role_policy_attachment')).filter(bound).map((a) => a.role),
      ];
      expect(attached).toHaveLength(identity === AgentIdentity.ACCESS_KEY ? 2 : 1);
    },
  );

  test('with an instance profile there is no initializer, and the role is denied config and keys/ too', () => {
    // WHEN
    const { json, statements, agent } = credentials(AgentIdentity.INSTANCE_PROFILE);
    // THEN
    expect(agent.initAccessKeyId).toBeUndefined();
    expect(resourcesOf(json, 'aws_iam_user')).toEqual({});
    expect(statement(statements, 'DenyRewritingConfigAndKeys').effect).toBe('Deny');
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
    // An agent user and a restic-init user per container.
    expect(Object.keys(resourcesOf(JSON.parse(Testing.synth(stack)), 'aws_iam_user'))).toHaveLength(4);
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

/** Whether an IAM action pattern (which may hold `*` and `?`) matches `action`; IAM compares case-insensitively. */
function grants(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(action);
}

/** What could delete a locked version, lift or change the lock, or unprotect the bucket (issue 11). */
const FORBIDDEN = [
  's3:DeleteObjectVersion',
  's3:BypassGovernanceRetention',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:PutBucketPolicy',
  's3:PutLifecycleConfiguration',
  's3:PutBucketVersioning',
  's3:PutReplicationConfiguration',
  's3:PutBucketObjectLockConfiguration',
];

describe('in the synthesized default example, no policy lets the agent or the initializer touch the lock', () => {
  const { storage, host } = synthesizeDefaultExample();
  const documents: Record<string, any> = storage.data.aws_iam_policy_document;
  const userPolicies = Object.values<any>(storage.resource.aws_iam_policy).filter((p) => /^(backup-agent|restic-init)-/.test(p.name));
  const documentOf = (p: any) => documents[referencedId(p.policy, 'data.aws_iam_policy_document')];

  test('the helper matches wildcards the way IAM does', () => {
    expect(grants('s3:*', 's3:PutBucketPolicy')).toBe(true);
    expect(grants('*', 's3:DeleteObjectVersion')).toBe(true);
    expect(grants('s3:Delete*', 's3:DeleteObjectVersion')).toBe(true);
    expect(grants('s3:put*retention', 's3:PutObjectRetention')).toBe(true);
    expect(grants('s3:DeleteObject', 's3:DeleteObjectVersion')).toBe(false);
  });

  test('the agent and the initializer are the example\'s IAM users, each with one policy', () => {
    expect(userPolicies.map((p) => p.name.replace(/-.*$/, '')).sort()).toEqual(['backup', 'restic']);
    expect(Object.values<any>(storage.resource.aws_iam_user_policy_attachment)).toHaveLength(2);
    expect(storage.resource.aws_iam_user_policy).toBeUndefined();
  });

  test.each(FORBIDDEN)('no Allow in any policy document of the storage stack grants %s (nor a wildcard that includes it)', (action) => {
    for (const [id, document] of Object.entries(documents)) {
      for (const s of document.statement.filter((x: any) => x.effect === 'Allow')) {
        const matching = (s.actions as string[]).filter((a) => grants(a, action));
        expect({ id, sid: s.sid, matching }).toEqual({ id, sid: s.sid, matching: [] });
        expect(s.not_actions).toBeUndefined();
      }
    }
  });

  test('the agent is denied writing and deleting config and keys/ of its repository', () => {
    const agent = documentOf(userPolicies.find((p) => p.name.startsWith('backup-agent-')));
    const deny = agent.statement.find((s: any) => s.effect === 'Deny');
    expect(deny.actions).toEqual(['s3:DeleteObject', 's3:PutObject']);
    expect(deny.resources).toEqual([expect.stringMatching(/\.arn\}\/db\/config$/), expect.stringMatching(/\.arn\}\/db\/keys\/\*$/)]);
  });

  test('the initializer writes nothing but config and keys/', () => {
    const init = documentOf(userPolicies.find((p) => p.name.startsWith('restic-init-')));
    const writes = init.statement.filter((s: any) => s.actions.some((a: string) => /^s3:(Put|Delete)/.test(a)));
    expect(writes.flatMap((s: any) => s.resources)).toEqual([expect.stringMatching(/\/db\/config$/), expect.stringMatching(/\/db\/keys\/\*$/)]);
  });

  test('the replication role is S3\'s alone: trusted only by s3.amazonaws.com, and no policy lets anyone pass or assume it', () => {
    const roles = Object.values<any>(storage.resource.aws_iam_role);
    const replication = roles.filter((r) => String(r.name_prefix ?? '').startsWith('backup-replication-'));
    expect(replication).toHaveLength(1);
    expect(documents[referencedId(replication[0].assume_role_policy, 'data.aws_iam_policy_document')].statement).toEqual([
      expect.objectContaining({ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['s3.amazonaws.com'] }] }),
    ]);
    for (const p of userPolicies) {
      const actions = documentOf(p).statement.flatMap((s: any) => s.actions);
      expect(actions.filter((a: string) => grants(a, 'iam:PassRole') || grants(a, 'sts:AssumeRole'))).toEqual([]);
    }
  });

  test('the host stack writes no IAM policy of its own', () => {
    expect(Object.keys(host.resource).filter((t) => t.startsWith('aws_iam'))).toEqual([]);
  });
});
