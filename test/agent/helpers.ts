/** The agent tests' tree fingerprint: what a restore must reproduce (mtime and size included). */
import * as fs from 'fs';
import { sha256Of, walkTree } from '../support/data-set';

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
  walkTree(root, (rel, full, st) => {
    const base = { mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) {
      out[rel] = { type: 'symlink', ...base, mode: 'n/a', target: fs.readlinkSync(full) };
    } else if (st.isDirectory()) {
      out[rel] = { type: 'dir', ...base };
    } else {
      out[rel] = { type: 'file', ...base, size: st.size, mtime: Math.floor(st.mtimeMs / 1000), sha256: sha256Of(full) };
    }
  });
  return out;
}
