import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, Aspects, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { BackupOptions, ComplianceLevel, ProtectedContainer, StorageTarget, ThreeTwoOneChecks } from '../../src';
import { REPORT_FILE_NAME } from '../../src/compliance/hooks';
import { JSON_STRING_TOKEN, terraformUnescape } from './terraform-string';

/** A fresh stack with a Docker provider, as a user's Docker-host stack would have. */
export function dockerStack(id: string = 'host'): TerraformStack {
  const app = Testing.app();
  const stack = new TerraformStack(app, id);
  new DockerProvider(stack, 'docker', {});
  return stack;
}

/** The value of a new sensitive string variable `id` of `stack`: a token, as a secret prop wants it. */
export function sensitiveVariable(stack: TerraformStack, id: string): string {
  return new TerraformVariable(stack, id, { type: 'string', sensitive: true }).stringValue;
}

/**
 * A stack (`stackId`, dockerStack's default when not given) with the container `db` (postgres:16,
 * volume pgdata) backed up to a local target, with `backup` and what `setup` returns laid over that.
 */
export function dbStack(backup: Partial<BackupOptions>, setup?: (stack: TerraformStack) => Partial<BackupOptions>, stackId?: string): TerraformStack {
  const stack = dockerStack(stackId);
  new ProtectedContainer(stack, 'db', {
    image: 'postgres:16',
    volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
    backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' })], ...backup, ...(setup?.(stack) ?? {}) },
  });
  return stack;
}

/** `stack` synthesized: cdk.tf.json, the db-backup sidecar, its installer, and the agent's plan (agent.json). */
export function synthesizedDb(stack: TerraformStack) {
  const json = synthJson(stack);
  const sidecar = containerNamed(json, 'db-backup');
  const installer = containerNamed(json, 'db-backup-install');
  const plan = agentPlanOf(json, 'db');
  return { json, sidecar, installer, plan };
}

/** Synthesizes a stack (Aspects included, validations not) and returns the parsed cdk.tf.json. */
export function synthJson(stack: TerraformStack): any {
  return JSON.parse(Testing.synth(stack));
}

/** Runs a full synth (validations and error annotations included) of the app that holds `stack`. */
export function fullSynth(stack: TerraformStack): string {
  return Testing.fullSynth(stack);
}

/** The resources of one type in a synthesized stack, as an array. */
export function resources(json: any, type: string): any[] {
  return Object.values(json.resource?.[type] ?? {});
}

export { App };

/**
 * What Terraform substitutes for the references a synthesized stack makes to itself:
 * `${docker_volume.<id>.name}` and `${docker_network.<id>.name}` (the names the resources
 * declare), and `${local.<name>}` of the string locals (e.g. the agent script the installers
 * share), escapes undone.
 */
export function terraformReferenceValues(json: any): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries<any>(json.locals ?? {})) {
    if (typeof value === 'string') {
      values[`local.${name}`] = terraformUnescape(value);
    }
  }
  for (const type of ['docker_volume', 'docker_network']) {
    for (const [id, resource] of Object.entries<any>(json.resource?.[type] ?? {})) {
      values[`${type}.${id}.name`] = resource.name;
    }
  }
  return values;
}

/** The docker_container named `name` in a synthesized cdk.tf.json, as parsed (any); throws when missing. */
export function containerNamed(json: any, name: string): any {
  const found = resources(json, 'docker_container').find((c) => c.name === name);
  if (!found) {
    throw new Error(`no ${name} container in the synthesized stack`);
  }
  return found;
}

/** A whole app synthesized into a temp folder, as `cdktf synth` writes it. */
export interface SynthesizedApp {
  readonly outdir: string;
  readonly stacks: TerraformStack[];
  /** Parsed cdk.tf.json by stack name. */
  readonly json: Record<string, any>;
  /** backup-topology.md by stack name (stacks with protected containers only). */
  readonly reports: Record<string, string>;
}

/**
 * Builds an app (e.g. an example's stacks) into a fresh App with the 3-2-1-1-0 pack the
 * examples apply, and synthesizes it into a new temp folder (the caller removes `outdir`).
 */
export function synthesizeApp(build: (app: App) => Record<string, TerraformStack>): SynthesizedApp {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-'));
  const app = new App({ outdir, stackTraces: false });
  const stacks = Object.values(build(app));
  Aspects.of(app).add(new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE_ONE_ZERO, printSummary: false }));
  app.synth();
  const json: Record<string, any> = {};
  const reports: Record<string, string> = {};
  for (const stack of stacks) {
    const dir = path.join(outdir, 'stacks', stack.node.id);
    json[stack.node.id] = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8'));
    if (fs.existsSync(path.join(dir, REPORT_FILE_NAME))) {
      reports[stack.node.id] = fs.readFileSync(path.join(dir, REPORT_FILE_NAME), 'utf8');
    }
  }
  return { outdir, stacks, json, reports };
}

/**
 * Temp folders for one test file, removed after it: call at the top level of the file, then
 * `const dir = tmp('prefix-')`.
 */
export function tempDirs(): (prefix: string) => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  return (prefix: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/**
 * The agent plan of the `<name>-backup` sidecar as synthesized: the `agent.json` its installer
 * uploads (or the installer's own `init-plan.json`), Terraform's escapes undone (references such as `${aws_s3_bucket.x.bucket}` stay).
 */
export function agentPlanOf(json: any, name: string, file: 'agent.json' | 'init-plan.json' = 'agent.json'): any {
  const installer = containerNamed(json, `${name}-backup-install`);
  const upload = (installer.upload ?? []).find((u: any) => u.file === `/backup/staging/${file}`);
  if (!upload) {
    throw new Error(`no ${file} upload on ${name}-backup-install`);
  }
  const references = upload.content.replace(/\$\{([^}]+)\}/g, (all: string, expression: string) => {
    const embedded = JSON_STRING_TOKEN.exec(expression);
    return embedded ? `\${${embedded[1]}}` : all;
  });
  return JSON.parse(terraformUnescape(references));
}
