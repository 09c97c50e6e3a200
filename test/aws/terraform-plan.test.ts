/**
 * Real Terraform on the default example's AWS stack, offline: `terraform init` from the local
 * provider mirror, `validate`, and `plan` with fake credentials. The example as shipped stays a
 * deployable config; only this test's copy of the provider blocks gets the fake credentials and
 * the flags that keep the AWS provider from calling AWS while it plans.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthesizeDefaultExample } from './default-example';

/** The provider mirror: `TF_PLUGIN_DIR`, else the first folder that holds hashicorp/aws. */
function pluginDir(): string {
  const fromEnv = process.env.TF_PLUGIN_DIR;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  const candidates = ['/opt/tf-plugins', '/usr/share/terraform/plugins', '/usr/local/share/terraform/plugins', path.join(os.homedir(), '.terraform.d', 'plugins')];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'registry.terraform.io', 'hashicorp', 'aws'))) return dir;
  }
  // Last resort: search the filesystem for the provider binary and climb to the mirror's root.
  const found = spawnSync('sh', ['-c', "find / -name 'terraform-provider-aws*' -not -path '/proc/*' 2>/dev/null | head -n 1"], { encoding: 'utf8' });
  const binary = found.stdout.trim();
  const marker = `${path.sep}registry.terraform.io${path.sep}`;
  if (binary && binary.includes(marker)) return binary.slice(0, binary.indexOf(marker));
  throw new Error('no hashicorp/aws provider mirror found: set TF_PLUGIN_DIR to a folder holding registry.terraform.io/hashicorp/aws/<version>/<os_arch>/');
}

/** Flags that let the AWS provider configure and plan without an account or network. */
const OFFLINE_PROVIDER = {
  access_key: 'AKIAIOSFODNN7EXAMPLE',
  secret_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  skip_credentials_validation: true,
  skip_requesting_account_id: true,
  skip_metadata_api_check: true,
  skip_region_validation: true,
};

function terraform(cwd: string, args: string[]): { stdout: string; seconds: number } {
  const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
  const started = process.hrtime.bigint();
  const result = spawnSync('terraform', [...args, '-no-color'], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) {
    throw new Error(`terraform ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return { stdout: result.stdout, seconds };
}

describe('the default example\'s AWS stack under real Terraform, offline', () => {
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-plan-'));
  const timings: Record<string, number> = {};
  let config: any;

  beforeAll(() => {
    const { storage } = synthesizeDefaultExample();
    config = JSON.parse(JSON.stringify(storage));
    for (const provider of config.provider.aws) Object.assign(provider, OFFLINE_PROVIDER);
    // The example ships an encrypted S3 backend (its state holds secrets), whose `init` would
    // call AWS. This test's copy, and only it, keeps its state in the test's own folder: the
    // backend is not what `validate` and `plan` check here (test/aws/state-backend.test.ts is).
    expect(Object.keys(config.terraform.backend)).toEqual(['s3']);
    config.terraform.backend = { local: { path: path.join(workdir, 'terraform.tfstate') } };
    fs.writeFileSync(path.join(workdir, 'main.tf.json'), JSON.stringify(config, null, 2));
  });

  afterAll(() => {
    // One line for the report: how long Terraform took here.
    console.log(`terraform timings (s): ${JSON.stringify(timings)}`);
    fs.rmSync(workdir, { recursive: true, force: true });
  });

  test('the shipped example keeps its state in an encrypted, locked S3 backend', () => {
    const { storage } = synthesizeDefaultExample();
    expect(storage.terraform.backend).toEqual({
      s3: expect.objectContaining({ encrypt: true, kms_key_id: expect.stringMatching(/^arn:aws:kms:/), dynamodb_table: expect.any(String) }),
    });
  });

  test('the shipped example has real provider blocks (no fake credentials, no skip flags)', () => {
    const { storage } = synthesizeDefaultExample();
    for (const provider of storage.provider.aws) {
      expect(Object.keys(provider).filter((k) => k.startsWith('skip_') || k.endsWith('_key'))).toEqual([]);
    }
    expect(storage.provider.aws.map((p: any) => p.region)).toEqual(['eu-west-1', 'eu-central-1']);
  });

  test('terraform init installs hashicorp/aws from the local mirror', () => {
    const { stdout, seconds } = terraform(workdir, ['init', '-input=false', `-plugin-dir=${pluginDir()}`]);
    timings.init = Math.round(seconds * 10) / 10;
    expect(stdout).toContain('Terraform has been successfully initialized');
    expect(stdout).toMatch(/Installing hashicorp\/aws v5\.100\.0/);
  });

  test('terraform validate accepts the configuration', () => {
    const { stdout, seconds } = terraform(workdir, ['validate']);
    timings.validate = Math.round(seconds * 10) / 10;
    expect(stdout).toContain('Success! The configuration is valid.');
  });

  test('terraform plan creates every resource, with no warning, and keeps secrets sensitive', () => {
    const { stdout, seconds } = terraform(workdir, [
      'plan',
      '-input=false',
      '-lock=false',
      '-var',
      'restic_password=correct-horse-battery-staple',
      '-out=plan.bin',
    ]);
    timings.plan = Math.round(seconds * 10) / 10;
    const resourceCount = Object.values<any>(config.resource).reduce((n, byId) => n + Object.keys(byId).length, 0);
    expect(stdout).toContain(`Plan: ${resourceCount} to add, 0 to change, 0 to destroy.`);
    expect(stdout).not.toMatch(/Warning:/);
    expect(stdout).not.toContain('correct-horse-battery-staple');

    // The saved plan, read back as JSON: the controls as Terraform will apply them.
    const show = terraform(workdir, ['show', '-json', 'plan.bin']);
    const plan = JSON.parse(show.stdout);
    const planned = plan.planned_values.root_module.resources as any[];
    const byType = (type: string) => planned.filter((r) => r.type === type);
    expect(byType('aws_s3_bucket')).toHaveLength(4);
    // Two identities: the agent (no config/keys writes) and the restic-init one, each its own user and key.
    // Managed policies attached to them (a user's inline policies share 2,048 characters).
    expect(byType('aws_iam_policy').map((p) => String(p.values.name).replace(/-.*$/, '')).sort()).toEqual(['backup', 'restic']);
    expect(byType('aws_iam_user_policy_attachment')).toHaveLength(2);
    expect(byType('aws_iam_user_policy')).toHaveLength(0);
    expect(byType('aws_iam_access_key')).toHaveLength(2);
    expect(byType('aws_iam_access_key').every((k) => k.sensitive_values.secret === true || k.values.secret === undefined)).toBe(true);
    expect(byType('aws_kms_key').every((k) => k.values.enable_key_rotation === true)).toBe(true);
    expect(byType('aws_s3_bucket_object_lock_configuration')[0].values.rule[0].default_retention[0]).toMatchObject({
      mode: 'COMPLIANCE',
      days: 400,
    });
    const ssm = byType('aws_ssm_parameter')[0];
    expect(ssm.values.type).toBe('SecureString');
    expect(ssm.sensitive_values.value).toBe(true);
  });

  /** The saved plan as JSON (`terraform show -json plan.bin`; the plan test wrote it). */
  const savedPlan = (): any => JSON.parse(terraform(workdir, ['show', '-json', 'plan.bin']).stdout);
  /** The statements Terraform will read into a policy document at apply (`<=` in the plan). */
  const plannedStatements = (plan: any, idPart: string): any[] => {
    const reads = plan.resource_changes.filter((r: any) => r.type === 'aws_iam_policy_document' && r.address.includes(idPart));
    expect(reads.map((r: any) => r.change.actions)).toEqual([['read']]);
    return reads[0].change.after.statement;
  };

  test('the plan reads the primary bucket\'s policy with the upload bounds, and replicates in S3 Standard', () => {
    const plan = savedPlan();
    const bounds = plannedStatements(plan, 'vault_primary_policy-document').filter((s: any) => s.sid !== 'DenyInsecureTransport');
    expect(bounds.map((s: any) => [s.sid, s.effect, s.actions, s.principals, s.condition.map((c: any) => [c.test, c.variable, c.values])])).toEqual([
      ['DenyStorageClassesButStandard', 'Deny', ['s3:PutObject'], [{ type: '*', identifiers: ['*'] }], [['Null', 's3:x-amz-storage-class', ['false']], ['StringNotEquals', 's3:x-amz-storage-class', ['STANDARD']]]],
      ['DenyCustomerProvidedKeys', 'Deny', ['s3:PutObject'], [{ type: '*', identifiers: ['*'] }], [['Null', 's3:x-amz-server-side-encryption-customer-algorithm', ['false']]]],
      ['DenyPerRequestEncryption', 'Deny', ['s3:PutObject'], [{ type: '*', identifiers: ['*'] }], [['Null', 's3:x-amz-server-side-encryption', ['false']]]],
      ['DenyPerRequestKmsKey', 'Deny', ['s3:PutObject'], [{ type: '*', identifiers: ['*'] }], [['Null', 's3:x-amz-server-side-encryption-aws-kms-key-id', ['false']]]],
    ]);
    const replication = plan.planned_values.root_module.resources.filter((r: any) => r.type === 'aws_s3_bucket_replication_configuration');
    expect(replication.map((r: any) => r.values.rule[0].destination[0].storage_class)).toEqual(['STANDARD']);
  });

  test('the plan reads the initializer\'s policy with every grant ending at its key\'s create_date + 24 h', () => {
    const plan = savedPlan();
    const key = plan.resource_changes.find((r: any) => r.type === 'aws_iam_access_key' && r.address.includes('init-access-key'));
    expect(key.change.actions).toEqual(['create']);
    // At plan time the key does not exist yet: the time is known after apply.
    const statements = plannedStatements(plan, 'init-permissions');
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) {
      expect(s.effect).toBe('Allow');
      expect(s.condition.filter((c: any) => c.test === 'DateLessThan')).toEqual([{ test: 'DateLessThan', variable: 'aws:CurrentTime', values: [null] }]);
    }
    // The expression Terraform will evaluate: the key's own create_date plus the window.
    const configured = plan.configuration.root_module.resources.find((r: any) => r.address.includes('init-permissions'));
    for (const s of configured.expressions.statement) {
      const window = s.condition.find((c: any) => c.test.constant_value === 'DateLessThan');
      expect(window.values.constant_value).toEqual([`\${timeadd(${key.address}.create_date, "24h")}`]);
      expect(window.values.references).toContain(`${key.address}.create_date`);
    }
  });
});
