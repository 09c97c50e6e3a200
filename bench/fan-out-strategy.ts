/**
 * Fan-out strategy (issue 13): how to write the second copy. Either every target runs its own
 * `restic backup`, at the same time (what the agent does, `targetConcurrency`), or the data is
 * backed up once and the new snapshot is then `restic copy`'d to the other repository. Measured
 * with bare restic on the host (no agent, no sandbox), so only the two strategies differ.
 *
 * Every repetition starts from fresh repositories (the copy's destination initialised with
 * `init --copy-chunker-params`, so both deduplicate alike), drops the page cache before each
 * measurement, and measures in an order that rotates from one repetition to the next:
 *
 * - one: `restic backup` to one repository (the reference);
 * - parallel: two `restic backup` processes at once, one per repository, until both end;
 * - copy: `restic backup` to A, then `restic -r B copy --from-repo A` of its snapshot;
 *
 * first for the full backup, then, on the same repositories, for an incremental after 1% of
 * the files changed (test/support/data-set.ts's change generator).
 */
import * as fs from 'fs';
import * as path from 'path';
import { PASSWORD } from './agent-sidecar';
import { DataSet, changeFiles } from '../test/support/data-set';
import { Measured, canDropCaches, dropCaches, removeTree, rotate, secondsSince, timed } from './measure';

/** One repetition of one case (full or incremental): wall seconds of each strategy. */
export interface FanOutRep {
  readonly order: string[];
  /** `restic backup` to one repository. */
  readonly one: number;
  /** Two `restic backup` processes at once, until both end. */
  readonly parallel: number;
  /** Each of the two parallel backups' own wall time. */
  readonly parallelEach: number[];
  /** `restic backup` to A, then `restic copy` of its snapshot to B. */
  readonly copy: number;
  /** The backup part of `copy`. */
  readonly copyBackup: number;
  /** The `restic copy` part of `copy`. */
  readonly copyCopy: number;
}

export interface FanOutStrategyResults {
  readonly coldCache: boolean;
  readonly full: FanOutRep[];
  readonly incremental: FanOutRep[];
  /** Files changed before each repetition's incremental. */
  readonly changedFiles: number[];
  readonly seconds: number;
}

export interface FanOutStrategyOptions {
  /** Scratch folder (removed at the end). */
  readonly work: string;
  /** The bench's data set (its files are changed by 1% once per repetition). */
  readonly set: DataSet;
  readonly dataBytes: number;
  readonly reps: number;
  readonly log: (line: string) => void;
}

/** restic in a clean environment, with the bench's password and a cache folder of this repetition. */
class Restic {
  readonly passwordFile: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(dir: string) {
    this.passwordFile = path.join(dir, 'password');
    fs.writeFileSync(this.passwordFile, PASSWORD, { mode: 0o600 });
    this.env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, RESTIC_PASSWORD_FILE: this.passwordFile, RESTIC_CACHE_DIR: path.join(dir, 'cache') };
  }

  async run(repo: string, args: string[], what: string): Promise<Measured> {
    const r = await timed(['restic', '-r', repo, ...args], { env: this.env });
    if (r.code !== 0) {
      throw new Error(`fan-out strategy: ${what} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
    }
    return r;
  }

  /** `restic backup` of the data set, as the agent calls it; its wall time and snapshot id. */
  async backup(repo: string, data: string): Promise<{ seconds: number; snapshot: string }> {
    const r = await this.run(repo, ['backup', '--json', '--host', 'bench', '--', data], `restic backup to ${repo}`);
    const summary = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((m) => m.message_type === 'summary');
    if (!summary?.snapshot_id) {
      throw new Error(`fan-out strategy: restic backup to ${repo} reported no snapshot id`);
    }
    return { seconds: r.seconds, snapshot: summary.snapshot_id };
  }
}

/** Runs the fan-out strategy case on the data set. */
export async function runFanOutStrategy(options: FanOutStrategyOptions): Promise<FanOutStrategyResults> {
  const started = process.hrtime.bigint();
  const { work, set, log } = options;
  const full: FanOutRep[] = [];
  const incremental: FanOutRep[] = [];
  const changedFiles: number[] = [];
  for (let rep = 0; rep < options.reps; rep++) {
    const dir = path.join(work, `rep-${rep + 1}`);
    removeTree(dir);
    fs.mkdirSync(dir, { recursive: true });
    const restic = new Restic(dir);
    const repo = (name: string) => path.join(dir, name);
    // Fresh repositories, unmeasured: the copy's destination takes the source's chunker
    // parameters, so a copied snapshot deduplicates against what the destination holds.
    for (const name of ['one', 'parallel-a', 'parallel-b', 'copy-a']) {
      await restic.run(repo(name), ['init'], `restic init of ${name}`);
    }
    await restic.run(repo('copy-b'), ['init', '--copy-chunker-params', '--from-repo', repo('copy-a'), '--from-password-file', restic.passwordFile], 'restic init of copy-b');

    const measure = async (kind: 'full' | 'incremental'): Promise<FanOutRep> => {
      const seconds: Partial<Record<'one' | 'parallel' | 'copy' | 'copyBackup' | 'copyCopy', number>> = {};
      let parallelEach: number[] = [];
      const units: Array<[string, () => Promise<void>]> = [
        [
          'one',
          async () => {
            seconds.one = (await restic.backup(repo('one'), set.root)).seconds;
          },
        ],
        [
          'parallel',
          async () => {
            const t0 = process.hrtime.bigint();
            const each = await Promise.all(['parallel-a', 'parallel-b'].map((name) => restic.backup(repo(name), set.root)));
            seconds.parallel = secondsSince(t0);
            parallelEach = each.map((b) => b.seconds);
          },
        ],
        [
          'backup + copy',
          async () => {
            const t0 = process.hrtime.bigint();
            const b = await restic.backup(repo('copy-a'), set.root);
            const c = await restic.run(
              repo('copy-b'),
              ['copy', '--from-repo', repo('copy-a'), '--from-password-file', restic.passwordFile, b.snapshot],
              'restic copy from copy-a to copy-b',
            );
            seconds.copy = secondsSince(t0);
            seconds.copyBackup = b.seconds;
            seconds.copyCopy = c.seconds;
          },
        ],
      ];
      const order = rotate(units, rep);
      for (const [name, fn] of order) {
        log(`agent: fan-out strategy, ${kind} #${rep + 1}: ${name}`);
        dropCaches();
        await fn();
      }
      return {
        order: order.map(([n]) => n),
        one: seconds.one!,
        parallel: seconds.parallel!,
        parallelEach,
        copy: seconds.copy!,
        copyBackup: seconds.copyBackup!,
        copyCopy: seconds.copyCopy!,
      };
    };

    full.push(await measure('full'));
    changedFiles.push(changeFiles(set, 0.01, 300 + rep, options.dataBytes).files);
    incremental.push(await measure('incremental'));
    removeTree(dir);
  }
  removeTree(work);
  return { coldCache: canDropCaches(), full, incremental, changedFiles, seconds: secondsSince(started) };
}
