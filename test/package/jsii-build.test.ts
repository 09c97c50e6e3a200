/**
 * The package as users get it: jsii compiles with no warnings, API.md is what jsii-docgen
 * generates (never edited by hand), and the API translates to Python, Java, .NET and Go.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BuildResult, ROOT as root, acquireBuildLock, buildPackageLocked, npx } from '../support/jsii-build';

describe('jsii package', () => {
  let out: string;
  let build: BuildResult;
  let release: () => void;
  // Other test files read lib/ and .jsii too (npm pack, Python bindings): hold the build lock
  // while this file rebuilds from clean and reads the output.
  beforeAll(async () => {
    release = await acquireBuildLock();
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'jsii-'));
    build = buildPackageLocked();
  }, 600_000);
  afterAll(() => {
    release?.();
    fs.rmSync(out, { recursive: true, force: true });
  });

  test('compiles with jsii with no errors and no warnings', () => {
    // WHEN (in beforeAll)
    const { code, output } = build;
    // THEN
    expect(output).toContain('Errors: 0 | Warnings: 0');
    expect(code).toBe(0);
  });

  test('API.md is up to date (regenerate: npx jsii && npx jsii-docgen -o API.md)', () => {
    const generated = path.join(out, 'API.md');
    const { code, output } = npx(['jsii-docgen', '-o', generated]);
    expect(output).toBe('');
    expect(code).toBe(0);
    expect(fs.readFileSync(path.join(root, 'API.md'), 'utf8')).toBe(fs.readFileSync(generated, 'utf8'));
  });

  test('jsii-pacmak --code-only generates Python, Java, .NET and Go bindings', () => {
    // WHEN
    const { code, output } = npx(['jsii-pacmak', '--code-only', '-t', 'python', '-t', 'java', '-t', 'dotnet', '-t', 'go', '-o', out]);
    // THEN
    expect(code).toBe(0);
    expect(output).not.toMatch(/error/i);
    const files = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const all = files(out).join('\n');
    expect(all).toMatch(/python\/.*cdktf_container_backup\/__init__\.py/);
    expect(all).toMatch(/java\/.*io\/github\/cdktfcontainerbackup\/ProtectedContainer\.java/);
    expect(all).toMatch(/dotnet\/.*CdktfContainerBackup\/ProtectedContainer\.cs/);
    expect(all).toMatch(/go\/.*ProtectedContainer\.go/);
  });
});
