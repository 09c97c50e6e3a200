/**
 * The installer's `backup-agent init` against an S3 endpoint (s3rver over TLS), issue 21: the
 * init plan opens each repository with the target's own key and hands the init credentials to
 * `restic init` alone. So an install after the initializer key's window (a new agent version
 * re-creates the installer) still opens the repository there is, and a first install after the
 * window fails saying the key expired and how to renew it.
 *
 * The installer is the one the library synthesizes for a target that has init credentials, the
 * way `StorageTarget.s3` makes it (src/targets/s3-target.ts), with the test server's
 * certificate as the target's `caCertificate`.
 *
 * What stands in for what: an AWS initializer key past its window still exists, but its policy
 * allows nothing (every grant holds only `DateLessThan` its expiry), so S3 answers 403
 * AccessDenied. s3rver 3.7.1 checks access key ids but neither signatures nor permissions
 * (node_modules/s3rver/lib/middleware/authentication.js: an unknown id is 403
 * InvalidAccessKeyId, a known one is let through), so it cannot refuse a key it knows; the
 * expired key is played by a key id s3rver does not know: refused with a 403 on every request,
 * as the expired key would be. The agent's verdict ("expired") comes from the plan's
 * `validUntil` and the clock, not from the error text, so the difference in the text does not
 * change it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TerraformVariable } from 'cdktf';
import { Medium, ProtectedContainer, Retention, Site, Verification } from '../../src';
import { ConfiguredTarget } from '../compliance/fixtures';
import { S3Server, startS3Server } from '../support/servers/s3-server';
import { restic } from '../support/restic';
import { SidecarHarness } from '../support/sidecar-harness';
import { dockerStack, synthJson } from '../support/synth';

const PASSWORD = 'the repository password';
const RENEWAL =
  'terraform -chdir=cdktf.out/stacks/backup-storage apply -replace=aws_iam_access_key.vault_agent-db_init-access-key_0BCA6058 (stack backup-storage: a new key, valid for 24 h), then deploy the Docker host\'s stack again';
/** A key id s3rver does not know: the initializer key after its window (see the module comment). */
const EXPIRED_KEY_ID = 'AKEXPIREDINITIALIZER';
const PAST = '2020-01-01T00:00:00Z';
const FUTURE = '2099-01-01T00:00:00Z';

describe('backup-agent init: the target\'s own key opens, the init key only initialises', () => {
  let s3: S3Server | undefined;
  const harnesses: SidecarHarness[] = [];

  /** The installer of container `name`, whose S3 target's init credentials Terraform fills in per install. */
  function installerOf(name: string): SidecarHarness {
    const stack = dockerStack(`${name}-host`);
    const variable = (id: string, sensitive = false) => new TerraformVariable(stack, id, { type: 'string', sensitive }).stringValue;
    new ProtectedContainer(stack, name, {
      image: 'busybox:1.36',
      volumes: [{ name: `${name}-data`, containerPath: '/data' }],
      backup: {
        retention: Retention.keepLast(10),
        verification: Verification.structureOnly(),
        targets: [
          new ConfiguredTarget({
            name: 's3',
            repository: s3!.repository(name),
            medium: Medium.OBJECT_STORAGE,
            site: Site.named('s3rver'),
            caCertificate: fs.readFileSync(s3!.caCertPath, 'utf8'),
            // The agent's own key: s3rver knows it.
            environment: { AWS_DEFAULT_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: s3!.accessKeyId },
            secrets: [{ variable: 'AWS_SECRET_ACCESS_KEY', value: variable('agent_secret', true) }],
            initEnvironment: { AWS_DEFAULT_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: variable('init_key_id') },
            initSecrets: [{ variable: 'AWS_SECRET_ACCESS_KEY', value: variable('init_secret', true) }],
            initValidUntil: variable('init_valid_until'),
            initRenewal: RENEWAL,
          }),
        ],
      },
    });
    const harness = SidecarHarness.fromSynth(synthJson(stack), name, {
      install: false,
      installTimeoutMs: 90000,
      workDirPrefix: `init-credentials-${name}-`,
      terraformValues: { 'var.restic_password': PASSWORD, 'var.agent_secret': s3!.secretAccessKey },
    });
    harnesses.push(harness);
    return harness;
  }

  /** Terraform's values of the init credentials for one install. */
  const initValues = (keyId: string, validUntil: string) => ({ 'var.init_key_id': keyId, 'var.init_secret': 'the initializer secret', 'var.init_valid_until': validUntil });

  /** The installer's output when it fails (installAgentSync throws with it), or a failure of the test. */
  function failedInstall(harness: SidecarHarness, values: Record<string, string>): string {
    try {
      harness.install(values);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('the installer succeeded');
  }

  const hasRepository = (name: string) => restic(s3!.repository(name), ['cat', 'config'], { password: PASSWORD, cacert: s3!.caCertPath, env: s3!.resticEnv() }).code === 0;

  beforeAll(async () => {
    s3 = await startS3Server();
  });

  afterAll(async () => {
    await s3?.stop();
    harnesses.forEach((h) => h.cleanup());
  });

  describe('a repository initialised within the window', () => {
    let harness: SidecarHarness;

    beforeAll(() => {
      harness = installerOf('db');
    });

    test('the first install creates it with the init credentials', () => {
      // GIVEN no repository yet, and an init key within its window (s3rver knows it)
      expect(hasRepository('db')).toBe(false);
      // WHEN the installer runs, as the host stack's first deploy does
      const r = harness.install(initValues(s3!.accessKeyId, FUTURE));
      // THEN
      expect(r.stderr).toMatch(/ INFO step=init target=s3 no repository opened \(.*\); initialising one/);
      expect(r.stderr).toMatch(/ INFO step=init target=s3 repository initialised/);
      expect(r.stderr).not.toMatch(/ ERROR /);
      expect(hasRepository('db')).toBe(true);
    });

    test('a later install, after the window, opens it with the agent\'s own key and never uses the refused init key', () => {
      // GIVEN the init key now refused on every request, its window passed
      // WHEN the installer runs again, as a new agent version's deploy does
      const r = harness.install(initValues(EXPIRED_KEY_ID, PAST));
      // THEN the repository opened (with the refused key, `restic init` would have failed the install)
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/ INFO step=init target=s3 repository ready/);
      expect(r.stderr).not.toMatch(/initialising/);
      // AND the agent and its plan are installed; the init credentials are not
      expect(fs.existsSync(path.join(harness.installDir, 'agent.json'))).toBe(true);
      expect(fs.readdirSync(path.join(harness.installDir, 'secrets')).sort()).toEqual(['repository-password', 'target-1-aws-secret-access-key', 'target-1-ca-certificate.pem']);
    });
  });

  test('a first install after the window fails, saying the init credentials expired and how to renew them', () => {
    // GIVEN a container whose repository does not exist yet, and an init key past its window
    const harness = installerOf('wiki');
    // WHEN the host stack's first deploy runs the installer
    const output = failedInstall(harness, initValues(EXPIRED_KEY_ID, PAST));
    // THEN the deploy fails (the installer exits non-zero), and the log says what happened and the fix
    expect(output).toMatch(/ ERROR step=init target=s3 cannot open the repository \(.*\) nor initialise it: restic exit 1: .*; the init credentials expired at 2020-01-01T00:00:00Z/);
    expect(output).toContain(`(they work for a limited time after they are made, so that a key left in Terraform state is soon useless): renew them: ${RENEWAL}`);
    expect(hasRepository('wiki')).toBe(false);
  });

  test('refused within its window (another cause): the log says until when the key works, and how to renew it', () => {
    // GIVEN a refused init key whose window has not passed
    const harness = installerOf('cache');
    // WHEN
    const output = failedInstall(harness, initValues(EXPIRED_KEY_ID, FUTURE));
    // THEN no claim that it expired
    expect(output).toMatch(/ ERROR step=init target=s3 cannot open the repository .* nor initialise it: restic exit 1: .*; the init credentials work until 2099-01-01T00:00:00Z \(to renew them: terraform -chdir=/);
    expect(output).not.toContain('expired');
  });
});
