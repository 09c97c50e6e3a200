/**
 * Terraform interpolates `${...}` and runs `%{...}` in every string of cdk.tf.json, uploaded
 * file content included. The proof that the agent and its plan arrive intact: real Terraform
 * evaluates the synthesized upload content and must hand back the packaged script byte for
 * byte, and a plan whose quiesce command is the user's literal.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AGENT_SCRIPT_PATH, agentScript } from '../src/agent/agent-asset';
import { stagedPath } from '../src/agent/agent-install';
import { AGENT_PLAN_FILE } from '../src/agent/agent-plan';
import { AGENT_SCRIPT_LOCAL } from '../src/docker/backup-sidecar';
import { TerraformVariable } from 'cdktf';
import { ProtectedContainer, Quiesce, Site, StorageTarget } from '../src';
import { renderTerraformString } from './support/terraform-string';
import { agentPlanOf, dockerStack, resources, synthJson } from './support/synth';
import { containerNamed } from './support/sidecar-harness';

function terraformEvaluates(values: { [name: string]: string }, variables: { [name: string]: string } = {}): { [name: string]: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-escape-'));
  try {
    const config = {
      ...(Object.keys(variables).length > 0 ? { variable: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, { type: 'string', default: v }])) } : {}),
      output: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])),
    };
    fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config));
    const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
    for (const args of [['init', '-input=false'], ['apply', '-auto-approve', '-input=false']]) {
      const r = spawnSync('terraform', args, { cwd: dir, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`terraform ${args[0]} failed: ${r.stderr}`);
    }
    const out = spawnSync('terraform', ['output', '-json'], { cwd: dir, env, encoding: 'utf8' });
    const parsed = JSON.parse(out.stdout);
    return Object.fromEntries(Object.entries(parsed).map(([k, v]: [string, any]) => [k, v.value]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('what Terraform reads from the synthesized JSON', () => {
  test('the uploaded agent, as Terraform evaluates it, is the packaged script byte for byte; the plan keeps the literal quiesce command', () => {
    // GIVEN
    const stack = dockerStack();
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      environment: { PGOPTIONS: '-c search_path=${USER}' },
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: {
        quiesce: Quiesce.exec(['sh', '-c', 'pg_dumpall -f "${PGDATA}/dump.sql" # %{not a directive}']),
        targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' })],
      },
    });
    const json = synthJson(stack);
    const containers = resources(json, 'docker_container');
    const sidecar = containers.find((c) => c.name === 'db-backup');
    const installer = containers.find((c) => c.name === 'db-backup-install');
    const db = containers.find((c) => c.name === 'db');
    // uploaded to the installer (the sidecar's root is read-only), which installs it at AGENT_SCRIPT_PATH
    const upload = installer.upload.find((u: any) => u.file === stagedPath(AGENT_SCRIPT_PATH)).content;
    expect(upload).toBe(`\${local.${AGENT_SCRIPT_LOCAL}}`);
    // the stack's one copy of the script, which every installer's upload reads
    const uploaded = json.locals[AGENT_SCRIPT_LOCAL];
    // the plan (agent.json) carries the quiesce command; the sidecar's only variable says where it is
    const plan = installer.upload.find((u: any) => u.file === stagedPath(AGENT_PLAN_FILE));
    expect(plan.permissions).toBe('0444');
    expect(plan.content).toContain('$${PGDATA}');
    expect(plan.content).toContain('%%{not a directive}');
    expect(sidecar.env).toEqual(['BACKUP_PLAN=/backup/install/agent.json']);
    // the script does use both sequences, so the escaping is exercised
    expect(agentScript()).toContain('${');

    // WHEN
    const evaluated = terraformEvaluates({ agent: uploaded, plan: plan.content, pgoptions: db.env[0], install: installer.entrypoint[2] });

    // THEN
    expect(evaluated.agent).toBe(agentScript());
    const command = ['sh', '-c', 'pg_dumpall -f "${PGDATA}/dump.sql" # %{not a directive}'];
    const evaluatedPlan = JSON.parse(evaluated.plan);
    expect(evaluatedPlan.quiesce.command).toEqual(command);
    // Terraform undoes exactly the escapes agentPlanOf undoes, nothing else
    expect(evaluatedPlan).toEqual(agentPlanOf(json, 'db'));
    // the exec call's exact bytes too: the Docker API proxy compares them
    expect(JSON.parse(evaluatedPlan.quiesce.execBody).Cmd).toEqual(command);
    expect(evaluated.pgoptions).toBe('PGOPTIONS=-c search_path=${USER}');
    // and the installer's own program is read literally: Terraform finds nothing to interpolate in it
    expect(installer.entrypoint[2]).not.toMatch(/\$\$\{|%%\{/);
    expect(evaluated.install).toBe(installer.entrypoint[2]);
  });

  test('a value Terraform fills into the plan arrives JSON-escaped: quotes, backslashes and newlines cannot break or extend agent.json', () => {
    // GIVEN a REST target whose URL comes from a variable, and a value an attacker of the
    // plan would choose: it closes the string and adds a field
    const stack = dockerStack();
    const restUrl = new TerraformVariable(stack, 'rest_url', { type: 'string' });
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/data' }],
      backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }), StorageTarget.restServer({ url: restUrl.stringValue, name: 'office', site: Site.named('office') })] },
    });
    const json = synthJson(stack);
    const installer = containerNamed(json, 'db-backup-install');
    const content = installer.upload.find((u: any) => u.file === stagedPath(AGENT_PLAN_FILE)).content;
    const hostile = 'https://x.example", "appendOnly": true, "y": "\\ <&> \n';
    // WHEN real Terraform evaluates the upload
    const evaluated = terraformEvaluates({ plan: content }, { rest_url: hostile });
    // THEN the plan is JSON, the value is one string, and nothing was added
    const plan = JSON.parse(evaluated.plan);
    expect(plan.targets[1].repository).toBe(`rest:${hostile}/db`);
    expect(plan.targets[1].appendOnly).toBe(false);
    expect(Object.keys(plan.targets[1]).sort()).toEqual(Object.keys(agentPlanOf(json, 'db').targets[1]).sort());
    // and the tests' stand-in for Terraform (the sandbox, the applier) writes the same bytes
    expect(renderTerraformString(content, { 'var.rest_url': hostile })).toBe(evaluated.plan);
  });

  test('terraform plan refuses an http:// webhook URL with the synthesized precondition, and accepts https://', () => {
    // GIVEN the installer's precondition, as synthesized, on a resource Terraform can plan here
    // (its postcondition reads exit_code, which only a docker_container has)
    const stack = dockerStack();
    const url = new TerraformVariable(stack, 'notify_url', { type: 'string', sensitive: true });
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' })], notifyUrl: url.stringValue },
    });
    const json = synthJson(stack);
    const installer = containerNamed(json, 'db-backup-install');
    const config = {
      variable: { notify_url: json.variable.notify_url },
      resource: { terraform_data: { installer: { input: 'x', lifecycle: { precondition: installer.lifecycle.precondition } } } },
    };
    // WHEN / THEN
    const plan = (value: string) => terraformPlan(config, { TF_VAR_notify_url: value });
    const refused = plan('http://hooks.example.com/T0KEN');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr.replace(/\s+/g, ' ')).toContain('notifyUrl must be an https:// URL');
    expect(plan('https://hooks.example.com/T0KEN').status).toBe(0);
  });
});

function terraformPlan(config: object, env: Record<string, string>): { status: number | null; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-precondition-'));
  try {
    fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config));
    const base = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', ...env };
    const init = spawnSync('terraform', ['init', '-input=false'], { cwd: dir, env: base, encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`terraform init failed: ${init.stderr}`);
    const r = spawnSync('terraform', ['plan', '-input=false', '-no-color'], { cwd: dir, env: base, encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr + r.stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
