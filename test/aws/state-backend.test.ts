/**
 * Secrets in Terraform state (issue 11, item 3): a stack whose state holds secrets warns at
 * synth while it keeps that state in a local file, and `EncryptedStateBackend` gives it an
 * encrypted, locked S3 backend. The examples configure one for every stack that holds secrets.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, LocalBackend, TerraformStack, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { AgentCredentials, BackupBucket, EncryptedStateBackend, KeyEscrow, OffsiteReplica, RepositoryPassword, SecretsInState } from '../../src';
import { annotations } from '../compliance/stacks';
import { synthesizeDefaultExample } from './default-example';
import { awsStack } from './helpers';

const STATE = {
  bucket: 'acme-terraform-state',
  region: 'eu-west-1',
  kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:alias/terraform-state',
  dynamodbTable: 'terraform-state-lock',
};

function storageWithSecrets(): TerraformStack {
  const stack = awsStack('eu-west-1', 'backup-storage');
  const vault = new BackupBucket(stack, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1') });
  new AgentCredentials(stack, 'agent', { bucket: vault, containerNames: ['db'] });
  new KeyEscrow(stack, 'escrow', { bucket: vault, password: RepositoryPassword.fromVariable(stack) });
  return stack;
}

const warnings = (stack: TerraformStack) => annotations(stack, 'warn').filter((m) => m.includes('Terraform state holds secrets'));

describe('a stack whose state holds secrets', () => {
  test('warns at synth while its state is local: names the stack, what it holds, and the fix', () => {
    // GIVEN
    const stack = storageWithSecrets();
    // WHEN
    Testing.synth(stack);
    // THEN
    const found = warnings(stack);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^backup-storage: stack backup-storage: its Terraform state holds secrets in plain text \(/);
    expect(found[0]).toContain('the secret access keys of the agent and the initializer (aws_iam_access_key)');
    expect(found[0]).toContain('the escrowed restic password (aws_ssm_parameter backup-storage/escrow value)');
    expect(found[0]).toContain('local terraform.tfstate file');
    expect(found[0]).toContain('Fix: give the stack an encrypted, access-restricted remote backend: EncryptedStateBackend.s3(stack,');
  });

  test('an explicit LocalBackend warns too', () => {
    const stack = storageWithSecrets();
    new LocalBackend(stack, { path: 'terraform.tfstate' });
    Testing.synth(stack);
    expect(warnings(stack)).toHaveLength(1);
  });

  test('does not warn with EncryptedStateBackend, which writes an encrypted, locked S3 backend', () => {
    // GIVEN
    const stack = storageWithSecrets();
    // WHEN
    EncryptedStateBackend.s3(stack, { ...STATE, roleArn: 'arn:aws:iam::111122223333:role/terraform-state' });
    const json = JSON.parse(Testing.synth(stack));
    // THEN
    expect(warnings(stack)).toEqual([]);
    expect(json.terraform.backend).toEqual({
      s3: {
        bucket: 'acme-terraform-state',
        region: 'eu-west-1',
        key: 'cdktf-container-backup/backup-storage.tfstate',
        encrypt: true,
        kms_key_id: 'arn:aws:kms:eu-west-1:111122223333:alias/terraform-state',
        dynamodb_table: 'terraform-state-lock',
        assume_role: { role_arn: 'arn:aws:iam::111122223333:role/terraform-state' },
      },
    });
  });

  test('a stack that holds no secret does not warn', () => {
    const stack = awsStack('eu-west-1', 'plain');
    new BackupBucket(stack, 'vault');
    Testing.synth(stack);
    expect(warnings(stack)).toEqual([]);
    expect(SecretsInState.of(stack)).toEqual([]);
  });

  test('forEveryStack sets each stack without a backend its own state file, and skips the others', () => {
    const app = Testing.app();
    const one = new TerraformStack(app, 'one');
    const two = new TerraformStack(app, 'two');
    new LocalBackend(two, { path: 'two.tfstate' });
    const backends = EncryptedStateBackend.forEveryStack(app, { ...STATE, keyPrefix: 'backups/' });
    expect(backends).toHaveLength(1);
    expect(JSON.parse(Testing.synth(one)).terraform.backend.s3.key).toBe('backups/one.tfstate');
  });

  test('refuses a missing setting and a second backend', () => {
    const stack = awsStack();
    expect(() => EncryptedStateBackend.s3(stack, { ...STATE, kmsKeyId: '' })).toThrow(
      'EncryptedStateBackend.s3(storage): kmsKeyId must be a non-empty string, got "". Fix: pass kmsKeyId',
    );
    EncryptedStateBackend.s3(stack, STATE);
    expect(() => EncryptedStateBackend.s3(stack, STATE)).toThrow('EncryptedStateBackend.s3(storage): the stack already has a backend');
  });
});

describe('the default example', () => {
  test('every stack keeps its state in an encrypted, locked S3 backend (both hold secrets)', () => {
    const { storage, host } = synthesizeDefaultExample();
    for (const [name, json] of [['backup-storage', storage], ['db-host', host]] as const) {
      expect(json.terraform.backend.s3).toMatchObject({
        key: `cdktf-container-backup/${name}.tfstate`,
        encrypt: true,
        kms_key_id: expect.stringMatching(/^arn:aws:kms:/),
        dynamodb_table: expect.any(String),
      });
    }
  });

  test('synthesizes with no local-state warning; the same stacks with local state warn', () => {
    const { outdir } = synthesizeDefaultExample();
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    const stateWarnings = Object.values<any>(manifest.stacks).flatMap((s) =>
      (s.annotations ?? []).filter((a: any) => String(a.message).includes('Terraform state holds secrets')),
    );
    expect(stateWarnings).toEqual([]);

    // The host stack holds the sidecar's uploaded secrets and reads the storage stack's state.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-state-'));
    try {
      const app = new App({ outdir: dir, stackTraces: false });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { BackupStorageStack, DatabaseHostStack } = require('../../examples/postgres/main');
      const storage = new BackupStorageStack(app, 'backup-storage');
      const host = new DatabaseHostStack(app, 'db-host', storage);
      app.synth();
      expect(warnings(storage)).toHaveLength(1);
      const [hostWarning] = warnings(host);
      expect(hostWarning).toContain('stack db-host:');
      expect(hostWarning).toContain('terraform_remote_state');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
