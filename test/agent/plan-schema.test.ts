/**
 * The plan the agent reads (agent.json) has a JSON Schema, docs/agent-plan.schema.json, which
 * docs/agent-contract.md documents: every sidecar of every example, and the plans the tests
 * build (append-only, private CA, replicas, webhook, every quiesce mode), validate against it,
 * and the schema refuses what the agent could not use.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { defaultExample } from '../../examples/postgres/main';
import { s3CompatibleExample } from '../../examples/s3-compatible/main';
import { wordpressExample } from '../../examples/wordpress/main';
import { ProtectedContainer, Quiesce, StorageTarget } from '../../src';
import { AGENT_PLAN_SCHEMA_VERSION } from '../../src/agent/agent-plan';
import { patchPlan } from '../support/sidecar-sandbox';
import { agentPlanOf, dockerStack, resources, synthJson, synthesizeApp } from '../support/synth';

const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'agent-plan.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Every `<name>-backup` sidecar's plan in a synthesized stack, by container name. */
function plansOf(json: any): Record<string, any> {
  return Object.fromEntries(
    resources(json, 'docker_container')
      .filter((c) => c.name.endsWith('-backup-install'))
      .map((c) => c.name.replace(/-backup-install$/, ''))
      .map((name) => [name, agentPlanOf(json, name)]),
  );
}

const errorsOf = (plan: unknown) => (validate(plan) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

const EXAMPLES: Array<[string, (app: App) => Record<string, TerraformStack>]> = [
  ['postgres (default)', defaultExample],
  ['wordpress', wordpressExample],
  ['s3-compatible', s3CompatibleExample],
];

describe('the agent plan and its JSON Schema', () => {
  test.each(EXAMPLES)('every sidecar of the %s example has a plan the schema accepts', (_name, build) => {
    const app = synthesizeApp(build);
    try {
      const plans = Object.values(app.json).flatMap((json) => Object.entries(plansOf(json)));
      expect(plans.length).toBeGreaterThan(0);
      for (const [name, plan] of plans) {
        expect({ name, errors: errorsOf(plan) }).toEqual({ name, errors: [] });
        expect(plan.schemaVersion).toBe(AGENT_PLAN_SCHEMA_VERSION);
      }
    } finally {
      fs.rmSync(app.outdir, { recursive: true, force: true });
    }
  });

  test('a plan with every option the library has (append-only, private CA, replicas, webhook, exec quiesce) is accepted', () => {
    const stack = dockerStack('all-options');
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: {
        targets: [
          StorageTarget.localPath({ hostPath: '/srv/backup/db', name: 'local' }),
          StorageTarget.restServer({ url: 'https://backup.example.internal:8000/db', name: 'office', appendOnly: true, caCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' }),
        ],
        quiesce: Quiesce.exec(['pg_dumpall', '-f', '/var/lib/postgresql/data/dump.sql']),
        notifyUrl: new TerraformVariable(stack, 'notify_url', { type: 'string', sensitive: true }).stringValue,
      },
    });
    const plan = agentPlanOf(synthJson(stack), 'db');
    expect(errorsOf(plan)).toEqual([]);
    expect(plan.targets[1]).toMatchObject({ appendOnly: true, caCertificateFile: '/backup/install/secrets/target-2-ca-certificate.pem' });
    expect(plan.quiesce).toMatchObject({ mode: 'exec', container: 'db' });
    expect(plan.notify).toEqual({ urlFile: '/backup/install/secrets/notify-url', timeoutSeconds: 15 });
  });

  test('the installer\'s init plan of the default example is accepted: the target opens with its own key, and inits with the initializer\'s', () => {
    // GIVEN the default example, whose S3 target has an initializer key
    const app = synthesizeApp(defaultExample);
    try {
      // WHEN
      const json = app.json['db-host'];
      const initPlan = agentPlanOf(json, 'db', 'init-plan.json');
      const plan = agentPlanOf(json, 'db');
      // THEN
      expect(errorsOf(initPlan)).toEqual([]);
      expect(initPlan.targets.map((t: any) => t.name)).toEqual(['s3']);
      const own = plan.targets.find((t: any) => t.name === 's3');
      expect(initPlan.targets[0]).toMatchObject({ environment: own.environment, secretFiles: own.secretFiles, replicas: [] });
      expect(Object.keys(initPlan.targets[0].init)).toEqual(['environment', 'secretFiles', 'validUntil', 'renewal']);
      // agent.json never carries init credentials
      expect(plan.targets.map((t: any) => t.init)).toEqual(plan.targets.map(() => null));
    } finally {
      fs.rmSync(app.outdir, { recursive: true, force: true });
    }
  });

  test.each([
    ['another schema version', { schemaVersion: 1 }, '/schemaVersion must be equal to constant'],
    ['a target without init (null when the target\'s own credentials init)', (p: any) => delete p.targets[0].init, "/targets/0 must have required property 'init'"],
    ['init credentials without validUntil', (p: any) => (p.targets[0].init = { environment: {}, secretFiles: {}, renewal: null }), '/targets/0/init'],
    ['an unknown field', { retry: 3 }, ' must NOT have additional properties'],
    ['a target without a repository', (p: any) => delete p.targets[0].repository, "/targets/0 must have required property 'repository'"],
    ['an environment variable name the shell cannot export', (p: any) => (p.targets[0].environment['BAD-NAME'] = 'x'), '/targets/0/environment must match pattern'],
    ['a minute 60 in a schedule', (p: any) => (p.schedule.minutes = [60]), '/schedule/minutes/0 must be <= 59'],
    ['an exec quiesce without its exec body', (p: any) => Object.assign(p.quiesce, { mode: 'exec', container: 'db', dockerApi: 'http://x:2375', command: ['true'], execBody: null }), '/quiesce/execBody must be string'],
  ])('refuses %s', (_what, patch, message) => {
    const stack = dockerStack('refusals');
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/data' }],
      backup: { targets: [StorageTarget.localPath({ hostPath: '/srv/backup/db' })] },
    });
    const plan = agentPlanOf(synthJson(stack), 'db');
    expect(errorsOf(plan)).toEqual([]);
    expect(errorsOf(patchPlan(plan, patch as any)).join('\n')).toContain(message);
  });
});
