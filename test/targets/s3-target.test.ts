import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformStack, Testing } from 'cdktf';
import {
  AgentCredentials,
  AgentIdentity,
  BackupBucket,
  Medium,
  ObjectLock,
  OffsiteReplica,
  ProtectedContainer,
  Retention,
  Site,
  SiteKind,
  StorageTarget,
} from '../../src';
import { LockStrength } from '../../src/targets/lock-strength';
import { S3Target } from '../../src/targets/s3-target';
import { agentPlanOf } from '../support/synth';
import { containerNamed } from '../support/sidecar-harness';

/** A cloud stack with a bucket and a Docker-host stack, as in the default example. */
function twoStacks(offsite = true) {
  const app = Testing.app();
  const storage = new TerraformStack(app, 'storage');
  new AwsProvider(storage, 'aws', { region: 'eu-west-1' });
  const vault = new BackupBucket(storage, 'vault', {
    retention: Retention.gfs({ daily: 7 }),
    offsite: offsite ? OffsiteReplica.inRegion('eu-central-1', { objectLock: ObjectLock.compliance(30) }) : undefined,
  });
  const host = new TerraformStack(app, 'host');
  new DockerProvider(host, 'docker', {});
  return { app, storage, host, vault };
}

function bind(target: ReturnType<typeof StorageTarget.s3>, host: TerraformStack, containerName = 'db') {
  return target.bind(host, { containerName, index: 2, containerSite: Site.dockerHost() });
}

function sidecarOf(app: App, host: TerraformStack) {
  app.synth();
  const json = JSON.parse(Testing.synth(host));
  const sidecar = containerNamed(json, 'db-backup');
  const installer = containerNamed(json, 'db-backup-install');
  return { json, sidecar, installer, plan: agentPlanOf(json, 'db') };
}

describe('StorageTarget.s3', () => {
  test('a repository per container under s3:https://s3.<region>.amazonaws.com/<bucket>/<container>', () => {
    // GIVEN
    const { host, vault } = twoStacks();
    // WHEN
    const config = bind(StorageTarget.s3(vault), host);
    // THEN
    expect(config.name).toBe('s3');
    expect(config.repository).toMatch(/^s3:https:\/\/s3\.eu-west-1\.amazonaws\.com\/\$\{TfToken\[TOKEN\.\d+\]\}\/db$/);
    expect(config.medium).toBe(Medium.OBJECT_STORAGE);
    expect(config.site.id).toBe('aws-region:eu-west-1');
    expect(config.immutable).toBe(false);
    expect(config.environment).toMatchObject({ AWS_DEFAULT_REGION: 'eu-west-1' });
  });

  test('the access key id is an environment variable and the secret key a secret file, both Terraform references', () => {
    // GIVEN
    const { host, vault } = twoStacks();
    // WHEN
    const config = bind(StorageTarget.s3(vault), host);
    // THEN
    const agent = vault.node.findChild('agent-db') as AgentCredentials;
    expect(config.environment?.AWS_ACCESS_KEY_ID).toBe(agent.accessKeyId);
    expect(config.secrets).toEqual([{ variable: 'AWS_SECRET_ACCESS_KEY', value: agent.secretAccessKey }]);
  });

  test('describes the locked offsite replica, verifiable read-only with the same scoped credentials', () => {
    // GIVEN
    const { host, vault } = twoStacks();
    // WHEN
    const config = bind(StorageTarget.s3(vault), host);
    // THEN
    const agent = vault.node.findChild('agent-db') as AgentCredentials;
    expect(config.replicas).toEqual([
      {
        name: 's3-offsite',
        medium: Medium.OBJECT_STORAGE,
        site: expect.objectContaining({ kind: SiteKind.AWS_REGION, name: 'eu-central-1' }),
        immutable: true,
        immutableRetentionDays: 30,
        lockStrength: LockStrength.COMPLIANCE,
        verifyRepository: expect.stringMatching(/^s3:https:\/\/s3\.eu-central-1\.amazonaws\.com\/\$\{TfToken\[TOKEN\.\d+\]\}\/db$/),
        environment: { AWS_DEFAULT_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: agent.accessKeyId },
        secrets: [{ variable: 'AWS_SECRET_ACCESS_KEY', value: agent.secretAccessKey }],
      },
    ]);
  });

  test('replica verification can be turned off; a bucket without offsite has no replica', () => {
    const a = twoStacks();
    const off = bind(StorageTarget.s3(a.vault, { verifyReplica: false }), a.host).replicas![0];
    expect(off.verifyRepository).toBeUndefined();
    expect(off.secrets).toBeUndefined();
    const b = twoStacks(false);
    expect(bind(StorageTarget.s3(b.vault), b.host).replicas).toEqual([]);
  });

  test('a locked primary bucket makes the target immutable', () => {
    const app = Testing.app();
    const storage = new TerraformStack(app, 'storage');
    new AwsProvider(storage, 'aws', { region: 'eu-west-1' });
    const vault = new BackupBucket(storage, 'vault', { retention: Retention.gfs({ daily: 7 }), objectLock: ObjectLock.governance(14) });
    const config = bind(StorageTarget.s3(vault), storage);
    expect(config).toMatchObject({ immutable: true, immutableRetentionDays: 14 });
  });

  test('EC2 instance-profile credentials put no key in the sidecar: restic uses the instance role', () => {
    // GIVEN
    const { storage, host, vault } = twoStacks();
    const credentials = new AgentCredentials(storage, 'ec2-agent', { bucket: vault, containerNames: ['db'], identity: AgentIdentity.INSTANCE_PROFILE });
    // WHEN
    const config = bind(StorageTarget.s3(vault, { credentials }), host);
    // THEN
    expect(config.secrets).toEqual([]);
    expect(config.environment).toEqual({ AWS_DEFAULT_REGION: 'eu-west-1' });
    expect(config.replicas![0].environment).toEqual({ AWS_DEFAULT_REGION: 'eu-central-1' });
  });

  test('a prefix and a name of your choice', () => {
    const { storage, host, vault } = twoStacks();
    const credentials = new AgentCredentials(storage, 'shared', { bucket: vault, containerNames: ['hosts/db', 'wiki'] });
    const config = bind(StorageTarget.s3(vault, { credentials, prefix: 'hosts/db', name: 'vault' }), host);
    expect(config.name).toBe('vault');
    expect(config.repository).toMatch(/\/hosts\/db$/);
    expect(config.replicas![0].name).toBe('vault-offsite');
  });

  test('an imported bucket works the same, credentials created in its scope', () => {
    const app = Testing.app();
    const storage = new TerraformStack(app, 'storage');
    new AwsProvider(storage, 'aws', { region: 'us-east-2' });
    const bucket = BackupBucket.fromAttributes(storage, 'existing', {
      bucketName: 'acme-restic',
      region: 'us-east-2',
      offsiteCopy: { bucketName: 'acme-restic-dr', bucketArn: 'arn:aws:s3:::acme-restic-dr', region: 'us-west-2' },
    });
    const config = bind(StorageTarget.s3(bucket), storage);
    expect(config.repository).toBe('s3:https://s3.us-east-2.amazonaws.com/acme-restic/db');
    expect(config.replicas![0]).toMatchObject({
      verifyRepository: 's3:https://s3.us-west-2.amazonaws.com/acme-restic-dr/db',
      immutable: false,
    });
    const policies = Object.values<any>(JSON.parse(Testing.synth(storage)).data.aws_iam_policy_document);
    const agentPolicy = policies.find((p) => p.statement.some((s: any) => s.sid === 'ReadRepositories'));
    expect(agentPolicy.statement.find((s: any) => s.sid === 'ReadRepositories').resources).toEqual(['arn:aws:s3:::acme-restic/db/*']);
  });

  describe('refuses at synth time', () => {
    test('credentials that do not cover the container\'s prefix', () => {
      const { storage, host, vault } = twoStacks();
      const credentials = new AgentCredentials(storage, 'wiki-only', { bucket: vault, containerNames: ['wiki'] });
      expect(() => bind(StorageTarget.s3(vault, { credentials }), host)).toThrow(
        'StorageTarget.s3(storage/vault) for db: the agent credentials are scoped to the prefixes ["wiki"] and do not cover "db", so restic would be denied access to its repository. Fix: add "db" to the AgentCredentials\' `containerNames`',
      );
    });

    test('credentials made for another bucket', () => {
      const { storage, host, vault } = twoStacks();
      const other = new BackupBucket(storage, 'other');
      const credentials = new AgentCredentials(storage, 'other-agent', { bucket: other, containerNames: ['db'] });
      expect(() => bind(StorageTarget.s3(vault, { credentials }), host)).toThrow(
        'the agent credentials were made for another bucket than the one this target writes to',
      );
    });

    test('a prefix with a wildcard or a parent reference', () => {
      const { host, vault } = twoStacks();
      expect(() => bind(StorageTarget.s3(vault, { prefix: 'db/*' }), host)).toThrow('the repository prefix "db/*" is not a plain folder name');
      expect(() => bind(StorageTarget.s3(vault, { prefix: '/db' }), host)).toThrow('is not a plain folder name');
    });
  });

  test('through a ProtectedContainer in another stack: the sidecar gets the target and its replica as files and references', () => {
    // GIVEN
    const { app, host, vault } = twoStacks();
    // WHEN
    new ProtectedContainer(host, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: {
        targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }), StorageTarget.s3(vault)],
      },
    });
    const { plan, sidecar, installer, json } = sidecarOf(app, host);
    // THEN
    const remote = /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-storage\.outputs\.cross-stack-output-[^}]+\}$/;
    const s3 = plan.targets[1];
    expect(s3.name).toBe('s3');
    expect(s3.repository).toMatch(/^s3:https:\/\/s3\.eu-west-1\.amazonaws\.com\/\$\{data\.terraform_remote_state\.[^}]+\}\/db$/);
    expect(s3.environment.AWS_DEFAULT_REGION).toBe('eu-west-1');
    expect(s3.environment.AWS_ACCESS_KEY_ID).toMatch(remote);
    expect(s3.secretFiles).toEqual({ AWS_SECRET_ACCESS_KEY: '/backup/install/secrets/target-2-aws-secret-access-key' });
    expect(s3.replicas).toHaveLength(1);
    const replica = s3.replicas[0];
    expect(replica.name).toBe('s3-offsite');
    expect(replica.repository).toMatch(/^s3:https:\/\/s3\.eu-central-1\.amazonaws\.com\/\$\{data\.terraform_remote_state\.[^}]+\}\/db$/);
    expect(replica.environment.AWS_DEFAULT_REGION).toBe('eu-central-1');
    expect(replica.environment.AWS_ACCESS_KEY_ID).toBe(s3.environment.AWS_ACCESS_KEY_ID);
    expect(replica.secretFiles).toEqual({ AWS_SECRET_ACCESS_KEY: '/backup/install/secrets/target-2-replica-1-aws-secret-access-key' });
    expect(plan.targets[0].replicas).toEqual([]);
    // No secret in the plan or the environment, only in uploaded files whose content Terraform resolves.
    const secretEnvironment = (r: any) => Object.keys(r.environment).filter((k) => /SECRET_ACCESS_KEY$/.test(k));
    expect([...secretEnvironment(s3), ...secretEnvironment(replica)]).toEqual([]);
    expect(sidecar.env).toEqual(['BACKUP_PLAN=/backup/install/agent.json']);
    // (uploaded to the one-shot installer, which installs them 0400 where the paths above say)
    const uploads = Object.fromEntries(installer.upload.map((u: any) => [u.file, u.content]));
    expect(uploads['/backup/staging/secrets/target-2-aws-secret-access-key']).toMatch(remote);
    expect(uploads['/backup/staging/secrets/target-2-replica-1-aws-secret-access-key']).toBe(
      uploads['/backup/staging/secrets/target-2-aws-secret-access-key'],
    );
    expect(uploads['/backup/staging/agent.json']).not.toContain(uploads['/backup/staging/secrets/target-2-aws-secret-access-key']);
    // The initializer's key reaches only the installer's own plan (init-plan.json, 0400), never agent.json.
    expect(s3.init).toBeNull();
    const initUpload = installer.upload.find((u: any) => u.file === '/backup/staging/init-plan.json');
    expect(initUpload.permissions).toBe('0400');
    const initPlan = agentPlanOf(json, 'db', 'init-plan.json');
    expect(initPlan.targets).toHaveLength(1);
    // The init plan opens the repository with the agent's own key, installed just before it...
    expect(initPlan.targets[0]).toMatchObject({ name: 's3', repository: s3.repository, environment: s3.environment, secretFiles: s3.secretFiles, replicas: [] });
    // ...and gives the initializer's key to `restic init` alone, with when it stops working and how to renew it.
    const init = initPlan.targets[0].init;
    expect(init.environment).toEqual({ AWS_DEFAULT_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: expect.stringMatching(remote) });
    expect(init.environment.AWS_ACCESS_KEY_ID).not.toBe(s3.environment.AWS_ACCESS_KEY_ID);
    expect(init.secretFiles).toEqual({ AWS_SECRET_ACCESS_KEY: '/backup/staging/init-secrets/target-2-aws-secret-access-key' });
    expect(init.validUntil).toMatch(remote);
    expect(init.renewal).toMatch(/^terraform -chdir=cdktf\.out\/stacks\/storage apply -replace=aws_iam_access_key\.vault_agent-db_init-access-key_[0-9A-F]{8} \(stack storage: a new key, valid for 24 h\), then deploy the Docker host's stack again$/);
    expect(uploads['/backup/staging/init-secrets/target-2-aws-secret-access-key']).toMatch(remote);
    expect(installer.entrypoint[2]).toContain('BACKUP_PLAN=/backup/staging/init-plan.json /bin/sh "$install/bin/backup-agent" init');
    // The host stack creates no AWS resources; its credentials live in the storage stack.
    expect(Object.keys(json.resource).filter((t) => t.startsWith('aws_'))).toEqual([]);
    expect(vault.node.tryFindChild('agent-db')).toBeInstanceOf(AgentCredentials);
  });

  test('S3Target is what the factory returns', () => {
    const { vault } = twoStacks();
    expect(StorageTarget.s3(vault)).toBeInstanceOf(S3Target);
  });
});
