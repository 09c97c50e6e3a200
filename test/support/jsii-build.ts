/**
 * One jsii build of the package for the tests that need the compiled output (`lib/`, `.jsii`),
 * safe when several jest workers ask for it at once.
 *
 * - `withBuildLock` serialises every step that writes or reads the build output across
 *   processes (a `mkdir` lock in the temp folder, keyed by the repository path, taken over when
 *   its owner process is gone), so no test packs or generates code from a half-written `lib/`.
 * - `buildPackage` builds from clean: it removes `lib/` first, because jsii never deletes the
 *   output of a source file that no longer exists, and the package would ship it. It records
 *   a digest of the inputs, so `ensureBuilt` builds only when the sources changed since.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
const LOCK_DIR = path.join(os.tmpdir(), `cdktf-container-backup-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);
const STAMP = path.join(ROOT, 'node_modules', '.cache', 'cdktf-container-backup', 'jsii-build.json');

export interface BuildResult {
  /** jsii's exit code. */
  readonly code: number | null;
  /** jsii's stdout and stderr. */
  readonly output: string;
  /** False when the output was already up to date and nothing ran. */
  readonly built: boolean;
}

const env = { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };

/** Runs `npx --no-install ARGS` at the repository root. */
export function npx(args: string[], cwd = ROOT) {
  const result = spawnSync('npx', ['--no-install', ...args], { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

function filesBelow(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesBelow(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

/** A digest of everything jsii reads: sources, package.json, tsconfig, README, jsii's version. */
export function inputsDigest(): string {
  const hash = createHash('sha256');
  const inputs = [
    ...filesBelow(path.join(ROOT, 'src')),
    path.join(ROOT, 'package.json'),
    path.join(ROOT, 'tsconfig.json'),
    path.join(ROOT, 'README.md'),
    path.join(ROOT, 'node_modules', 'jsii', 'package.json'),
  ];
  for (const file of inputs) {
    hash.update(path.relative(ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `fn` while no other process of this repository's tests builds or reads the output. */
export async function withBuildLock<T>(fn: () => T | Promise<T>, timeoutMs = 15 * 60 * 1000): Promise<T> {
  const release = await acquireBuildLock(timeoutMs);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** Takes the build lock; call the returned function to release it. */
export async function acquireBuildLock(timeoutMs = 15 * 60 * 1000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  const owner = path.join(LOCK_DIR, 'owner');
  for (;;) {
    try {
      fs.mkdirSync(LOCK_DIR);
      fs.writeFileSync(owner, String(process.pid));
      return () => fs.rmSync(LOCK_DIR, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw e;
      }
    }
    let pid = NaN;
    try {
      pid = Number(fs.readFileSync(owner, 'utf8'));
    } catch {
      // the owner is just writing its pid, or releasing
    }
    if (pid > 0 && !alive(pid)) {
      fs.rmSync(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`the jsii build lock ${LOCK_DIR} is still held by process ${pid}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Builds from clean with jsii. Call it while holding the build lock. */
export function buildPackageLocked(): BuildResult {
  const digest = inputsDigest();
  fs.rmSync(path.join(ROOT, 'lib'), { recursive: true, force: true });
  fs.rmSync(STAMP, { force: true });
  const { code, output } = npx(['jsii']);
  if (code === 0) {
    fs.mkdirSync(path.dirname(STAMP), { recursive: true });
    fs.writeFileSync(STAMP, JSON.stringify({ digest }));
  }
  return { code, output, built: true };
}

/** Whether `lib/` and `.jsii` were built from the current sources. */
export function isUpToDate(): boolean {
  try {
    const stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
    return stamp.digest === inputsDigest() && fs.existsSync(path.join(ROOT, '.jsii')) && fs.existsSync(path.join(ROOT, 'lib', 'index.js'));
  } catch {
    return false;
  }
}

/** Builds when the output is missing or stale. Call it while holding the build lock. */
export function ensureBuiltLocked(): BuildResult {
  if (isUpToDate()) {
    return { code: 0, output: '', built: false };
  }
  const result = buildPackageLocked();
  if (result.code !== 0) {
    throw new Error(`jsii failed (exit ${result.code}):\n${result.output}`);
  }
  return result;
}
