/**
 * The README teaches with code: every TypeScript snippet in it must compile against this
 * library, and the Quick start must stay two commands.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as library from '../src';

const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** The fenced blocks of one language, with the line each starts on. */
function fencedBlocks(language: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const pattern = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```', 'gm');
  for (let m = pattern.exec(readme); m; m = pattern.exec(readme)) {
    blocks.push({ line: readme.slice(0, m.index).split('\n').length, code: m[1] });
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
