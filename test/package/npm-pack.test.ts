/**
 * The npm package as `npm publish` would upload it: exactly the jsii assembly, the compiled
 * JavaScript and its type declarations, the backup agent, README, API.md and LICENSE; and,
 * unpacked outside the repository, it synthesizes a stack whose sidecar carries the agent
 * script read from the package itself (lib/agent/agent-asset.js reads
 * ../../src/agent/parts/*.sh and joins them).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { agentParts, joinAgentParts } from '../../src/agent/agent-asset';
import { ROOT, ensureBuiltLocked, withBuildLock } from '../support/jsii-build';
import { renderTerraformString } from '../support/terraform-string';
import { containerNamed } from '../support/sidecar-harness';
import { terraformReferenceValues } from '../support/synth';

/** The agent's parts, as in the repository; the last one is where a marker is appended. */
const AGENT_PARTS = agentParts().map((f) => `src/agent/parts/${f}`);
const LAST_PART = AGENT_PARTS[AGENT_PARTS.length - 1];
const SECCOMP_PROFILE = 'src/docker/seccomp/docker-default-seccomp.json';
const SECCOMP_PROVENANCE = 'src/docker/seccomp/README.md';

function sourcesBelow(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourcesBelow(full) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

function npm(args: string[], cwd = ROOT) {
  const result = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

describe('npm pack', () => {
  let work: string;
  let packed: string[];
  let unpacked: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'npm-pack-'));
    // Build only when lib/ is missing or older than the sources; hold the lock while npm reads it.
    await withBuildLock(() => {
      ensureBuiltLocked();
      packed = JSON.parse(npm(['pack', '--dry-run', '--json']))[0].files.map((f: { path: string }) => f.path);
      npm(['pack', '--json', '--pack-destination', work]);
    });
    const tarballs = fs.readdirSync(work).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(1);
    unpacked = path.join(work, 'unpacked');
    fs.mkdirSync(unpacked);
    const tar = spawnSync('tar', ['-xzf', path.join(work, tarballs[0]), '-C', unpacked], { encoding: 'utf8' });
    expect(tar.stderr).toBe('');
    unpacked = path.join(unpacked, 'package');
  }, 600_000);

  afterAll(() => work && fs.rmSync(work, { recursive: true, force: true }));

  test('holds .jsii, lib (js + d.ts of every source), the agent, the seccomp profile, README, API.md, LICENSE and package.json, nothing else', () => {
    // GIVEN: every source file compiles to one .js and one .d.ts
    const compiled = sourcesBelow(path.join(ROOT, 'src')).flatMap((file) => {
      const base = path.relative(path.join(ROOT, 'src'), file).replace(/\.ts$/, '');
      return [`lib/${base}.js`, `lib/${base}.d.ts`];
    });
    const expected = ['.jsii', 'API.md', 'LICENSE', 'README.md', 'package.json', ...AGENT_PARTS, SECCOMP_PROFILE, SECCOMP_PROVENANCE, ...compiled];
    // THEN
    expect([...packed].sort()).toEqual([...expected].sort());
  });

  test('the tarball holds the same files, the agent as in the repository', () => {
    const files = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    expect(files(unpacked).map((f) => path.relative(unpacked, f)).sort()).toEqual([...packed].sort());
    for (const part of AGENT_PARTS) {
      expect(fs.readFileSync(path.join(unpacked, part), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, part), 'utf8'));
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ license: 'Apache-2.0', main: 'lib/index.js', types: 'lib/index.d.ts', stability: expect.any(String) });
    expect(manifest.keywords).toContain('cdktf');
    expect(manifest.repository.url).toMatch(/^https:\/\//);
    expect(manifest.homepage).toMatch(/^https:\/\//);
    expect(manifest.bugs.url).toMatch(/^https:\/\//);
    expect(fs.readFileSync(path.join(unpacked, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });

  test('unpacked outside the repository, it synthesizes a sidecar whose installer uploads the agent read from the package', () => {
    // GIVEN: a marker line in the unpacked agent, so the synthesized upload can only come from there
    const agent = path.join(unpacked, LAST_PART);
    const marker = `# packed-agent-marker ${process.pid} \${NOT_TERRAFORM}`;
    fs.appendFileSync(agent, `${marker}\n`);
    const outdir = path.join(work, 'cdktf.out');
    const app = path.join(work, 'app.js');
    fs.writeFileSync(
      app,
      `
const { App, TerraformStack } = require('cdktf');
const { DockerProvider } = require('@cdktf/provider-docker/lib/provider');
const lib = require(${JSON.stringify(path.join(unpacked, 'lib', 'index.js'))});
const app = new App({ outdir: ${JSON.stringify(outdir)} });
const stack = new TerraformStack(app, 'host');
new DockerProvider(stack, 'docker', {});
new lib.ProtectedContainer(stack, 'db', {
  image: 'postgres:16',
  volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
  backup: {
    quiesce: lib.Quiesce.stop(),
    targets: [lib.StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: lib.Medium.DISK })],
  },
});
app.synth();
console.log(require.resolve('cdktf'));
`,
    );
    // WHEN: node resolves cdktf and the providers from the repository's node_modules, the
    // library from the unpacked package only
    const result = spawnSync(process.execPath, [app], {
      cwd: work,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NODE_PATH: path.join(ROOT, 'node_modules'), CHECKPOINT_DISABLE: '1' },
    });
    // THEN
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n').pop()).toBe(path.join(ROOT, 'node_modules', 'cdktf', 'lib', 'index.js'));
    const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'host', 'cdk.tf.json'), 'utf8'));
    const installer = containerNamed(json, 'db-backup-install');
    const upload = installer.upload.find((u: any) => u.file === '/backup/staging/bin/backup-agent');
    expect(upload.permissions).toBe('0555');
    // and the seccomp profile, read from the package too
    expect(json.locals.cdktf_container_backup_sidecar_seccomp).toContain('"defaultAction"');
    // the parts as unpacked (the marker in the last one), joined as agentScript() joins them
    const joined = joinAgentParts(AGENT_PARTS.map((part) => fs.readFileSync(path.join(unpacked, part), 'utf8')));
    // (the upload reads the stack's local that holds the script)
    const script = renderTerraformString(upload.content, terraformReferenceValues(json));
    expect(script).toBe(joined);
    expect(script).toContain('# packed-agent-marker');
  });
});
