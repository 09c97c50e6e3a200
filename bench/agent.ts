/**
 * The backup agent against the physical limit and a tar-based tool, on a realistic data set,
 * run the way the sidecar runs it (the script and environment from the synthesized
 * cdk.tf.json, busybox sh, a private mount namespace; see agent-sidecar.ts).
 *
 * Every repetition measures the things it compares side by side, each from a cold page cache
 * (when this process may drop it), in an order that rotates from one repetition to the next.
 *
 * - full: the first backup (`backup-agent run` on an empty target) vs the same restic calls
 *   without the agent (recorded from that run and replayed), the agent's manifest step alone,
 *   the agent with two targets, `cat` of every file to /dev/null and `tar czf` of the data;
 * - incremental: the same after 1% of the files changed, plus bytes added to the repository;
 * - restore of the latest snapshot vs `tar xzf` of a .tar.gz of the same data (the last
 *   incremental repetition's) and `cp -a` of the source;
 * - days: 30 simulated days of 1% changes, repository size vs a new tarball every day;
 * - fan-out strategy: two parallel `restic backup`s vs backup then `restic copy`, bare restic
 *   (fan-out-strategy.ts).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { MANIFEST_SCRIPT, SandboxRun, Sidecar, SidecarDirs, replayCodes, replayScript, runSidecar, synthSidecar } from './agent-sidecar';
import { RECORDER_PATH, ResticCall, installRecorder, recordedCalls } from '../test/support/restic-recorder';
import { DataSet, changeFiles, describeDataSet, ensureDataSet } from '../test/support/data-set';
import { FanOutStrategyResults, runFanOutStrategy } from './fan-out-strategy';
import { Measured, canDropCaches, dropCaches, removeTree, rotate, timedShell, treeBytes } from './measure';
import { CountedCall, ResticCallCounts, countCycles, repositoryOf, subcommandOf } from './restic-calls';

export interface AgentBenchOptions {
  readonly work: string;
  readonly dataBytes: number;
  readonly reps: number;
  readonly days: number;
  /** Also measure two targets vs one in the incremental case. @default true */
  readonly incrementalFanOut?: boolean;
  readonly log: (line: string) => void;
}

/** One measurement: wall seconds and peak memory. */
export interface Sample {
  readonly seconds: number;
  /** Peak sum of resident memory of the process tree (sampled every 100 ms), bytes. */
  readonly treeRssBytes?: number;
  /** Peak resident memory of its largest process, bytes. */
  readonly maxProcessBytes?: number;
  readonly maxProcessName?: string;
}

/** What one repetition of the full or incremental case measured. */
export interface BackupRep {
  readonly order: string[];
  readonly agent: Sample;
  readonly bare: Sample;
  /** The agent's manifest step alone (its find | sha256sum | sort), in the same sandbox. */
  readonly manifest: Sample;
  /** Absent where the incremental fan-out is not measured (quick variant). */
  readonly agentTwoTargets?: Sample;
  /**
   * The agent with its retention on a weekly schedule (`retentionSchedule`), not due: the
   * routine cycle of that configuration (absent in the quick variant).
   */
  readonly agentRetentionOnSchedule?: Sample;
  /** The restic calls of that cycle. */
  readonly callsRetentionOnSchedule?: CallRecord[];
  /** restic's own time for the `backup` call inside the agent's run (from the recorder). */
  readonly backupCallSeconds: number;
  readonly cat: Sample;
  readonly tar: Sample;
  readonly tarBytes: number;
  /** Growth of the agent's repository in this run (du -sb), bytes. */
  readonly repoAddedBytes: number;
  /** restic's own `data_added` for this snapshot (status.json), bytes. */
  readonly resticDataAdded: number;
  /** Files and bytes changed before this run (incremental only). */
  readonly changedFiles?: number;
  readonly changedBytes?: number;
  /** The restic calls the agent made, with their own durations, and the same call's in the bare replay. */
  readonly calls: Array<CallRecord & { bareSeconds?: number }>;
  /** The restic calls of the two-target run (absent where it is not measured). */
  readonly callsTwoTargets?: CallRecord[];
  /** Whether the agent recorded a sha256 manifest of the sources in this cycle (status.json). */
  readonly manifestMade?: boolean;
  /** Replay exit codes differing from the agent's (should be none). */
  readonly replayMismatches: string[];
}

/** One restic call of the agent, as results.json keeps it. */
export interface CallRecord extends CountedCall {
  readonly subcommand: string;
  readonly repository: string;
  readonly code: number;
}

export interface RestoreRep {
  readonly order: string[];
  readonly agent: Sample;
  /** restic's own time in the agent's restore (its calls, from the recorder). */
  readonly agentResticSeconds: number;
  /** `tar xzf` of a .tar.gz of the same data into a fresh folder. */
  readonly tarX: Sample;
  readonly cp: Sample;
  readonly restoredBytes: number;
}

export interface DayRecord {
  readonly day: number;
  readonly repoBytes: number;
  readonly tarBytes: number;
  readonly changedFiles: number;
  readonly agentSeconds: number;
}

export interface AgentResults {
  readonly dataSet: ReturnType<typeof describeDataSet> & { requestedBytes: number; generateSeconds: number };
  readonly coldCache: boolean;
  readonly resticVersion: string;
  readonly agentScriptSha256: string;
  readonly sandboxNoopSeconds: number[];
  readonly full: BackupRep[];
  readonly incremental: BackupRep[];
  readonly restore: RestoreRep[];
  /** restic calls per cycle and target (the next run's "before"). */
  readonly resticCalls: ResticCallCounts;
  readonly days: DayRecord[];
  readonly daysRetention: string;
  /** Parallel backups vs backup then `restic copy`, bare restic (absent in results from before it). */
  readonly fanOutStrategy?: FanOutStrategyResults;
  /** Wall time of each part of the agent bench. */
  readonly phaseSeconds: Record<string, number>;
  readonly seconds: number;
}

function sampleOf(run: SandboxRun): Sample {
  return {
    seconds: run.seconds,
    treeRssBytes: run.memory.sumRssBytes,
    maxProcessBytes: run.memory.maxProcessBytes,
    maxProcessName: run.memory.maxProcessName,
  };
}

function measuredSample(m: Measured): Sample {
  return { seconds: m.seconds, maxProcessBytes: m.peakRssBytes };
}

function check(run: { code: number | null; stderr: string }, what: string): void {
  if (run.code !== 0) {
    throw new Error(`${what} failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  }
}

function fresh(dir: string): string {
  removeTree(dir);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Sidecar host folders: the shared data set, its own state and repositories. */
function instance(root: string, data: string, name: string, targets: number): SidecarDirs {
  const base = fresh(path.join(root, name));
  const dirs = {
    data,
    state: path.join(base, 'state'),
    repos: Array.from({ length: targets }, (_, i) => path.join(base, `repo-${i + 1}`)),
  };
  fs.mkdirSync(dirs.state);
  dirs.repos.forEach((r) => fs.mkdirSync(r));
  return dirs;
}

const CAT = (data: string) => `find ${shq(data)} -type f -exec cat {} + >/dev/null`;
const TAR = (data: string, out: string) => `tar czf ${shq(out)} -C ${shq(data)} .`;

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function callRecord(c: ResticCall): CallRecord {
  return {
    command: c.args.filter((a) => !a.startsWith('/')).slice(0, 3).join(' '),
    subcommand: subcommandOf(c.args),
    repository: repositoryOf(c.args, c.env),
    seconds: c.seconds,
    code: c.code,
  };
}

export async function runAgentBench(options: AgentBenchOptions): Promise<AgentResults> {
  const started = process.hrtime.bigint();
  const { work, log } = options;
  fs.mkdirSync(work, { recursive: true });
  const cold = canDropCaches();
  log(`agent: page cache ${cold ? 'dropped before every measurement (cold)' : 'cannot be dropped here: every measurement runs warm'}`);

  const t0 = process.hrtime.bigint();
  const set: DataSet = ensureDataSet(path.join(work, `data-${options.dataBytes}`), options.dataBytes);
  const generateSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const described = describeDataSet(set);
  log(`agent: data set ${described.files} files, ${(described.bytes / 1e6).toFixed(0)} MB (ready in ${generateSeconds.toFixed(1)} s)`);

  const one = synthSidecar(path.join(work, 'synth-1'), 1);
  const two = synthSidecar(path.join(work, 'synth-2'), 2);
  const weekly = synthSidecar(path.join(work, 'synth-1-weekly-retention'), 1, { retentionOnSchedule: true });
  const agentScriptSha256 = require('crypto').createHash('sha256').update(one.agentScript).digest('hex');
  const resticVersion = spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout.trim();
  const runs = path.join(work, 'runs');
  fresh(runs);
  const latestTarball = path.join(runs, 'latest.tgz');

  // The sandbox's own cost (namespace, mounts, busybox install), for reference.
  const noopDirs = instance(runs, set.root, 'noop', 1);
  const sandboxNoopSeconds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await runSidecar(one, noopDirs, { exec: ['/bin/true'] });
    check(r, 'the empty sandbox');
    sandboxNoopSeconds.push(r.seconds);
  }

  const backupCase = async (kind: 'full' | 'incremental', rep: number, inst: Instances, change?: { files: number; bytes: number }): Promise<BackupRep> => {
    const tarball = path.join(runs, 'day.tgz');
    const before = treeBytes(inst.agent.repos[0]);
    let calls: ResticCall[] = [];
    let callsTwo: ResticCall[] | undefined;
    let callsWeekly: ResticCall[] | undefined;
    let manifestMade = false;
    let agentIds: string[] = [];
    const samples: Partial<Record<string, Sample>> = {};
    let tarBytes = 0;
    let mismatches: string[] = [];
    let bareCalls: number[] = [];
    let after = 0;
    let dataAdded = 0;
    const units: Array<[string, () => Promise<void>]> = [
      [
        'agent+bare',
        async () => {
          installRecorder(inst.agent.state);
          dropCaches();
          const a = await runSidecar(one, inst.agent, { command: ['run'], path: RECORDER_PATH });
          check(a, `${kind} backup by the agent`);
          samples.agent = sampleOf(a);
          after = treeBytes(inst.agent.repos[0]);
          calls = recordedCalls(inst.agent.state);
          const status = one.harness(inst.agent).status();
          agentIds = status.targets.map((t: any) => t.snapshot_id).filter((id: unknown) => typeof id === 'string');
          dataAdded = Number(status.targets[0].bytes_added);
          manifestMade = typeof status.targets[0].manifest === 'string' && status.targets[0].manifest !== '';
          dropCaches();
          const b = await runSidecar(one, inst.bare, { exec: ['/bin/sh', '-c', replayScript(calls, agentIds)] });
          check(b, `${kind} backup by the bare restic calls`);
          samples.bare = sampleOf(b);
          const replayed = replayCodes(inst.bare);
          bareCalls = replayed.map((r) => r.seconds);
          mismatches = calls
            .map((c, i) => (replayed[i]?.code === c.code ? '' : `${c.args.slice(0, 2).join(' ')}: agent ${c.code}, replay ${replayed[i]?.code}`))
            .filter((m) => m !== '');
        },
      ],
      [
        'manifest alone',
        async () => {
          dropCaches();
          const r = await runSidecar(one, inst.manifest, { exec: ['/bin/sh', '-c', MANIFEST_SCRIPT] });
          check(r, `${kind}: the manifest step alone`);
          samples.manifest = sampleOf(r);
        },
      ],
      [
        'agent, two targets',
        async () => {
          if (kind === 'incremental' && options.incrementalFanOut === false) {
            return;
          }
          installRecorder(inst.two.state);
          dropCaches();
          const r = await runSidecar(two, inst.two, { command: ['run'], path: RECORDER_PATH });
          check(r, `${kind} backup by the agent to two targets`);
          samples.agentTwoTargets = sampleOf(r);
          callsTwo = recordedCalls(inst.two.state);
        },
      ],
      [
        'agent, retention on its schedule',
        async () => {
          if (kind === 'incremental' && options.incrementalFanOut === false) {
            return;
          }
          installRecorder(inst.weekly.state);
          dropCaches();
          const r = await runSidecar(weekly, inst.weekly, { command: ['run'], path: RECORDER_PATH });
          check(r, `${kind} backup by the agent with retention on its weekly schedule`);
          samples.agentRetentionOnSchedule = sampleOf(r);
          callsWeekly = recordedCalls(inst.weekly.state);
        },
      ],
      [
        'cat',
        async () => {
          dropCaches();
          const r = await timedShell(CAT(set.root));
          check(r, 'cat of the data set');
          samples.cat = measuredSample(r);
        },
      ],
      [
        'tar czf',
        async () => {
          removeTree(tarball);
          dropCaches();
          const r = await timedShell(TAR(set.root, tarball));
          check(r, 'tar czf of the data set');
          samples.tar = measuredSample(r);
          tarBytes = fs.statSync(tarball).size;
          // The restore case extracts the last one: it holds the data of the latest snapshot.
          fs.renameSync(tarball, latestTarball);
        },
      ],
    ];
    const order = rotate(units, rep);
    for (const [name, fn] of order) {
      log(`agent: ${kind} #${rep + 1}: ${name}`);
      await fn();
    }
    return {
      order: order.map(([n]) => n),
      agent: samples.agent!,
      bare: samples.bare!,
      manifest: samples.manifest!,
      agentTwoTargets: samples.agentTwoTargets,
      agentRetentionOnSchedule: samples.agentRetentionOnSchedule,
      callsRetentionOnSchedule: callsWeekly?.map(callRecord),
      backupCallSeconds: calls.filter((c) => c.args.includes('backup')).reduce((t, c) => t + c.seconds, 0),
      cat: samples.cat!,
      tar: samples.tar!,
      tarBytes,
      repoAddedBytes: after - before,
      resticDataAdded: dataAdded,
      changedFiles: change?.files,
      changedBytes: change?.bytes,
      calls: calls.map((c, i) => ({ ...callRecord(c), bareSeconds: bareCalls[i] })),
      callsTwoTargets: callsTwo?.map(callRecord),
      manifestMade,
      replayMismatches: mismatches,
    };
  };

  interface Instances {
    agent: SidecarDirs;
    bare: SidecarDirs;
    manifest: SidecarDirs;
    two: SidecarDirs;
    weekly: SidecarDirs;
  }
  const newInstances = (): Instances => ({
    agent: instance(runs, set.root, 'agent', 1),
    bare: instance(runs, set.root, 'bare', 1),
    manifest: instance(runs, set.root, 'manifest', 1),
    two: instance(runs, set.root, 'two-targets', 2),
    weekly: instance(runs, set.root, 'weekly-retention', 1),
  });

  const phaseSeconds: Record<string, number> = {};
  let phaseStart = process.hrtime.bigint();
  const phase = (name: string) => {
    phaseSeconds[name] = Number(process.hrtime.bigint() - phaseStart) / 1e9;
    phaseStart = process.hrtime.bigint();
  };
  phase('setup');

  // Full: every repetition starts from empty repositories.
  const full: BackupRep[] = [];
  let inst: Instances | undefined;
  for (let rep = 0; rep < options.reps; rep++) {
    inst = newInstances();
    full.push(await backupCase('full', rep, inst));
  }

  phase('full');

  // Incremental: on top of the last full repetition's repositories, 1% of the files change.
  const incremental: BackupRep[] = [];
  for (let rep = 0; rep < options.reps; rep++) {
    const change = changeFiles(set, 0.01, 100 + rep, options.dataBytes);
    incremental.push(await backupCase('incremental', rep, inst!, change));
  }

  phase('incremental');

  // Restore of the latest snapshot vs tar xzf of the same data (the tarball of the last
  // incremental repetition) and cp -a of the source, each into a fresh folder.
  const restore: RestoreRep[] = [];
  for (let rep = 0; rep < options.reps; rep++) {
    const samples: Partial<Record<string, Sample>> = {};
    let restoredBytes = 0;
    let agentResticSeconds = 0;
    const agentTo = path.join(inst!.agent.state, 'restore');
    const into = (what: string, key: 'tarX' | 'cp', to: string, script: string): [string, () => Promise<void>] => [
      what,
      async () => {
        removeTree(to);
        dropCaches();
        const r = await timedShell(script);
        check(r, `${what} of the data set`);
        samples[key] = measuredSample(r);
        removeTree(to);
      },
    ];
    const tarTo = path.join(runs, 'tar-xzf');
    const cpTo = path.join(runs, 'cp-copy');
    const units: Array<[string, () => Promise<void>]> = [
      [
        'agent',
        async () => {
          removeTree(agentTo);
          installRecorder(inst!.agent.state);
          dropCaches();
          const a = await runSidecar(one, inst!.agent, { command: ['restore', '--snapshot', 'latest', '--to', '/backup/agent/restore'], path: RECORDER_PATH });
          check(a, 'restore by the agent');
          samples.agent = sampleOf(a);
          agentResticSeconds = recordedCalls(inst!.agent.state).reduce((t, c) => t + c.seconds, 0);
          restoredBytes = treeBytes(path.join(agentTo, 'backup', 'sources', 'benchdata'));
          removeTree(agentTo);
        },
      ],
      into('tar xzf', 'tarX', tarTo, `mkdir ${shq(tarTo)} && tar xzf ${shq(latestTarball)} -C ${shq(tarTo)}`),
      into('cp -a', 'cp', cpTo, `cp -a ${shq(set.root)} ${shq(cpTo)}`),
    ];
    const order = rotate(units, rep);
    for (const [name, fn] of order) {
      log(`agent: restore #${rep + 1}: ${name}`);
      await fn();
    }
    restore.push({ order: order.map(([n]) => n), agent: samples.agent!, agentResticSeconds, tarX: samples.tarX!, cp: samples.cp!, restoredBytes });
  }
  removeTree(runs);
  fs.mkdirSync(runs);
  phase('restore');

  // Days: a new repository, a first backup, then a 1% change and a backup every day; a
  // tar-based tool writes a new tarball every day. Retention is off so every version stays
  // (the agent's GFS policy would forget the same-day snapshots of a simulation). Sizes only
  // here, no times: each day's tarball is made from a copy of that day's data in memory
  // (/dev/shm; hard links would not do: tar reports a file whose link count changes while it
  // reads it), up to two at a time, while the agent and the next days go on.
  const daysDirs = instance(runs, set.root, 'days', 1);
  const shm = fs.existsSync('/dev/shm') ? '/dev/shm' : runs;
  const snapshots = fs.mkdtempSync(path.join(shm, 'bench-days-'));
  const days: DayRecord[] = [];
  const pending: Array<Promise<void>> = [];
  const failures: Error[] = [];
  try {
    for (let day = 0; day <= options.days; day++) {
      const change = day === 0 ? { files: 0, bytes: 0 } : changeFiles(set, 0.01, 1000 + day, options.dataBytes);
      const dir = path.join(snapshots, `day-${day}`);
      const cp = spawnSync('cp', ['-a', set.root, dir], { encoding: 'utf8' });
      if (cp.status !== 0) {
        throw new Error(`cannot copy the data of day ${day}: ${cp.stderr}`);
      }
      const record = { day, repoBytes: 0, tarBytes: 0, changedFiles: change.files, agentSeconds: 0 };
      days.push(record);
      const tarball = `${dir}.tgz`;
      const done: Promise<void> = timedShell(TAR(dir, tarball))
        .then((r) => {
          check(r, `day ${day} tarball`);
          record.tarBytes = fs.statSync(tarball).size;
        })
        .catch((err: Error) => {
          failures.push(err);
        })
        .finally(() => {
          removeTree(tarball);
          removeTree(dir);
          pending.splice(pending.indexOf(done), 1);
        });
      pending.push(done);
      const agentRun = await runSidecar(one, daysDirs, { command: ['run'], plan: { retention: [] } });
      check(agentRun, `day ${day} backup`);
      record.repoBytes = treeBytes(daysDirs.repos[0]);
      record.agentSeconds = agentRun.seconds;
      log(`agent: day ${day}: repository ${(record.repoBytes / 1e6).toFixed(1)} MB, ${change.files} files changed`);
      while (pending.length >= 2) {
        await pending[0];
      }
      if (failures.length > 0) {
        throw failures[0];
      }
    }
    while (pending.length > 0) {
      await pending[0];
    }
    if (failures.length > 0) {
      throw failures[0];
    }
  } finally {
    await Promise.all([...pending]);
    removeTree(snapshots);
  }
  log(`agent: ${options.days} days: tarballs ${days.map((d) => (d.tarBytes / 1e6).toFixed(1)).join(' ')} MB`);
  removeTree(runs);
  phase('days');

  const fanOutStrategy = await runFanOutStrategy({ work: path.join(work, 'fan-out-strategy'), set, dataBytes: options.dataBytes, reps: options.reps, log });
  phase('fan-out strategy');

  return {
    dataSet: { ...described, requestedBytes: options.dataBytes, generateSeconds },
    coldCache: cold,
    resticVersion,
    agentScriptSha256,
    sandboxNoopSeconds,
    full,
    incremental,
    restore,
    resticCalls: {
      oneTarget: { full: countCycles(full), incremental: countCycles(incremental) },
      twoTargets: twoTargetCounts(full, incremental),
    },
    days,
    daysRetention: 'off (the plan\'s retention empty): every daily version stays',
    fanOutStrategy,
    phaseSeconds,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

/** The two-target runs' calls counted, where every repetition of the case measured them. */
function twoTargetCounts(full: BackupRep[], incremental: BackupRep[]): ResticCallCounts['twoTargets'] {
  const of = (reps: BackupRep[]) => (reps.every((v) => v.callsTwoTargets) ? countCycles(reps.map((v) => ({ calls: v.callsTwoTargets! }))) : []);
  return { full: of(full), incremental: of(incremental) };
}

export type { Sidecar };
