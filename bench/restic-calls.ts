/**
 * The restic calls of one agent cycle, counted by subcommand and target: what the report's
 * "restic calls per routine cycle" table compares, what results.json keeps so that the next
 * run can compare against it, and the warning when a routine cycle makes more calls per target
 * than issue 13 expects.
 */
import { stats } from './measure';

/** restic's subcommands (0.14 to 0.17), to find the one among a call's options. */
const SUBCOMMANDS = new Set([
  'backup', 'cache', 'cat', 'check', 'copy', 'diff', 'dump', 'find', 'forget', 'generate', 'init', 'key', 'list', 'ls',
  'migrate', 'mount', 'prune', 'rebuild-index', 'recover', 'repair', 'restore', 'rewrite', 'self-update', 'snapshots',
  'stats', 'tag', 'unlock', 'version',
]);

/** At most this many restic calls per target in a routine incremental cycle: backup, and forget when retention runs. */
export const ROUTINE_CALLS_PER_TARGET = 2;

/** A recorded call as results.json keeps it (older results have only `command`). */
export interface CountedCall {
  /** The first three arguments that are not paths, e.g. `backup --json --host`. */
  readonly command: string;
  readonly subcommand?: string;
  /** The repository the call went to: which target it counts for. */
  readonly repository?: string;
  readonly seconds: number;
}

/** How many calls of each subcommand: one record per target, in the order the cycle reached them. */
export type TargetCounts = Array<Record<string, number>>;

/** The counts of the full and the incremental cycle. */
export interface CycleCounts {
  readonly full: TargetCounts;
  readonly incremental: TargetCounts;
}

/** What this run counted: the one-target agent (the goals' runs) and the two-target one. */
export interface ResticCallCounts {
  readonly oneTarget: CycleCounts;
  readonly twoTargets?: CycleCounts;
}

/** The counts of the last committed full run, and where they come from. */
export interface CountsBefore extends CycleCounts {
  readonly source: string;
}

/** The subcommand of a call (its first argument that names one), or its first word. */
export function subcommandOf(args: string[]): string {
  return args.find((a) => SUBCOMMANDS.has(a)) ?? args.find((a) => !a.startsWith('-')) ?? '?';
}

/** The repository of a call: RESTIC_REPOSITORY, or its `-r`/`--repo` option. */
export function repositoryOf(args: string[], env: Record<string, string>): string {
  const i = args.findIndex((a) => a === '-r' || a === '--repo');
  const inline = args.find((a) => a.startsWith('--repo='));
  return i >= 0 ? args[i + 1] ?? '' : inline?.slice('--repo='.length) ?? env.RESTIC_REPOSITORY ?? '';
}

/** The calls of one cycle counted per target and subcommand. */
export function countPerTarget(calls: CountedCall[]): TargetCounts {
  const targets = new Map<string, Record<string, number>>();
  for (const c of calls) {
    const sub = c.subcommand ?? subcommandOf(c.command.split(' '));
    const counts = targets.get(c.repository ?? '') ?? {};
    counts[sub] = (counts[sub] ?? 0) + 1;
    targets.set(c.repository ?? '', counts);
  }
  return [...targets.values()];
}

/** Per target and subcommand, the median count over the repetitions. */
export function medianCounts(reps: TargetCounts[]): TargetCounts {
  const targets = Math.max(0, ...reps.map((r) => r.length));
  return Array.from({ length: targets }, (_, t) => {
    const names = [...new Set(reps.flatMap((r) => Object.keys(r[t] ?? {})))];
    return Object.fromEntries(names.map((n) => [n, stats(reps.map((r) => r[t]?.[n] ?? 0)).median]));
  });
}

/** The calls of each repetition of a case, counted. */
export function countCycles(reps: Array<{ calls: CountedCall[] }>): TargetCounts {
  return medianCounts(reps.map((r) => countPerTarget(r.calls)));
}

/** Calls of one target, all subcommands. */
export function total(counts: Record<string, number> | undefined): number {
  return Object.values(counts ?? {}).reduce((t, n) => t + n, 0);
}

/**
 * The counts of a committed results.json (its own record, or counted from its calls when it
 * predates that record); undefined when it has no agent part.
 */
export function countsOfResults(previous: any, source: string): CountsBefore | undefined {
  const agent = previous?.agent;
  if (!agent?.full || !agent?.incremental) {
    return undefined;
  }
  const counts: CycleCounts = agent.resticCalls?.oneTarget ?? { full: countCycles(agent.full), incremental: countCycles(agent.incremental) };
  const measured = typeof previous.meta?.gitCommit === 'string' ? `, which measured the agent of commit ${previous.meta.gitCommit.slice(0, 12)}` : '';
  return { ...counts, source: `${source}${measured}` };
}

/** The warning when a routine incremental cycle made more calls on a target than expected. */
export function routineCallsWarning(counts: ResticCallCounts): string | undefined {
  const cases: Array<[string, TargetCounts | undefined]> = [
    ['one target', counts.oneTarget.incremental],
    ['two targets', counts.twoTargets?.incremental],
  ];
  const over = cases
    .filter(([, c]) => c !== undefined && c.some((t) => total(t) > ROUTINE_CALLS_PER_TARGET))
    .map(([name, c]) => `${name}: ${c!.map((t) => `${total(t)} (${describe(t)})`).join(', ')}`);
  return over.length === 0
    ? undefined
    : `the agent made more than ${ROUTINE_CALLS_PER_TARGET} restic calls per target in a routine incremental cycle ` +
        `(issue 13 expects backup, and forget when retention runs): ${over.join('; ')}`;
}

/** `backup, forget ×2` for one target's counts. */
export function describe(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([n, k]) => (k === 1 ? n : `${n} ×${k}`))
    .join(', ');
}
