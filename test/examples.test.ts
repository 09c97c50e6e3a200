/**
 * Every TypeScript example synthesizes, passes the 3-2-1-1-0 pack it applies, and holds the
 * resources it describes. The examples are imported (their `require.main === module` block,
 * which adds the pack and synthesizes, runs only as a cdktf app); the last test runs the real
 * `cdktf synth` in each example folder with its own cdktf.json, as a user would.
 * (The default example, examples/postgres, is also covered in depth by
 * test/compliance/default-example.test.ts, test/aws/* and test/no-plaintext-secrets.test.ts.)
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { defaultExample } from '../examples/postgres/main';
import { s3CompatibleExample } from '../examples/s3-compatible/main';
import { swarmExample } from '../examples/swarm/main';
import { MARIADB_DUMP, wordpressExample } from '../examples/wordpress/main';
import { annotations } from './compliance/stacks';
import { SynthesizedApp, agentPlanOf, synthesizeApp } from './support/synth';

const root = path.resolve(__dirname, '..');
const ONE_REFERENCE = /^\$\{[^${}]+\}$/;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Builds an example into a fresh App with the pack the example applies, and synthesizes it. */
function synthesize(build: (app: App) => Record<string, TerraformStack>): SynthesizedApp {
  const synthesized = synthesizeApp(build);
  dirs.push(synthesized.outdir);
  return synthesized;
}

const containers = (json: any): Record<string, any> =>
  Object.fromEntries(Object.values<any>(json.resource?.docker_container ?? {}).map((c) => [c.name, c]));
const envOf = (container: any): Record<string, string> =>
  Object.fromEntries((container.env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

/** The examples: name, file, how to build it, the protected workloads, and the warnings it shows on purpose. */
const EXAMPLES: Array<[string, string, (app: App) => Record<string, TerraformStack>, string[], string[]]> = [
  ['postgres (default)', 'examples/postgres/main.ts', defaultExample, ['db-host/db'], []],
  ['wordpress', 'examples/wordpress/main.ts', wordpressExample, ['wordpress-host/database', 'wordpress-host/wordpress'], []],
  ['s3-compatible', 'examples/s3-compatible/main.ts', s3CompatibleExample, ['git-host/git'], []],
  // Two web replicas each keep their own uploads: the example shows the warning that says so.
  ['swarm', 'examples/swarm/main.ts', swarmExample, ['swarm-cluster/db', 'swarm-cluster/web'], ['swarm-cluster/web [ReplicatedServiceData]']],
];

describe.each(EXAMPLES)('example %s', (_name, file, build, protectedPaths, warnings) => {
  let synthesized: SynthesizedApp;
  beforeAll(() => {
    synthesized = synthesize(build);
  });

  test('applies the 3-2-1-1-0 pack when run as the cdktf app, and only then', () => {
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    expect(source).toMatch(/if \(require\.main === module\) \{[\s\S]*Aspects\.of\(app\)\.add\(\s*new ThreeTwoOneChecks\(\{ level: ComplianceLevel\.THREE_TWO_ONE_ONE_ZERO \}\)\)/);
  });

  test('passes 3-2-1-1-0: no compliance error, no warning but those it shows on purpose, every container reported OK', () => {
    const shown: string[] = [];
    for (const stack of synthesized.stacks) {
      expect(annotations(stack, 'error')).toEqual([]);
      shown.push(...annotations(stack, 'warn').map((w) => /: ([^ ]+ \[[A-Za-z]+\])/.exec(w)![1]));
    }
    expect(shown).toEqual(warnings);
    const summaries = Object.values(synthesized.reports).join('\n');
    for (const p of protectedPaths) {
      expect(summaries).toMatch(new RegExp(`\\| \`${p}\` \\| .*: 3-2-1-1-0 OK(, warnings: [A-Za-z, ]+)? \\|`));
    }
    expect(summaries.match(/: 3-2-1-1-0 OK(, warnings: [A-Za-z, ]+)? \|/g)).toHaveLength(protectedPaths.length);
  });

  test('secrets are sensitive variables or references, and reach sidecars as files', () => {
    for (const json of Object.values(synthesized.json)) {
      for (const [id, variable] of Object.entries<any>(json.variable ?? {})) {
        if (/password|secret|access_key/i.test(id)) {
          expect({ id, sensitive: variable.sensitive }).toEqual({ id, sensitive: true });
        }
      }
      for (const container of Object.values(containers(json))) {
        for (const upload of container.upload ?? []) {
          if (upload.file.startsWith('/backup/agent/secrets/')) {
            expect({ file: upload.file, content: upload.content }).toEqual({ file: upload.file, content: expect.stringMatching(ONE_REFERENCE) });
          }
        }
        for (const [name, value] of Object.entries(envOf({ env: container.env ?? [] }))) {
          if (/(PASSWORD|SECRET)$/.test(name)) {
            expect({ name, value }).toEqual({ name, value: expect.stringMatching(ONE_REFERENCE) });
          }
        }
      }
    }
  });
});

describe('wordpress example', () => {
  let host: any;
  let storage: any;
  beforeAll(() => {
    const s = synthesize(wordpressExample);
    host = s.json['wordpress-host'];
    storage = s.json['wordpress-storage'];
  });

  test('two protected containers with a sidecar each, on one private network', () => {
    const all = containers(host);
    expect(Object.keys(all).sort()).toEqual([
      'wordpress', 'wordpress-backup', 'wordpress-backup-install', 'wordpress-db', 'wordpress-db-backup', 'wordpress-db-backup-docker-api', 'wordpress-db-backup-install',
    ]);
    expect(Object.values<any>(host.resource.docker_network).map((n) => n.name)).toContain('wordpress');
    for (const name of ['wordpress', 'wordpress-db']) {
      expect(all[name].networks_advanced).toEqual([{ name: '${docker_network.network.name}' }]);
    }
    expect(envOf(all.wordpress)).toMatchObject({ WORDPRESS_DB_HOST: 'wordpress-db', WORDPRESS_DB_PASSWORD: '${var.wordpress_db_password}' });
    expect(envOf(all['wordpress-db'])).toMatchObject({ MARIADB_PASSWORD: '${var.wordpress_db_password}', MARIADB_ROOT_PASSWORD: '${var.mariadb_root_password}' });
    expect(all.wordpress.ports).toEqual([{ internal: 80, external: 8080, ip: '127.0.0.1', protocol: 'tcp' }]);
    const volumes = Object.values<any>(host.resource.docker_volume);
    for (const name of ['wordpress-db', 'wordpress-files']) {
      expect(volumes.find((v) => v.name === name)?.lifecycle).toEqual({ prevent_destroy: true });
    }
  });

  test('MariaDB is dumped onto its volume before each backup; the files follow half an hour later, as they are', () => {
    const all = containers(host);
    const db = agentPlanOf(host, 'wordpress-db');
    expect(db).toMatchObject({ quiesce: { mode: 'exec', container: 'wordpress-db' }, schedule: { expression: '0 2 * * *' }, sources: ['/backup/sources/wordpress-db'] });
    expect(db.quiesce.command).toEqual(MARIADB_DUMP);
    expect(MARIADB_DUMP.join(' ')).toMatch(/mariadb-dump .*--single-transaction.* > \/var\/lib\/mysql\/dump\.sql\.tmp && mv \/var\/lib\/mysql\/dump\.sql\.tmp \/var\/lib\/mysql\/dump\.sql$/);
    const files = agentPlanOf(host, 'wordpress');
    expect(files).toMatchObject({ schedule: { expression: '30 2 * * *' }, sources: ['/backup/sources/wordpress-files'], quiesce: { mode: 'none' } });
    expect(Object.keys(all)).not.toContain('wordpress-backup-docker-api');
  });

  test('both back up to a local disk and to one bucket, each under its own prefix and its own IAM user', () => {
    const all = containers(host);
    for (const name of ['wordpress-db', 'wordpress']) {
      const { targets } = agentPlanOf(host, name);
      expect(targets[0].repository).toBe('/backup/targets/local');
      expect(targets[1].repository).toMatch(new RegExp(`^s3:https://s3\\.eu-west-1\\.amazonaws\\.com/\\$\\{[^}]+\\}/${name}$`));
      expect(targets[1].replicas[0].repository).toMatch(new RegExp(`^s3:https://s3\\.eu-central-1\\.amazonaws\\.com/\\$\\{[^}]+\\}/${name}$`));
      expect(all[`${name}-backup`].volumes).toEqual([{ host_path: `/mnt/backup-disk/${name}/repository`, container_path: '/backup/targets/local' }]);
      expect(all[`${name}-backup-install`].volumes).toEqual([{ host_path: `/mnt/backup-disk/${name}`, container_path: '/backup/target-folders/local' }]);
    }
    // Per container: the agent's user, and the restic-init user that alone may create config and keys/.
    expect(Object.keys(storage.resource.aws_iam_user)).toHaveLength(4);
    expect(Object.values<any>(storage.resource.aws_s3_bucket_object_lock_configuration)).toHaveLength(1);
    expect(Object.values<any>(storage.resource.aws_ssm_parameter)).toHaveLength(1);
  });
});

describe('s3-compatible example', () => {
  let host: any;
  beforeAll(() => {
    host = synthesize(s3CompatibleExample).json['git-host'];
  });

  test('creates no AWS resource and needs no AWS provider', () => {
    expect(Object.keys(host.resource).filter((t) => t.startsWith('aws_'))).toEqual([]);
    expect(Object.keys(host.provider ?? {})).toEqual(['docker']);
  });

  test('backs Gitea up, stopped, to a local disk and to the existing bucket, with the key from sensitive variables', () => {
    const all = containers(host);
    expect(Object.keys(all).sort()).toEqual(['git', 'git-backup', 'git-backup-docker-api', 'git-backup-install']);
    const plan = agentPlanOf(host, 'git');
    expect(plan.quiesce).toMatchObject({ mode: 'stop', container: 'git' });
    expect(plan.targets[0].repository).toBe('/backup/targets/local');
    expect(plan.targets[1]).toMatchObject({
      name: 'wasabi',
      repository: 's3:https://s3.eu-central-2.wasabisys.com/acme-git-backups/git',
      environment: { AWS_DEFAULT_REGION: 'eu-central-2', AWS_ACCESS_KEY_ID: '${var.wasabi_access_key_id}' },
      secretFiles: { AWS_SECRET_ACCESS_KEY: '/backup/install/secrets/target-2-aws-secret-access-key' },
    });
    expect(all['git-backup-install'].upload).toContainEqual({
      file: '/backup/staging/secrets/target-2-aws-secret-access-key',
      content: '${var.wasabi_secret_access_key}',
      permissions: '0400',
    });
  });
});

/** Runs the real `cdktf synth` in `cwd` (a folder with cdktf.json). */
function cdktfSynth(cwd: string, outdir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'node_modules', '.bin', 'cdktf'), ['synth', '--output', outdir], {
      cwd,
      env: { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1', FORCE_COLOR: '0', NO_COLOR: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('`cdktf synth` in each example folder applies the pack and succeeds', async () => {
  const runs: Array<[string, string[]]> = [
    ['examples/wordpress', ['wordpress-host/database', 'wordpress-host/wordpress']],
    ['examples/s3-compatible', ['git-host/git']],
    ['examples/swarm', ['swarm-cluster/db']],
  ];
  const results = await Promise.all(
    runs.map(([dir]) => {
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-cli-'));
      dirs.push(outdir);
      return cdktfSynth(path.join(root, dir), outdir);
    }),
  );
  runs.forEach(([dir, paths], i) => {
    const { code, output } = results[i];
    for (const p of paths) {
      expect({ dir, line: output.match(new RegExp(`${p}: .*`))?.[0] }).toEqual({ dir, line: expect.stringMatching(/: 3-2-1-1-0 OK$/) });
    }
    expect({ dir, code }).toEqual({ dir, code: 0 });
  });
}, 300_000);
