/**
 * The README teaches with code: every TypeScript snippet in it must compile against this
 * library, and the Quick start must stay two commands. And the docs never teach a topology the
 * default synth refuses (issue 22): every TypeScript snippet of the README, of
 * docs/compliance.md and every example of API.md runs, in an app checked by the compliance pack
 * at its default level, and the full synth of every stack passes.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, Aspects, TerraformStack, Testing } from 'cdktf';
import * as ts from 'typescript';
import * as library from '../src';
import { BackupBucket, OffsiteReplica, Quiesce, StorageTarget, ThreeTwoOneChecks } from '../src';
import { REPORT_FILE_NAME } from '../src/compliance/hooks';
import { LOCAL, hostStack, postgres } from './compliance/stacks';
import { tempDirs } from './support/synth';

const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const tmp = tempDirs();

/** The fenced blocks of one language, with the line each starts on. */
function fencedBlocks(language: string, text = readme): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const pattern = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```', 'gm');
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    blocks.push({ line: text.slice(0, m.index).split('\n').length, code: m[1] });
  }
  return blocks;
}

/**
 * A fragment (no imports of its own) gets every export of the library and of cdktf in scope,
 * plus the names the README's prose assumes: `app`, `stack`, a protected `cache` container.
 */
function asModule(code: string): string {
  const src = path.join(root, 'src').replace(/\\/g, '/');
  if (/^import /m.test(code)) {
    return code.replace(/from 'cdktf-container-backup'/g, `from '${src}'`);
  }
  const names = Object.keys(library).join(', ');
  return [
    `import { App, Aspects, TerraformStack, TerraformVariable } from 'cdktf';`,
    `import { ${names} } from '${src}';`,
    `declare const app: App;`,
    `declare const stack: TerraformStack;`,
    `declare const cache: ProtectedContainer;`,
    `declare const vault: BackupBucket;`,
    code,
    `export {};`,
  ].join('\n');
}

describe('README', () => {
  test('the Quick start is exactly two commands, the second `npm test`', () => {
    const quickStart = readme.split(/^## Quick start$/m)[1].split(/^## /m)[0];
    const [commands] = quickStart.match(/```sh\n([\s\S]*?)```/)!.slice(1);
    const lines = commands.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('npm test');
    expect(lines[0]).toContain('npm run synth');
  });

  test('every TypeScript snippet compiles against the library', () => {
    // GIVEN the snippets, written where module resolution finds this repository's node_modules
    const blocks = fencedBlocks('ts');
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    const dir = path.join(root, 'node_modules', '.cache', 'readme-snippets');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const files = blocks.map((block) => {
      const file = path.join(dir, `line-${block.line}.ts`);
      fs.writeFileSync(file, asModule(block.code));
      return file;
    });

    // WHEN the TypeScript compiler checks them with the project's settings
    const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.dev.json'), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    })!;
    const program = ts.createProgram(files, { ...config.options, noEmit: true, noUnusedLocals: false, rootDir: undefined });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(path.resolve(d.file.fileName)))
      .map((d) => `README ${path.basename(d.file!.fileName, '.ts')}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);

    // THEN
    expect(problems).toEqual([]);
  });

  test('the smallest complete example synthesizes clean: every container 3-2-1-1-0 OK, no warning, both stacks written', () => {
    // GIVEN the block as written, importing this repository's src, synthesizing into a temp folder
    const section = readme.split(/^## The smallest complete example$/m)[1].split(/^## /m)[0];
    const block = /```ts\n([\s\S]*?)```/.exec(section)![1];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-smallest-'));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const outdir = path.join(dir, 'cdktf.out');
    const file = path.join(dir, 'main.ts');
    fs.writeFileSync(file, asModule(block).replace('new App()', `new App({ outdir: ${JSON.stringify(outdir)} })`));
    try {
      // WHEN it runs as `cdktf synth` runs an app
      const run = spawnSync(path.join(root, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', '--project', path.join(root, 'tsconfig.dev.json'), file], {
        encoding: 'utf8',
        cwd: dir,
        timeout: 120_000,
      });
      // THEN
      expect(run.stderr).not.toMatch(/WARN|ERROR/);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^db-host\/db: .*: 3-2-1-1-0 OK$/m);
      for (const stack of ['backup-storage', 'db-host']) {
        expect(fs.existsSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'))).toBe(true);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});

// ---- The docs' snippets synthesize clean at the default level (issue 22) ---------------------

/** Where `require` finds the snippets, as JavaScript (jest does not transform node_modules). */
const runDir = path.join(root, 'node_modules', '.cache', 'doc-snippets');

/** `code` (TypeScript) as a CommonJS file that `require` runs; 'cdktf-container-backup' is src/. */
function runnable(name: string, code: string): string {
  const js = ts.transpileModule(code.replace(/from 'cdktf-container-backup'/g, `from '${path.join(root, 'src')}'`), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true },
  }).outputText;
  fs.mkdirSync(runDir, { recursive: true });
  const file = path.join(runDir, `${name}.js`);
  fs.writeFileSync(file, js);
  return file;
}

/** The full synth's errors of every stack of `app` ("stack: message"), and nothing when it passes. */
function synthErrors(app: App): string[] {
  return app.node.children
    .filter((c): c is TerraformStack => TerraformStack.isStack(c))
    .flatMap((stack) => {
      try {
        Testing.fullSynth(stack);
        return [];
      } catch (e) {
        return [`${stack.node.id}: ${(e as Error).message}`];
      }
    });
}

/**
 * Runs a fragment (no `new App()` of its own) with the names the docs assume: `app` (checked at
 * the default level unless the fragment adds a pack), `stack` (a Docker host, with an AWS provider
 * for a bucket made there), `storageStack`, `vault` (a BackupBucket with an offsite replica, the
 * library's default lock) and `cache` (a crash-consistent redis, which only a suppression lets
 * pass), the last two only when the fragment uses them and does not declare them.
 */
function runFragment(name: string, code: string): string[] {
  const uses = (id: string) => new RegExp(`\\b${id}\\b`).test(code) && !new RegExp(`(const|let|var) ${id}\\b`).test(code);
  const app = Testing.app();
  const stack = hostStack(app, 'db-host');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const storageStack = new TerraformStack(app, 'backup-storage');
  new AwsProvider(storageStack, 'aws', { region: 'eu-west-1' });
  const vault = uses('vault') || uses('cache') ? new BackupBucket(storageStack, 'harness-vault', { offsite: OffsiteReplica.inRegion('eu-central-1') }) : undefined;
  const cache = uses('cache')
    ? postgres(stack, { targets: [LOCAL(), StorageTarget.s3(vault!)], quiesce: Quiesce.none() }, { image: 'redis:7', volumes: [{ name: 'redis', containerPath: '/data' }] }, 'cache')
    : undefined;
  if (!/Aspects\.of\(app\)\.add\(/.test(code)) {
    Aspects.of(app).add(new ThreeTwoOneChecks({ printSummary: false }));
  }
  const body = code.replace(/^import [^;]*;\n/gm, '');
  const file = runnable(
    name,
    [
      "import { App, Aspects, TerraformStack, TerraformVariable } from 'cdktf';",
      // A container of the user's own, which the docs show beside the protected ones.
      "import { Container } from '@cdktf/provider-docker/lib/container';",
      `import { ${Object.keys(library).join(', ')} } from 'cdktf-container-backup';`,
      'export function run(h: any) {',
      '  const { app, stack, storageStack, vault, cache } = h;',
      '  {',
      body,
      '  }',
      '}',
    ].join('\n'),
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(file).run({ app, stack, storageStack, vault, cache });
  return synthErrors(app);
}

/** The TypeScript blocks of a doc that run: the README's and docs/compliance.md's, API.md's examples. */
function docSnippets(): Array<[string, string]> {
  const doc = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
  const api = doc('API.md');
  return [
    ...fencedBlocks('ts').map((b): [string, string] => [`README.md:${b.line}`, b.code]),
    ...fencedBlocks('ts', doc('docs/compliance.md')).map((b): [string, string] => [`docs/compliance.md:${b.line}`, b.code]),
    ...fencedBlocks('typescript', api)
      .filter((b) => api.split('\n')[b.line - 3] === '*Example*')
      .map((b): [string, string] => [`API.md:${b.line}`, b.code]),
  ];
}

describe('the docs teach only what the default synth accepts', () => {
  const snippets = docSnippets();

  test('the snippets are found: README, docs/compliance.md, and every example of API.md', () => {
    expect(snippets.filter(([where]) => where.startsWith('API.md')).length).toBeGreaterThanOrEqual(8);
    expect(snippets.filter(([where]) => where.startsWith('README.md')).length).toBe(fencedBlocks('ts').length);
  });

  test.each(snippets.filter(([, code]) => !/new App\(/.test(code)))('%s runs and the full synth of every stack passes at 3-2-1-1-0', (where, code) => {
    expect(runFragment(where.replace(/[^\w]+/g, '-'), code)).toEqual([]);
  });

  test.each(snippets.filter(([, code]) => /new App\(/.test(code)))('%s, a complete app, synthesizes clean: every container 3-2-1-1-0 OK', (where, code) => {
    // GIVEN: its output in a folder of its own (cdktf reads CDKTF_OUTDIR, as under `cdktf synth`)
    const outdir = tmp('doc-app-');
    const before = process.env.CDKTF_OUTDIR;
    process.env.CDKTF_OUTDIR = outdir;
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      // WHEN: its app.synth() runs (and throws on any ERROR finding)
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(runnable(where.replace(/[^\w]+/g, '-'), code));
    } finally {
      log.mockRestore();
      if (before === undefined) {
        delete process.env.CDKTF_OUTDIR;
      } else {
        process.env.CDKTF_OUTDIR = before;
      }
    }
    // THEN
    const stacks = fs.readdirSync(path.join(outdir, 'stacks'));
    expect(stacks.length).toBeGreaterThan(0);
    for (const stack of stacks) {
      expect(fs.existsSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'))).toBe(true);
      const report = path.join(outdir, 'stacks', stack, REPORT_FILE_NAME);
      if (fs.existsSync(report)) {
        const text = fs.readFileSync(report, 'utf8');
        expect(text).toMatch(/\*\*3-2-1-1-0 OK/);
        expect(text).not.toMatch(/FAILED|REFUSED/);
      }
    }
  });

  test('the harness is not lenient: an unsuppressed `cache`, or a bare governance lock, fails its synth', () => {
    expect(runFragment('control-cache', 'cache.node.id;').join('\n')).toContain('[db-host/cache] db-host/cache [DatabaseConsistency]');
    const governance = [
      "const vault = new BackupBucket(storageStack, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1', { objectLock: ObjectLock.governance(400) }) });",
      "new ProtectedContainer(stack, 'db', { image: 'nginx:1.27', volumes: [{ name: 'html', containerPath: '/usr/share/nginx/html' }], backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/b/web' }), StorageTarget.s3(vault)] } });",
    ].join('\n');
    expect(runFragment('control-governance', governance).join('\n')).toContain('[OneImmutableOrOffline]');
  });

  test('no example locks with governance mode alone, which the pack does not count as immutable', () => {
    const bare = snippets.filter(([, code]) => /ObjectLock\.governance\(\d+\)/.test(code)).map(([where]) => where);
    expect(bare).toEqual([]);
  });
});
