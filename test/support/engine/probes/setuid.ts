/**
 * The setuid probe (effective-uid.c): what a compromised sidecar, running as uid 0 without
 * user-namespace remapping, can plant in a host folder it writes (a setuid-root program), and
 * what an unprivileged user of the host then gets from it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProbe } from './probe';

/** The probe's C source. */
export const SETUID_PROBE_SOURCE = path.join(__dirname, 'effective-uid.c');

/** The unprivileged host user the probe runs as (nobody). */
export const UNPRIVILEGED_UID = 65534;

/** Runs a command in a running container, with `input` on its stdin (e.g. a deployed host's `docker`). */
export type ExecIn = (args: string[], options: { input: Buffer }) => unknown;

/**
 * Writes the probe into `dirInContainer` of `container` as the container's own processes
 * would (`docker exec`: its uid, capabilities and seccomp profile), and marks it setuid:
 * `chmod 4755` on a file it owns needs no capability. Returns the file's path in the container.
 */
export function plantSetuidProbe(execIn: ExecIn, container: string, dirInContainer: string): string {
  const file = `${dirInContainer}/planted-setuid`;
  execIn(['exec', '-i', container, 'sh', '-c', 'cat > "$1" && chmod 4755 "$1"', 'plant', file], { input: fs.readFileSync(buildProbe(SETUID_PROBE_SOURCE)) });
  return file;
}

/** What running a host file as the unprivileged user gave. */
export interface UnprivilegedRun {
  readonly status: number | null;
  /** The probe's line (`uid=65534 euid=0` when it ran as root). */
  readonly output: string;
}

/**
 * Runs `file` on the host as uid/gid 65534 with no supplementary groups and no capability.
 * Through a shell: `setpriv --reuid` keeps its own effective capabilities until its execve
 * has looked the path up, so it would traverse a 0700 folder that the user cannot (seen
 * here); the shell it starts has none, and its exec is the user's own.
 */
export function runAsUnprivileged(file: string): UnprivilegedRun {
  const r = spawnSync('setpriv', ['--reuid', String(UNPRIVILEGED_UID), '--regid', String(UNPRIVILEGED_UID), '--clear-groups', '/bin/sh', '-c', 'exec "$0"', file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/**
 * The control: the same file, with its owner and mode, in a folder anyone may traverse, run
 * the same way. `uid=65534 euid=0` proves the planted file is a setuid-root program that only
 * its folder keeps from other users.
 */
export function runReachableCopyAsUnprivileged(file: string): UnprivilegedRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setuid-control-'));
  try {
    fs.chmodSync(dir, 0o755);
    const copy = path.join(dir, 'copy');
    fs.copyFileSync(file, copy);
    const stat = fs.statSync(file);
    fs.chownSync(copy, stat.uid, stat.gid);
    fs.chmodSync(copy, stat.mode & 0o7777);
    return runAsUnprivileged(copy);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
