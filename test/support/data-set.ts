/**
 * The tests' and the benchmark's one data-set generator, and a way to compare two trees.
 *
 * - `writeMixedDataSet` (a few MB, for the agent, e2e and runbook tests): every kind of entry
 *   a restore must give back, with deterministic content; `changeMixedDataSet` is a day of
 *   use on it. `describeTree` fingerprints a tree to compare it with its restore.
 * - `ensureDataSet` (any size, for bench/agent.ts): realistic in shape and deterministic.
 *   Half of the bytes are compressible text (log and CSV lines with varying numbers, about
 *   4:1 under gzip), half are random (already compressed or encrypted data). Within each half,
 *   40% of the bytes sit in many small files (1 to 32 KiB, in nested folders) and 60% in a
 *   few large files (4 to 32 MiB, scaled down with the total). Every file's content is a pure
 *   function of (file index, version), so a data set can be re-created or reset byte for
 *   byte. `changeFiles` simulates a day of changes: a given fraction of the files (by count,
 *   chosen by a seeded generator) gets a new version. A small file is rewritten whole; a
 *   large file gets a few 64 KiB blocks rewritten in place (what a database does to its pages).
 *
 * Both draw their bytes from the same seeded generator (`Rng`) and text (`textContent`).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** One file of the data set. */
export interface DataFile {
  readonly index: number;
  readonly rel: string;
  readonly size: number;
  readonly kind: 'text' | 'random';
  readonly large: boolean;
}

/** The planned set of files, and its state on disk. */
export interface DataSet {
  readonly root: string;
  readonly files: DataFile[];
  readonly totalBytes: number;
  /** Current version of every file (0 = as generated). */
  readonly versions: number[];
}

const STATE_FILE = '.data-set-state.json';
const GENERATOR_VERSION = 1;
const BLOCK = 64 * 1024;

/** A small, fast, seedable generator (xorshift32). */
export class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = (seed >>> 0) ^ 0x9e3779b9 || 1;
    for (let i = 0; i < 8; i++) {
      this.next();
    }
  }
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  fill(buf: Buffer): void {
    let i = 0;
    for (; i + 4 <= buf.length; i += 4) {
      buf.writeUInt32LE(this.next(), i);
    }
    for (; i < buf.length; i++) {
      buf[i] = this.next() & 0xff;
    }
  }
}

/** Plans the files of a data set of about `totalBytes` (deterministic). */
export function planDataSet(totalBytes: number): DataFile[] {
  const rng = new Rng(20261126);
  const files: DataFile[] = [];
  const half = totalBytes / 2;
  const largeMax = Math.max(256 * 1024, Math.min(32 * 1024 * 1024, Math.floor(totalBytes / 16)));
  const largeMin = Math.max(64 * 1024, Math.floor(largeMax / 8));
  for (const kind of ['text', 'random'] as const) {
    // 60% of this half in large files.
    let large = 0;
    let n = 0;
    while (large < half * 0.6) {
      const size = Math.min(rng.int(largeMin, largeMax), Math.ceil(half * 0.6 - large));
      files.push({ index: files.length, rel: path.join(`${kind}-large`, `${kind === 'text' ? 'table' : 'blob'}-${n++}.${kind === 'text' ? 'csv' : 'bin'}`), size, kind, large: true });
      large += size;
    }
    // 40% in small files, 100 to a folder, two levels deep.
    let small = 0;
    let k = 0;
    while (small < half * 0.4) {
      const size = rng.int(1024, 32 * 1024);
      const dir = path.join(`${kind}-small`, `d${Math.floor(k / 1000)}`, `d${Math.floor(k / 100) % 10}`);
      files.push({ index: files.length, rel: path.join(dir, `f${k}.${kind === 'text' ? 'log' : 'dat'}`), size, kind, large: false });
      small += size;
      k++;
    }
  }
  return files;
}

const WORDS = [
  'checkpoint', 'complete', 'wrote', 'buffers', 'autovacuum', 'table', 'index', 'scan', 'tuples', 'removed',
  'remain', 'dead', 'pages', 'frozen', 'connection', 'authorized', 'user', 'database', 'duration', 'statement',
  'SELECT', 'UPDATE', 'INSERT', 'DELETE', 'orders', 'customers', 'invoices', 'WHERE', 'id', 'status', 'shipped',
  'pending', 'LOG', 'INFO', 'WARN', 'ERROR', 'client', 'session', 'transaction', 'commit', 'rollback', 'lock',
];

/** Text content: log-like lines (for .log) or CSV rows (for .csv), with varying numbers. */
export function textContent(size: number, seed: number, csv: boolean): Buffer {
  const rng = new Rng(seed);
  const parts: string[] = [];
  let length = 0;
  let t = 1795572000 + (seed % 100000);
  while (length < size) {
    t += rng.int(0, 3);
    let line: string;
    if (csv) {
      line = `${rng.int(1, 9999999)},${WORDS[rng.int(20, 31)]},${rng.int(0, 99999)}.${rng.int(0, 99)},${WORDS[rng.int(0, WORDS.length - 1)]},${new Date(t * 1000).toISOString()}\n`;
    } else {
      const n = rng.int(3, 9);
      const words: string[] = [];
      for (let i = 0; i < n; i++) {
        words.push(rng.int(0, 4) === 0 ? String(rng.int(0, 65535)) : WORDS[rng.int(0, WORDS.length - 1)]);
      }
      line = `${new Date(t * 1000).toISOString()} [${rng.int(100, 32767)}] ${WORDS[rng.int(32, 35)]}: ${words.join(' ')}\n`;
    }
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1');
}

function content(file: DataFile, version: number, size: number = file.size): Buffer {
  const seed = (file.index * 7919 + version * 104729 + 1) >>> 0;
  if (file.kind === 'random') {
    const buf = Buffer.alloc(size);
    new Rng(seed).fill(buf);
    return buf;
  }
  return textContent(size, seed, file.large);
}

function writeFile(root: string, file: DataFile, version: number): void {
  const full = path.join(root, file.rel);
  if (version === 0 || !file.large) {
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content(file, version));
    return;
  }
  // A large file changes in place: a few blocks at seeded offsets.
  const rng = new Rng(file.index * 31 + version);
  const fd = fs.openSync(full, 'r+');
  try {
    for (let b = 0; b < 4; b++) {
      const offset = Math.floor(rng.int(0, Math.max(0, Math.floor((file.size - BLOCK) / BLOCK)))) * BLOCK;
      const block = content(file, version * 4 + b, Math.min(BLOCK, file.size - offset));
      fs.writeSync(fd, block, 0, block.length, offset);
    }
  } finally {
    fs.closeSync(fd);
  }
}

interface SavedState {
  readonly generator: number;
  readonly totalBytes: number;
  readonly versions: Record<number, number>;
}

/**
 * Creates the data set under `root`, or brings an existing one back to its generated state
 * (only the files a previous run changed are rewritten).
 */
export function ensureDataSet(root: string, totalBytes: number): DataSet {
  const files = planDataSet(totalBytes);
  const stateFile = path.join(root, '..', `${path.basename(root)}${STATE_FILE}`);
  let saved: SavedState | undefined;
  try {
    saved = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    saved = undefined;
  }
  const reusable = saved && saved.generator === GENERATOR_VERSION && saved.totalBytes === totalBytes && fs.existsSync(root);
  if (!reusable) {
    fs.rmSync(root, { recursive: true, force: true });
    for (const f of files) {
      writeFile(root, f, 0);
    }
  } else {
    for (const [index, version] of Object.entries(saved!.versions)) {
      if (version !== 0) {
        // Whole, also a large file a previous run changed in place.
        const f = files[Number(index)];
        fs.writeFileSync(path.join(root, f.rel), content(f, 0));
      }
    }
  }
  const versions = files.map(() => 0);
  const set: DataSet = { root, files, totalBytes: files.reduce((s, f) => s + f.size, 0), versions };
  saveState(set, totalBytes);
  return set;
}

function saveState(set: DataSet, totalBytes: number): void {
  const changed: Record<number, number> = {};
  set.versions.forEach((v, i) => {
    if (v !== 0) {
      changed[i] = v;
    }
  });
  const stateFile = path.join(set.root, '..', `${path.basename(set.root)}${STATE_FILE}`);
  fs.writeFileSync(stateFile, JSON.stringify({ generator: GENERATOR_VERSION, totalBytes, versions: changed }));
}

/** What one simulated day changed. */
export interface Change {
  readonly files: number;
  /** Bytes rewritten (whole small files, blocks of large ones). */
  readonly bytes: number;
}

/** Changes `fraction` of the files (by count), chosen with `seed`. */
export function changeFiles(set: DataSet, fraction: number, seed: number, requestedTotal: number): Change {
  const rng = new Rng(seed * 2654435761);
  const count = Math.max(1, Math.round(set.files.length * fraction));
  const chosen = new Set<number>();
  while (chosen.size < count) {
    chosen.add(rng.int(0, set.files.length - 1));
  }
  let bytes = 0;
  for (const i of chosen) {
    const f = set.files[i];
    set.versions[i] += 1;
    writeFile(set.root, f, set.versions[i]);
    bytes += f.large ? 4 * Math.min(BLOCK, f.size) : f.size;
  }
  saveState(set, requestedTotal);
  return { files: count, bytes };
}

/** Counts of the data set, for the report. */
export function describeDataSet(set: DataSet) {
  const by = (pred: (f: DataFile) => boolean) => {
    const fs_ = set.files.filter(pred);
    return { files: fs_.length, bytes: fs_.reduce((s, f) => s + f.size, 0) };
  };
  return {
    files: set.files.length,
    bytes: set.totalBytes,
    textSmall: by((f) => f.kind === 'text' && !f.large),
    textLarge: by((f) => f.kind === 'text' && f.large),
    randomSmall: by((f) => f.kind === 'random' && !f.large),
    randomLarge: by((f) => f.kind === 'random' && f.large),
  };
}

/** `size` deterministic pseudo-random bytes (the generator seeded with `seed`). */
export function pseudoRandomBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  new Rng(seed).fill(out);
  return out;
}

/** Uid and gid of the database-like folder's entries (the postgres user of the official image). */
export const FOREIGN_OWNER = 999;

/**
 * Writes a mixed data set of about 4.5 MB below `root`, the same bytes every time:
 *
 * - a database-like tree: `base/` (mode 0700) and everything in it owned by uid and gid 999
 *   (`base/16384/`, a 3 MiB random `random.bin`, a 1 MiB `zeros.bin`, a 0600
 *   `owned-by-postgres`: 5 entries), `PG_VERSION`, a compressible `postgresql.conf`;
 * - a 512 KiB compressible log, nested folders (`nested/a/b/c/deep.json`, a random
 *   `nested/a/sibling.bin`), an empty file and an empty folder;
 * - names with spaces, shell characters and non-ASCII;
 * - symlinks: relative (`current.conf`), absolute, dangling, to a folder; a hard link
 *   (`hard-link.txt` to `hello.txt`);
 * - modes 0600, 0755, 0444 in a 0750 folder.
 */
export function writeMixedDataSet(root: string): void {
  const file = (rel: string, data: string | Buffer, mode = 0o644) => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
    fs.chmodSync(p, mode);
  };
  file('PG_VERSION', '16\n');
  file('postgresql.conf', 'shared_buffers = 128MB\n'.repeat(2000));
  file('base/16384/random.bin', pseudoRandomBytes(3 * 1024 * 1024 + 17, 42));
  file('base/16384/zeros.bin', Buffer.alloc(1024 * 1024));
  file('base/owned-by-postgres', 'only uid 999 may read this\n', 0o600);
  for (const p of ['base', 'base/16384', 'base/16384/random.bin', 'base/16384/zeros.bin', 'base/owned-by-postgres']) {
    fs.lchownSync(path.join(root, p), FOREIGN_OWNER, FOREIGN_OWNER);
  }
  fs.chmodSync(path.join(root, 'base'), 0o700);
  file('log/compressible.log', textContent(512 * 1024, 3, false));
  file('nested/a/b/c/deep.json', JSON.stringify({ deep: true, n: 42 }));
  file('nested/a/sibling.bin', pseudoRandomBytes(70000, 5));
  file('empty-file', '');
  fs.mkdirSync(path.join(root, 'empty-dir'));
  file('name with spaces & $dollar.txt', 'odd names survive\n');
  file('names/grüße-日本.txt', 'unicode\n');
  file('hello.txt', 'hello, world\n');
  fs.linkSync(path.join(root, 'hello.txt'), path.join(root, 'hard-link.txt'));
  fs.symlinkSync('postgresql.conf', path.join(root, 'current.conf'));
  fs.symlinkSync('/etc/hostname', path.join(root, 'link-absolute'));
  fs.symlinkSync('does/not/exist', path.join(root, 'link-dangling'));
  fs.symlinkSync('nested/a', path.join(root, 'link-to-dir'));
  file('modes/secret', 'only the owner\n', 0o600);
  file('modes/script.sh', '#!/bin/sh\necho hi\n', 0o755);
  file('modes/read-only', 'read only\n', 0o444);
  fs.chmodSync(path.join(root, 'modes'), 0o750);
}

/**
 * Changes a data set written by `writeMixedDataSet` the way a day of use would: small files
 * edited and appended to, a file added in a new nested folder, one removed, a mode and a
 * symlink changed. The large files stay as they are, so an incremental backup adds little.
 */
export function changeMixedDataSet(root: string): void {
  fs.writeFileSync(path.join(root, 'PG_VERSION'), '17\n');
  fs.appendFileSync(path.join(root, 'postgresql.conf'), 'work_mem = 64MB\n');
  fs.mkdirSync(path.join(root, 'base', '16385', 'pg_wal'), { recursive: true });
  fs.writeFileSync(path.join(root, 'base', '16385', 'pg_wal', '000000010000000000000001'), pseudoRandomBytes(96 * 1024, 7), { mode: 0o600 });
  fs.rmSync(path.join(root, 'empty-file'));
  fs.chmodSync(path.join(root, 'name with spaces & $dollar.txt'), 0o640);
  fs.unlinkSync(path.join(root, 'current.conf'));
  fs.symlinkSync('PG_VERSION', path.join(root, 'current.conf'));
}

export interface TreeEntry {
  readonly kind: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly owner?: string;
  readonly sha256?: string;
  readonly link?: string;
}

/** Calls `visit` for every entry below `root` (lstat, not following links), parents first, names sorted. */
export function walkTree(root: string, visit: (rel: string, full: string, st: fs.Stats) => void): void {
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = fs.lstatSync(full);
      visit(path.relative(root, full), full, st);
      if (st.isDirectory()) {
        walk(full);
      }
    }
  };
  walk(root);
}

/** The sha256 of a file's content, hex. */
export function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every entry below `root`, keyed by relative path; with `owners`, uid:gid too. */
export function describeTree(root: string, options: { owners?: boolean } = {}): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  walkTree(root, (rel, full, st) => {
    const mode = st.mode & 0o7777;
    const owner = options.owners ? { owner: `${st.uid}:${st.gid}` } : {};
    if (st.isSymbolicLink()) {
      out[rel] = { kind: 'symlink', mode: 0, link: fs.readlinkSync(full), ...owner };
    } else if (st.isDirectory()) {
      out[rel] = { kind: 'dir', mode, ...owner };
    } else {
      out[rel] = { kind: 'file', mode, sha256: sha256Of(full), ...owner };
    }
  });
  return out;
}
