import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { TerraformOutput, TerraformVariable, Testing, Token } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { BackupBucket, KeyEscrow, OffsiteReplica, RepositoryPassword } from '../../src';
import { awsStack, resourcesOf } from './helpers';

Testing.setupJest();

describe('KeyEscrow', () => {
  test('keeps the repository password as a SecureString in the offsite region, under the replica\'s KMS key', () => {
    // GIVEN
    const stack = awsStack('eu-west-1');
    const vault = new BackupBucket(stack, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1') });
    // WHEN
    const escrow = new KeyEscrow(stack, 'escrow', { bucket: vault, password: RepositoryPassword.fromVariable(stack) });
    const synthesized = Testing.synth(stack);
    const json = JSON.parse(synthesized);
    // THEN
    const replicaKey = Object.keys(resourcesOf(json, 'aws_kms_key')).find((id) => id.includes('offsite_key'));
    expect(synthesized).toHaveResourceWithProperties(SsmParameter, {
      name: '/cdktf-container-backup/storage/escrow/restic-password',
      type: 'SecureString',
      tier: 'Standard',
      key_id: `\${aws_kms_key.${replicaKey}.arn}`,
      value: '${var.restic_password}',
      provider: 'aws.offsite-eu-central-1',
      lifecycle: { prevent_destroy: true },
    });
    expect(json.variable.restic_password).toMatchObject({ sensitive: true });
    expect(escrow.region).toBe('eu-central-1');
  });

  test('the sidecar password read back from escrow is a Terraform reference, never a literal', () => {
    // GIVEN
    const stack = awsStack('eu-west-1');
    const vault = new BackupBucket(stack, 'vault', { offsite: OffsiteReplica.inRegion('us-east-1') });
    const secret = new TerraformVariable(stack, 'pw', { type: 'string', sensitive: true });
    // WHEN
    const escrow = new KeyEscrow(stack, 'escrow', {
      bucket: vault,
      password: RepositoryPassword.fromString(secret.stringValue),
      parameterName: '/backups/restic',
    });
    // THEN
    expect(Token.isUnresolved(escrow.repositoryPassword.value)).toBe(true);
    new TerraformOutput(stack, 'password', { value: escrow.repositoryPassword.value, sensitive: true });
    expect(JSON.parse(Testing.synth(stack)).output.password.value).toMatch(/^\$\{aws_ssm_parameter\.escrow_password_[0-9A-F]+\.value\}$/);
    expect(escrow.parameterName).toBe('/backups/restic');
  });

  test('its password says where it is escrowed (PasswordEscrowed reads it); a variable escrowed elsewhere says where', () => {
    // GIVEN
    const stack = awsStack('eu-west-1');
    const vault = new BackupBucket(stack, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1') });
    // WHEN
    const escrow = new KeyEscrow(stack, 'escrow', { bucket: vault, password: RepositoryPassword.fromVariable(stack) });
    const declared = RepositoryPassword.fromVariable(stack, 'restic_password', { escrowedIn: '  Vault kv/backup/restic ' });
    // THEN
    expect(escrow.repositoryPassword.escrowedIn).toBe('the SSM SecureString /cdktf-container-backup/storage/escrow/restic-password in eu-central-1 (storage/escrow)');
    expect(escrow.repositoryPassword.source).toBe('a Terraform reference');
    expect(declared.escrowedIn).toBe('Vault kv/backup/restic');
    expect(declared.source).toBe('the Terraform variable "restic_password"');
    expect(RepositoryPassword.fromVariable(stack).escrowedIn).toBeUndefined();
  });

  test('refuses a bucket without an offsite replica', () => {
    const stack = awsStack();
    const vault = new BackupBucket(stack, 'vault');
    expect(() => new KeyEscrow(stack, 'escrow', { bucket: vault, password: RepositoryPassword.fromVariable(stack) })).toThrow(
      'storage/escrow: the bucket has no offsite replica, so there is no offsite region to keep the escrowed password in. Fix: give the BackupBucket `offsite: OffsiteReplica.inRegion("eu-central-1")`',
    );
  });
});
