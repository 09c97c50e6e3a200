/**
 * Measuring on a shared, noisy machine: wall time with a monotonic clock, peak memory of a
 * process tree, the page cache dropped between cold reads, and statistics over repetitions.
 * Every figure the report states is a ratio of two things measured side by side in the same
 * repetition; the repetitions give its median, min and max.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';

/** Median, min and max of some numbers. */
export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function stats(values: number[]): Stats {
  if (values.length === 0) {
    return { median: NaN, min: NaN, max: NaN, n: 0 };
  }
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

/** Per-repetition ratios a[i] / b[i] of paired measurements. */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / b[i]);
}

let dropCachesAllowed: boolean | undefined;

/** Whether this process may drop the page cache (root, writable /proc/sys/vm/drop_caches). */
export function canDropCaches(): boolean {
  if (dropCachesAllowed === undefined) {
    try {
      spawnSync('sync');
      fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
      dropCachesAllowed = true;
    } catch {
      dropCachesAllowed = false;
    }
  }
  return dropCachesAllowed;
}

/** Flushes dirty pages and drops the page cache, when permitted (else only flushes). */
export function dropCaches(): void {
  spawnSync('sync');
  if (canDropCaches()) {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
  }
}

/** The units in an order that starts one further each repetition. */
export function rotate<T>(units: T[], rep: number): T[] {
  const k = rep % units.length;
  return [...units.slice(k), ...units.slice(0, k)];
}

/** Wall seconds since `start` (process.hrtime.bigint()). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Result of one measured command. */
export interface Measured {
  readonly seconds: number;
  /** Largest resident set of any one process of the tree (getrusage ru_maxrss), bytes. */
  readonly peakRssBytes: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command under GNU time (`/usr/bin/time -f`): wall time from our clock, peak RSS of
 * the largest process the command waited for (ru_maxrss of its children).
 */
export function timed(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; shell?: boolean } = {}): Promise<Measured> {
  const timeFile = `/tmp/bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const args = ['-f', '%M', '-o', timeFile, ...argv];
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d.length < 1e6 ? d : ''));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d.length < 1e6 ? d : ''));
    child.once('error', reject);
    child.once('close', (code) => {
      const seconds = secondsSince(start);
      let peakKb = NaN;
      try {
        const lines = fs.readFileSync(timeFile, 'utf8').trim().split('\n');
        peakKb = Number(lines[lines.length - 1]);
        fs.rmSync(timeFile, { force: true });
      } catch {
        // no figure
      }
      resolve({ seconds, peakRssBytes: peakKb * 1024, code, stdout, stderr });
    });
  });
}

/** Runs `sh -c SCRIPT` under GNU time. */
export function timedShell(script: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Measured> {
  return timed(['/bin/sh', '-c', script], options);
}

/** Peak memory of a process tree, sampled. */
export interface TreePeak {
  /** Highest sum of resident memory of all processes of the tree at one sample, bytes. */
  readonly sumRssBytes: number;
  /** Highest VmHWM (peak resident set) of any one process of the tree, bytes. */
  readonly maxProcessBytes: number;
  /** The command name of that process. */
  readonly maxProcessName: string;
  readonly samples: number;
}

/**
 * Samples the resident memory of `rootPid` and all its descendants every `intervalMs` until
 * `stop()`: the peak of the sum, and each process's own peak (VmHWM, exact for any process
 * that lived through at least one sample). It walks the tree through
 * /proc/PID/task/TID/children, so a sample reads only the tree's own files.
 */
export function sampleTree(rootPid: () => number | undefined, intervalMs = 100): { stop(): TreePeak } {
  let sumPeak = 0;
  let maxProc = 0;
  let maxName = '';
  let samples = 0;
  const read = (file: string): string | undefined => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined; // gone meanwhile
    }
  };
  const sample = () => {
    const root = rootPid();
    if (root === undefined) {
      return;
    }
    let sum = 0;
    const queue = [root];
    const seen = new Set<number>();
    while (queue.length > 0) {
      const pid = queue.pop()!;
      if (seen.has(pid)) {
        continue;
      }
      seen.add(pid);
      const status = read(`/proc/${pid}/status`);
      if (status === undefined) {
        continue;
      }
      const rss = Number(/\nVmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      const hwm = Number(/\nVmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      sum += rss;
      if (hwm > maxProc) {
        maxProc = hwm;
        maxName = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
      }
      let tasks: string[] = [];
      try {
        tasks = fs.readdirSync(`/proc/${pid}/task`);
      } catch {
        tasks = [];
      }
      for (const tid of tasks) {
        for (const child of (read(`/proc/${pid}/task/${tid}/children`) ?? '').split(' ')) {
          if (child.trim() !== '') {
            queue.push(Number(child));
          }
        }
      }
    }
    sumPeak = Math.max(sumPeak, sum);
    samples++;
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return { sumRssBytes: sumPeak, maxProcessBytes: maxProc, maxProcessName: maxName, samples };
    },
  };
}

/** Bytes under a folder (apparent sizes of regular files), like `du -sb`. */
export function treeBytes(dir: string): number {
  const out = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  if (out.status !== 0) {
    throw new Error(`du -sb ${dir} failed: ${out.stderr}`);
  }
  return Number(out.stdout.split(/\s+/)[0]);
}

/** Removes a folder (never through a mount point: the sandbox's mounts are gone by then). */
export function removeTree(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Seconds as a short human string. */
export function fmtSeconds(s: number): string {
  return s >= 100 ? `${s.toFixed(0)} s` : s >= 10 ? `${s.toFixed(1)} s` : `${s.toFixed(2)} s`;
}

/** Bytes as a short human string (MiB / GiB). */
export function fmtBytes(b: number): string {
  if (b >= 1024 ** 3) {
    return `${(b / 1024 ** 3).toFixed(2)} GiB`;
  }
  if (b >= 1024 ** 2) {
    return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  }
  return `${(b / 1024).toFixed(0)} KiB`;
}
