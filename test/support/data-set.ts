/**
 * Test data of mixed kinds, written deterministically, and a way to compare two trees file
 * by file (sha256 of content, mode, symlink target).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** A deterministic pseudo-random byte stream (xorshift), so runs are reproducible. */
export function pseudoRandomBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Writes small and large, compressible and random files, nested folders, a symlink, restrictive
 * permissions and a file owned by another user (like a database's 0700 data folder).
 */
export function writeMixedDataSet(root: string): void {
  fs.mkdirSync(path.join(root, 'base', '16384'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty-dir'), { recursive: true });
  fs.writeFileSync(path.join(root, 'PG_VERSION'), '16\n');
  fs.writeFileSync(path.join(root, 'postgresql.conf'), 'shared_buffers = 128MB\n'.repeat(2000));
  fs.writeFileSync(path.join(root, 'base', '16384', 'random.bin'), pseudoRandomBytes(3 * 1024 * 1024 + 17, 42));
  fs.writeFileSync(path.join(root, 'base', '16384', 'zeros.bin'), Buffer.alloc(1024 * 1024));
  fs.writeFileSync(path.join(root, 'empty-file'), '');
  fs.writeFileSync(path.join(root, 'name with spaces & $dollar.txt'), 'odd names survive\n');
  fs.symlinkSync('postgresql.conf', path.join(root, 'current.conf'));
  const secret = path.join(root, 'base', 'owned-by-postgres');
  fs.writeFileSync(secret, 'only uid 999 may read this\n', { mode: 0o600 });
  fs.chownSync(secret, 999, 999);
  fs.chmodSync(path.join(root, 'base'), 0o700);
  fs.chownSync(path.join(root, 'base'), 999, 999);
}

export interface TreeEntry {
  readonly kind: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly owner?: string;
  readonly sha256?: string;
  readonly link?: string;
}

/** Every entry below `root`, keyed by relative path; with `owners`, uid:gid too. */
export function describeTree(root: string, options: { owners?: boolean } = {}): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = fs.lstatSync(full);
      const mode = st.mode & 0o7777;
      const owner = options.owners ? { owner: `${st.uid}:${st.gid}` } : {};
      if (st.isSymbolicLink()) {
        out[rel] = { kind: 'symlink', mode: 0, link: fs.readlinkSync(full), ...owner };
      } else if (st.isDirectory()) {
        out[rel] = { kind: 'dir', mode, ...owner };
        walk(full);
      } else {
        out[rel] = { kind: 'file', mode, sha256: createHash('sha256').update(fs.readFileSync(full)).digest('hex'), ...owner };
      }
    }
  };
  walk(root);
  return out;
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
