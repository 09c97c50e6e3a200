/**
 * A `restic` first on the sidecar's PATH that records each call the agent makes (its
 * arguments, the restic environment, exit code, start and end from /proc/uptime), then runs
 * the real one. Shell builtins only: one busybox `sh` start per call is all it adds. Each call
 * writes its own file, so calls that run at the same time (the targets of a cycle run in
 * parallel) never interleave. The bench replays and counts the calls; the routine-cycle test
 * counts them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AGENT_STATE_DIR } from '../../src/agent/agent-asset';

/** Where the recorder lives in the sidecar: its state volume (the root is read-only). */
const RECORDER_DIR = `${AGENT_STATE_DIR}/recorder`;

export const RESTIC_RECORDER = `#!/bin/sh
read -r _t0 _ </proc/uptime
F=${RECORDER_DIR}/calls/$_t0-$$
{
  printf 'CALL\\0%s\\0%s\\0' "$_t0" "$#"
  [ "$#" -eq 0 ] || printf '%s\\0' "$@"
  for _v in RESTIC_REPOSITORY RESTIC_PASSWORD_FILE RESTIC_CACHE_DIR RESTIC_PASSWORD TMPDIR; do
    eval "_set=\\\${$_v+x}"
    if [ -n "$_set" ]; then eval "printf '%s=%s\\\\0' \\"$_v\\" \\"\\\${$_v}\\""; fi
  done
  printf 'ENDENV\\0'
} >"$F"
/usr/bin/restic "$@"
_rc=$?
read -r _t1 _ </proc/uptime
printf 'RC\\0%s\\0%s\\0' "$_rc" "$_t1" >>"$F"
exit "$_rc"
`;

/** PATH inside the sidecar with the recorder first. */
export const RECORDER_PATH = `${RECORDER_DIR}:/bin:/usr/bin`;

/** One restic call the agent made. */
export interface ResticCall {
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly code: number;
  /** Seconds since boot when it started and ended (/proc/uptime). */
  readonly started: number;
  readonly ended: number;
  readonly seconds: number;
}

/** Puts the recorder into the host folder of a sidecar's state volume (and clears earlier calls). */
export function installRecorder(stateDir: string): void {
  const dir = path.join(stateDir, 'recorder');
  fs.rmSync(path.join(dir, 'calls'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'calls'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'restic'), RESTIC_RECORDER, { mode: 0o755 });
}

/** The calls recorded since `installRecorder`, in the order they started. */
export function recordedCalls(stateDir: string): ResticCall[] {
  const dir = path.join(stateDir, 'recorder', 'calls');
  return fs
    .readdirSync(dir)
    .map((f) => parseCall(fs.readFileSync(path.join(dir, f), 'latin1'), f))
    .sort((a, b) => a.started - b.started);
}

function parseCall(record: string, file: string): ResticCall {
  const parts = record.split('\0');
  if (parts[0] !== 'CALL') {
    throw new Error(`recorder: ${file} is no call record`);
  }
  const started = Number(parts[1]);
  const n = Number(parts[2]);
  const args = parts.slice(3, 3 + n);
  let i = 3 + n;
  const env: Record<string, string> = {};
  for (; i < parts.length && parts[i] !== 'ENDENV'; i++) {
    const eq = parts[i].indexOf('=');
    env[parts[i].slice(0, eq)] = parts[i].slice(eq + 1);
  }
  if (parts[i + 1] !== 'RC') {
    throw new Error(`recorder: a restic call without its exit code (${args.join(' ')})`);
  }
  const ended = Number(parts[i + 3]);
  return { args, env, code: Number(parts[i + 2]), started, ended, seconds: ended - started };
}
