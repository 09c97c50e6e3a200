/**
 * The default example (examples/postgres/main.ts) against the compliance pack: it passes at
 * level 3-2-1-1-0, and the same example with its offsite copy removed makes the README's synth
 * command fail, naming the offsite rule and the fix. The last two run the real `cdktf synth`
 * (what `npm run synth` runs) as a user would.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Aspects, Testing } from 'cdktf';
import { ComplianceLevel, ThreeTwoOneChecks } from '../../src';
import { REPORT_FILE_NAME } from '../../src/compliance/hooks';
import { defaultExample } from '../../examples/postgres/main';
import { annotations } from './stacks';
import { tempDirs } from '../support/synth';

const root = path.resolve(__dirname, '..', '..');
const EXAMPLE = path.join(root, 'examples', 'postgres', 'main.ts');
const STACK_TRACE_LINE = /^\s+at .+:\d+:\d+\)?$/m;

/** Runs `cdktf synth` in `cwd` (a folder with cdktf.json) into `outdir`. */
function cdktfSynth(cwd: string, outdir: string) {
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'cdktf'), ['synth', '--output', outdir], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1', FORCE_COLOR: '0', NO_COLOR: '1' },
    timeout: 280_000,
  });
  return { code: result.status, output: `${result.stdout}\n${result.stderr}` };
}

const tmp = tempDirs();

test('the default example passes at level 3-2-1-1-0', () => {
  // GIVEN
  const app = Testing.app();
  const { storage, host } = defaultExample(app);
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  // WHEN
  Aspects.of(app).add(new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE_ONE_ZERO }));
  Testing.synth(storage);
  Testing.synth(host);
  log.mockRestore();
  // THEN
  expect(annotations(host, 'error')).toEqual([]);
  expect(annotations(host, 'warn')).toEqual([]);
  expect(() => Testing.fullSynth(host)).not.toThrow();
});

describe('the README synth command (cdktf synth of the default example)', () => {
  test('applies the 3-2-1-1-0 pack, succeeds, and writes the topology report', () => {
    // GIVEN
    const source = fs.readFileSync(EXAMPLE, 'utf8');
    expect(source).toMatch(/Aspects\.of\(app\)\.add\(\s*new ThreeTwoOneChecks\(/);
    const outdir = tmp('default-example-');
    // WHEN
    const { code, output } = cdktfSynth(root, outdir);
    // THEN
    expect(output).toContain('db-host/db: ');
    expect(output).toMatch(/db-host\/db: .*: 3-2-1-1-0 OK/);
    expect(code).toBe(0);
    const report = fs.readFileSync(path.join(outdir, 'stacks', 'db-host', REPORT_FILE_NAME), 'utf8');
    expect(report).toContain('**3-2-1-1-0 OK**');
    expect(report).toContain('```mermaid');
  });

  test('with its offsite copy removed, exits non-zero naming the offsite rule and the fix, without a stack trace', () => {
    // GIVEN: the example as it is, with the S3 target (the offsite copy and its replica) taken out
    const source = fs.readFileSync(EXAMPLE, 'utf8');
    const lines = source.split('\n');
    const kept = lines.filter((l) => !/StorageTarget\.s3\(/.test(l));
    expect(lines.length - kept.length).toBe(1);
    const dir = tmp('example-without-offsite-');
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'main.ts'), kept.join('\n').replace(/from '\.\.\/\.\.\/src'/g, `from '${path.join(root, 'src')}'`));
    fs.writeFileSync(
      path.join(dir, 'cdktf.json'),
      JSON.stringify({ language: 'typescript', app: `npx ts-node --project ${path.join(root, 'tsconfig.dev.json')} main.ts`, projectId: 'without-offsite', sendCrashReports: 'false' }),
    );
    // WHEN
    const { code, output } = cdktfSynth(dir, path.join(dir, 'cdktf.out'));
    // THEN
    expect(code).not.toBe(0);
    expect(output).toContain('db-host/db [OneOffsite]: only 1 site (docker-host)');
    expect(output).toContain('Fix: add an offsite copy: StorageTarget.s3(...) in another region, or an offsite replica on the bucket');
    expect(output).not.toMatch(STACK_TRACE_LINE);
  });
});
