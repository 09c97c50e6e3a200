/**
 * The sidecar the agent benchmark runs: synthesized with the library like any user's
 * (`ProtectedContainer` with local-path targets, no quiesce), then taken out of cdk.tf.json
 * and run the way Docker would run it (test/support/sidecar-sandbox.ts: private mount
 * namespace, busybox sh, read-only source volume, dropped capabilities, read-only root), after
 * its one-shot installer from the same JSON has put the agent and the password on the install
 * volume (once per instance, before the first measured run, as `cdktf deploy` does).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, TerraformStack } from 'cdktf';
import { Medium, ProtectedContainer, Retention, Schedule, StorageTarget } from '../src';
import { SidecarHarness, SynthesizedSidecarParts, sidecarOf } from '../test/support/sidecar-harness';
import { PlanPatch } from '../test/support/sidecar-sandbox';
import { ResticCall } from '../test/support/restic-recorder';
import { TreePeak, sampleTree, secondsSince } from './measure';

export const PASSWORD = 'bench password, as TF_VAR_restic_password would supply it';
/** The protected volume's name; its host folder is the data set. */
export const DATA_VOLUME = 'benchdata';
export const STATE_VOLUME = 'bench-backup-state';
export const INSTALL_VOLUME = 'bench-backup-install';
export const TARGET_HOST_PATHS = ['/mnt/bench/local', '/mnt/bench/nas'];

/** Host folders of one sidecar instance. */
export interface SidecarDirs {
  readonly data: string;
  readonly state: string;
  readonly repos: string[];
}

/** A synthesized sidecar: its parts, and the harness of each instance (its own host folders). */
export interface Sidecar extends SynthesizedSidecarParts {
  readonly targets: number;
  readonly envCount: number;
  /** The sidecar in the sandbox with the host folders `dirs` (installed by the first run). */
  harness(dirs: SidecarDirs): SidecarHarness;
}

/**
 * Synthesizes a protected container backed up to `targets` local folders (1 or 2); with
 * `retentionOnSchedule`, its retention runs weekly (`retentionSchedule`) instead of after every
 * backup, so a routine cycle is the backup alone.
 */
export function synthSidecar(outdir: string, targets: 1 | 2, options: { retentionOnSchedule?: boolean } = {}): Sidecar {
  fs.mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir });
  const stackName = `bench-${targets}${options.retentionOnSchedule ? '-weekly-retention' : ''}`;
  const stack = new TerraformStack(app, stackName);
  new DockerProvider(stack, 'docker', {});
  new ProtectedContainer(stack, 'bench', {
    image: 'postgres:16',
    volumes: [{ name: DATA_VOLUME, containerPath: '/var/lib/postgresql/data' }],
    backup: {
      schedule: Schedule.daily({ hour: 2 }),
      retention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }),
      ...(options.retentionOnSchedule ? { retentionSchedule: Schedule.weekly({ hour: 4 }) } : {}),
      targets: [
        StorageTarget.localPath({ hostPath: TARGET_HOST_PATHS[0], medium: Medium.DISK }),
        ...(targets === 2 ? [StorageTarget.localPath({ hostPath: TARGET_HOST_PATHS[1], medium: Medium.NAS, name: 'nas' })] : []),
      ],
    },
  });
  app.synth();
  const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stackName, 'cdk.tf.json'), 'utf8'));
  const parts = sidecarOf(json, 'bench');
  const harnesses = new Map<string, SidecarHarness>();
  const harness = (dirs: SidecarDirs): SidecarHarness => {
    let h = harnesses.get(dirs.state);
    if (!h) {
      // The install volume sits beside the state folder of the instance.
      const hostDirs: Record<string, string> = { [DATA_VOLUME]: dirs.data, [STATE_VOLUME]: dirs.state, [INSTALL_VOLUME]: `${dirs.state}.install` };
      dirs.repos.forEach((r, i) => (hostDirs[TARGET_HOST_PATHS[i]] = r));
      h = SidecarHarness.fromSynth(json, 'bench', {
        workDir: path.dirname(dirs.state),
        hostDirs,
        terraformValues: { 'var.restic_password': PASSWORD },
        defaults: { timeoutMs: 3600_000 },
        installTimeoutMs: 60_000,
        install: false,
      });
      harnesses.set(dirs.state, h);
    }
    return h;
  };
  return { ...parts, targets, envCount: (parts.resource.env ?? []).length, harness };
}

/** One run in the sandbox, measured. */
export interface SandboxRun {
  readonly seconds: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly memory: TreePeak;
}

/**
 * Runs the sidecar (its command replaced by `command`, or `exec` instead of the entrypoint;
 * `plan` changes the installed plan for this run, as the sandbox's `plan` option does).
 */
export async function runSidecar(
  sidecar: Sidecar,
  dirs: SidecarDirs,
  options: { command?: string[]; exec?: string[]; env?: Record<string, string>; plan?: PlanPatch; path?: string } = {},
): Promise<SandboxRun> {
  const harness = sidecar.harness(dirs);
  // Filled once per instance, unmeasured.
  if (!fs.existsSync(path.join(harness.installDir, 'bin', 'backup-agent'))) {
    harness.install();
  }
  const { command, exec, env, plan, path: searchPath } = options;
  const start = process.hrtime.bigint();
  // `exec`, when given, replaces entrypoint and command.
  const running = harness.start(command ?? [], { exec, env, plan, path: searchPath });
  let root: number | undefined;
  running.mainPid().then(
    (pid) => (root = pid),
    () => undefined,
  );
  const sampler = sampleTree(() => root);
  const result = await running.result;
  const seconds = secondsSince(start);
  const memory = sampler.stop();
  return { seconds, code: result.code, stdout: result.stdout, stderr: result.stderr, memory };
}

/**
 * The agent's manifest step alone, as the agent runs it: sha256 of every regular file of the
 * sources, paths relative to /, sorted. Run in the same sandbox, same environment; the sources
 * and the state folder read from the plan (BACKUP_PLAN) with jq, as the agent reads them.
 */
export const MANIFEST_SCRIPT = `
set -u
SOURCES=$(jq -r '.sources[]' "$BACKUP_PLAN") || exit 1
STATE_DIR=$(jq -r '.stateDir' "$BACKUP_PLAN") || exit 1
set -f
set --
for s in $SOURCES; do set -- "$@" "\${s#/}"; done
set +f
mkdir -p "$STATE_DIR/manifest-alone"
M=$STATE_DIR/manifest-alone/m.sha256
(cd / && find "$@" -type f -exec sha256sum {} +) >"$M.unsorted" || exit 1
LC_ALL=C sort -k 2 -o "$M" "$M.unsorted" && rm -f "$M.unsorted"
`;

function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A script that makes the same restic calls, in the same order and environment, without the
 * agent: the bare cost of what the agent ran. Snapshot ids the agent got are replaced by the
 * ones this replay gets (its repository is another one, with the same content).
 */
export function replayScript(calls: ResticCall[], agentSnapshotIds: string[]): string {
  const full = new Set(agentSnapshotIds.filter((id) => id.length === 64));
  const short = new Set(agentSnapshotIds.map((id) => id.slice(0, 8)));
  const lines = ['O=/backup/agent/replay', 'mkdir -p "$O"', ': >"$O/codes"', 'id=; short=; full='];
  calls.forEach((call, k) => {
    const env = ['RESTIC_REPOSITORY', 'RESTIC_PASSWORD_FILE', 'RESTIC_CACHE_DIR', 'RESTIC_PASSWORD', 'TMPDIR']
      .map((v) => (v in call.env ? `export ${v}=${q(call.env[v])}` : `unset ${v}`))
      .join('; ');
    let substituted = false;
    const args = call.args.map((a) => {
      if (full.has(a)) {
        substituted = true;
        return '"$full"';
      }
      if (short.has(a)) {
        substituted = true;
        return '"$short"';
      }
      return q(a);
    });
    lines.push(
      'read -r t0 _ </proc/uptime',
      `(${env}; exec restic ${args.join(' ')}) >"$O/${k}.out" 2>"$O/${k}.err"; rc=$?`,
      'read -r t1 _ </proc/uptime',
      `echo "${k} $rc $t0 $t1" >>"$O/codes"`,
    );
    if (call.args.includes('backup')) {
      lines.push(
        `id=$(jq -r 'select(.message_type == "summary") | .snapshot_id' "$O/${k}.out" 2>/dev/null | tail -n 1)`,
        'short=$(printf %s "$id" | cut -c 1-8); full=$id',
      );
    } else if (substituted && call.args.includes('snapshots')) {
      lines.push(`f=$(jq -r '.[0].id // empty' "$O/${k}.out" 2>/dev/null); if [ "\${#f}" -eq 64 ]; then full=$f; fi`);
    }
  });
  return lines.join('\n') + '\n';
}

/** Exit codes and durations of a replay's calls, in call order. */
export function replayCodes(dirs: SidecarDirs): Array<{ code: number; seconds: number }> {
  return fs
    .readFileSync(path.join(dirs.state, 'replay', 'codes'), 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [, code, t0, t1] = l.split(' ');
      return { code: Number(code), seconds: Number(t1) - Number(t0) };
    });
}
