/**
 * The `open_by_handle_at` probe (open-by-handle-at.c, the "shocker" technique): built once per
 * test run, and run inside a container on the real engine, the deployed sidecar included.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { docker, dockerOk, RunningEngine } from '../docker-engine';

/** The probe's C source. */
export const PROBE_SOURCE = path.join(__dirname, 'open-by-handle-at.c');

/** The sidecar's writable state folder (AGENT_STATE_DIR), where runProbeIn puts the probe. */
export const SIDECAR_STATE_DIR = '/backup/agent';
/** Where runProbeIn puts the probe in the container. */
export const PROBE_IN_CONTAINER = `${SIDECAR_STATE_DIR}/probe`;

/** The probe's one-line verdicts and their exit codes (see open-by-handle-at.c). */
export const PROBE_EXIT = { OK: 0, USAGE: 2, EPERM: 10, ERRNO: 11, SETUP: 12, UNSUPPORTED: 13 } as const;

export type ProbeOutcome = keyof typeof PROBE_EXIT | 'UNKNOWN';

/** What one run of the probe said. */
export interface ProbeResult {
  /** `OK` (the filesystem root opened), `EPERM`, ... or `UNKNOWN` (no verdict line). */
  readonly outcome: ProbeOutcome;
  readonly exitCode: number | null;
  /** The verdict line, e.g. `EPERM` or `OK bin boot dev ...`. */
  readonly line: string;
  /** With `OK`: the names in the root directory the probe opened (sorted, at most 64). */
  readonly entries: string[];
  readonly stderr: string;
}

const built = new Map<string, string>();

/**
 * Compiles a probe (gcc -static, glibc's libc.a from libc6-dev; the open_by_handle_at one by
 * default) once per test run and returns the binary's path. The binary is kept under the
 * run's engine folder (removed with the engine), keyed by the source's hash, and written
 * atomically, so two workers can ask at once.
 */
export function buildProbe(sourceFile: string = PROBE_SOURCE): string {
  const cached = built.get(sourceFile);
  if (cached && fs.existsSync(cached)) {
    return cached;
  }
  const source = fs.readFileSync(sourceFile);
  const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(process.env.CCB_ENGINE_DIR ?? os.tmpdir(), 'probes', hash);
  const binary = path.join(dir, path.basename(sourceFile, '.c'));
  if (!fs.existsSync(binary)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${binary}.${process.pid}.tmp`;
    const gcc = spawnSync('gcc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, sourceFile], { encoding: 'utf8' });
    if (gcc.error || gcc.status !== 0) {
      throw new Error(
        `Building the probe ${path.basename(sourceFile)} failed (gcc -static needs gcc and libc6-dev): ` +
          `${gcc.error?.message ?? ''}${gcc.stderr ?? ''}`,
      );
    }
    fs.renameSync(tmp, binary);
  }
  built.set(sourceFile, binary);
  return binary;
}

/** Reads the probe's output (one verdict line) and exit code. */
export function parseProbeOutput(stdout: string, exitCode: number | null, stderr = ''): ProbeResult {
  const line = stdout.trim().split('\n').pop() ?? '';
  const word = line.split(' ')[0];
  const outcome: ProbeOutcome = word in PROBE_EXIT && PROBE_EXIT[word as keyof typeof PROBE_EXIT] === exitCode
    ? (word as ProbeOutcome)
    : 'UNKNOWN';
  return { outcome, exitCode, line, entries: outcome === 'OK' ? line.split(' ').slice(1) : [], stderr };
}

/**
 * Runs the probe inside a running container, as the container's own processes run (`docker
 * exec` inherits its capabilities, seccomp profile and no-new-privileges).
 *
 * The probe must land on a writable filesystem that the container sees: the sidecar's root is
 * read-only, so it goes onto the state volume at /backup/agent. A throwaway container created
 * (never started) from the same image with that volume (or bind source) at the same path
 * receives it through `docker cp`; a container without a mount there receives it directly.
 *
 * @param file the bind-mounted file whose filesystem the probe attacks @default /etc/hosts
 */
export function runProbeIn(engine: RunningEngine, containerName: string, file?: string): ProbeResult {
  const probe = buildProbe();
  const [info] = JSON.parse(dockerOk(engine, ['inspect', '--type', 'container', containerName])) as {
    Image: string;
    Mounts: { Type: string; Name?: string; Source: string; Destination: string }[];
  }[];
  const mount = info.Mounts.find((m) => m.Destination === SIDECAR_STATE_DIR);
  if (mount) {
    const source = mount.Type === 'volume' ? mount.Name! : mount.Source;
    const helper = `ccb-probe-copy-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    dockerOk(engine, ['create', '--name', helper, '--network', 'none', '-v', `${source}:${SIDECAR_STATE_DIR}`, '--entrypoint', PROBE_IN_CONTAINER, info.Image]);
    try {
      dockerOk(engine, ['cp', probe, `${helper}:${PROBE_IN_CONTAINER}`]);
    } finally {
      docker(engine, ['rm', '-f', helper]);
    }
  } else {
    dockerOk(engine, ['exec', containerName, 'mkdir', '-p', SIDECAR_STATE_DIR]);
    dockerOk(engine, ['cp', probe, `${containerName}:${PROBE_IN_CONTAINER}`]);
  }
  const run = docker(engine, ['exec', containerName, PROBE_IN_CONTAINER, ...(file ? [file] : [])]);
  return parseProbeOutput(run.stdout, run.status, run.stderr);
}
