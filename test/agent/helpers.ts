/** Helpers shared by the agent tests: a mixed data set, tree fingerprints, restic reads. */
import { spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { TEST_PASSWORD } from '../support/test-values';

/**
 * Writes a small mixed data set (about 3 MB): empty, small, large random and compressible
 * files, nested folders, names with spaces and non-ASCII, symlinks (relative, absolute,
 * dangling, to a folder), a hard link, unusual modes, and files owned by another user the
 * way a database's data folder is (uid 999, mode 0600 in a 0700 folder).
 */
export function writeMixedDataSet(root: string): void {
  const file = (rel: string, data: string | Buffer, mode = 0o644) => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
    fs.chmodSync(p, mode);
  };
  file('empty', '');
  file('hello.txt', 'hello, world\n');
  file('random-2m.bin', randomBytes(2 * 1024 * 1024));
  file('compressible.log', 'INFO a line of a log that compresses well\n'.repeat(12000));
  file('nested/a/b/c/deep.json', JSON.stringify({ deep: true, n: 42 }));
  file('nested/a/sibling.bin', randomBytes(70000));
  file('names/with space & symbols!.txt', 'spaces\n');
  file('names/grüße-日本.txt', 'unicode\n');
  file('modes/secret', 'only the owner\n', 0o600);
  file('modes/script.sh', '#!/bin/sh\necho hi\n', 0o755);
  file('modes/read-only', 'read only\n', 0o444);
  fs.symlinkSync('hello.txt', path.join(root, 'link-relative'));
  fs.symlinkSync('/etc/hostname', path.join(root, 'link-absolute'));
  fs.symlinkSync('does/not/exist', path.join(root, 'link-dangling'));
  fs.symlinkSync('nested/a', path.join(root, 'link-to-dir'));
  fs.linkSync(path.join(root, 'hello.txt'), path.join(root, 'hard-link.txt'));
  // Like a database's data folder: another user's, closed to everyone else.
  file('pgdata-like/PG_VERSION', '16\n', 0o600);
  file('pgdata-like/base/1/1259', randomBytes(8192), 0o600);
  for (const p of ['pgdata-like/base/1/1259', 'pgdata-like/base/1', 'pgdata-like/base', 'pgdata-like/PG_VERSION', 'pgdata-like']) {
    fs.lchownSync(path.join(root, p), 999, 999);
  }
  fs.chmodSync(path.join(root, 'pgdata-like'), 0o700);
  fs.chmodSync(path.join(root, 'modes'), 0o750);
}

/** What a restore must reproduce of one entry. */
export interface EntryFingerprint {
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  readonly sha256?: string;
  readonly size?: number;
  readonly mtime?: number;
  readonly target?: string;
}

/** Every entry below root, by relative path. */
export function fingerprintTree(root: string): Record<string, EntryFingerprint> {
  const out: Record<string, EntryFingerprint> = {};
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const rel = path.relative(root, p);
      const st = fs.lstatSync(p);
      const base = { mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid };
      if (st.isSymbolicLink()) {
        out[rel] = { type: 'symlink', ...base, mode: 'n/a', target: fs.readlinkSync(p) };
      } else if (st.isDirectory()) {
        out[rel] = { type: 'dir', ...base };
        walk(p);
      } else {
        out[rel] = {
          type: 'file',
          ...base,
          size: st.size,
          mtime: Math.floor(st.mtimeMs / 1000),
          sha256: createHash('sha256').update(fs.readFileSync(p)).digest('hex'),
        };
      }
    }
  };
  walk(root);
  return out;
}

/** Runs restic on the host against a repository folder written by the agent. */
export function restic(repository: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('restic', ['-r', repository, '--no-cache', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, RESTIC_PASSWORD: TEST_PASSWORD, HOME: '/tmp' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The snapshots of a repository, as restic lists them. */
export function snapshotsOf(repository: string): Array<{ id: string; short_id: string; hostname: string; tags?: string[]; paths: string[] }> {
  const r = restic(repository, ['snapshots', '--json']);
  if (r.code !== 0) {
    throw new Error(`restic snapshots failed (${r.code}): ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

export function readStatus(stateDir: string): any {
  return JSON.parse(fs.readFileSync(path.join(stateDir, 'status.json'), 'utf8'));
}
