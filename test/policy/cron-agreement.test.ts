/**
 * One cron, computed once: the TypeScript model (src/policy/cron.ts, behind `Schedule`)
 * parses the expression and the plan carries its allowed values per field and the day rule
 * (src/agent/agent-plan.ts); the agent only matches a minute against them (`cron_matches`,
 * src/agent/parts/15-cron.sh), run under busybox sh and under dash with busybox applets
 * (busybox `date`) first on PATH, as in the restic image. The sets reach the agent flattened
 * by the plan loader's own jq `sets` definition, taken out of the agent script.
 *
 * 1. Agreement: 10,000+ seeded random expressions (`*`, values, ranges, steps, `a/n`, lists,
 *    leading zeros, Sunday as 0 and 7, some invalid ones), each at 2 sample minutes in
 *    2024-2031, TZ=UTC: one on any day (leap days, month ends, year ends, Sundays, random
 *    days), one on a day where exactly one of the two day fields matches (so the day rule
 *    decides); mostly at a minute and hour the expression allows. Invalid expressions are
 *    refused by the model (synth fails) and never reach the agent; every other sample goes to
 *    one agent process per shell (`backup-agent cron-match-batch`, "SETS<TAB>EPOCH" per line).
 * 2. Gaps: for 300 of the expressions, `Schedule.cron(expr).maxIntervalSeconds` equals the
 *    longest gap between consecutive matching minutes found by walking every minute of the
 *    28-year cycle 2001-01-01..2029-01-01 (7 leap days) with the TypeScript matcher, whose
 *    agreement with the agent part 1 proves; the gap across the cycle's end is taken
 *    cyclically (the calendar repeats every 28 years from 1901 to 2099, checked here too).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Schedule } from '../../src';
import { agentScript } from '../../src/agent/agent-asset';
import { planSchedule } from '../../src/agent/agent-plan';
import { CronFields, cronMatches, matchesAt, parseCron } from '../../src/policy/cron';
import { agentSourceFile } from '../support/test-values';

/**
 * Each expression's schedule as the agent's plan loader flattens it (its jq `sets`), in one jq
 * run over all of them.
 */
function agentSets(expressions: string[]): string[] {
  const def = /def sets:[\s\S]*? end;/.exec(agentScript());
  if (!def) {
    throw new Error('no `def sets` in the agent script');
  }
  const r = spawnSync('jq', ['-r', `${def[0]} .[] | sets`], {
    input: JSON.stringify(expressions.map((e) => planSchedule(e))),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(`jq failed: ${r.stderr}`);
  }
  return r.stdout.trimEnd().split('\n');
}

/** Enough that at least 10,000 valid ones reach the agent (about 1 in 12 is invalid). */
const EXPRESSIONS = 11_000;
const SAMPLES_PER_EXPRESSION = 2;
const GAP_EXPRESSIONS = 300;

// ---- a seeded generator -------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so that a failure can be reproduced. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Range {
  readonly min: number;
  readonly max: number;
}
const RANGES: Range[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12 },
  { min: 0, max: 7 },
];
const STEPS = [1, 2, 2, 3, 4, 5, 6, 7, 10, 13, 15, 30, 45];

function generator(seed: number) {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const num = (n: number) => (r() < 0.05 ? `0${n}` : `${n}`); // leading zeros are decimal

  const item = (f: Range, dayField: boolean): string => {
    const x = r();
    const a = int(f.min, f.max);
    const b = int(a, f.max);
    if (x < (dayField ? 0.3 : 0.2)) return '*';
    if (x < 0.45) return `*/${num(pick(STEPS))}`;
    if (x < 0.7) return num(a);
    if (x < 0.85) return `${num(a)}-${num(b)}`;
    if (x < 0.93) return `${num(a)}-${num(b)}/${num(pick(STEPS))}`;
    return `${num(a)}/${num(pick(STEPS))}`;
  };
  const field = (i: number): string => {
    const count = r() < 0.7 ? 1 : r() < 0.67 ? 2 : 3;
    return Array.from({ length: count }, () => item(RANGES[i], i === 2 || i === 4)).join(',');
  };
  const invalid = (i: number): string => {
    const f = RANGES[i];
    return pick([`${f.max + 1}`, `${f.min + 1}-${f.min}`, '*/0', `${f.min}-${f.max}/0`, 'x', `-${f.max}`, `${f.min},`, '*-3', `${f.max + 1}/2`]);
  };

  return (): string => {
    const fields = [0, 1, 2, 3, 4].map(field);
    // minute and hour are mostly narrow (as in backup schedules), so that days decide
    if (r() < 0.6) fields[0] = num(int(0, 59));
    if (r() < 0.5) fields[1] = num(int(0, 23));
    // the interesting day-field shapes, often
    const y = r();
    if (y < 0.1) fields[2] = pick(['*/2', '*/3', '*/7', '*/10', '*/13', '*/15', '*/16']);
    else if (y < 0.2) fields[4] = pick(['1-5', '0', '7', '1', '5-7', '0-6', '0-7', '*/2', '1-7/2', '6,7']);
    else if (y < 0.3) fields[2] = pick(['1-31', '1-7', '8-14', '31', '29', '30', '1,15', '*,1', '1,*']);
    if (r() < 0.03) {
      const i = int(0, 4);
      fields[i] = invalid(i);
    }
    return fields.join(' ');
  };
}

// ---- sample minutes ------------------------------------------------------------------------

const DAY = 86400;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 1000;
/** Leap days, the days around them, month ends, year ends. */
const SPECIAL_DAYS = [
  '2024-02-28', '2024-02-29', '2024-03-01', '2028-02-29', '2028-03-01', '2025-02-28', '2025-03-01', '2027-02-28',
  '2024-01-31', '2024-04-30', '2024-06-30', '2024-09-30', '2024-11-30', '2024-12-31', '2025-01-01', '2025-05-31',
  '2026-08-31', '2026-10-31', '2027-12-31', '2028-01-01', '2030-03-31', '2031-07-31',
].map(day);
const FIRST_DAY = day('2024-01-01');
const LAST_DAY = day('2031-12-31');

function sampler(seed: number) {
  const r = rng(seed);
  const pickIndex = (flags: readonly boolean[]) => {
    const allowed = flags.flatMap((ok, v) => (ok ? [v] : []));
    return allowed[Math.floor(r() * allowed.length)];
  };
  const randomDay = () => {
    const x = r();
    const d = FIRST_DAY + Math.floor(r() * ((LAST_DAY - FIRST_DAY) / DAY + 1)) * DAY;
    if (x < 0.4) {
      return SPECIAL_DAYS[Math.floor(r() * SPECIAL_DAYS.length)];
    }
    return x < 0.6 ? d - new Date(d * 1000).getUTCDay() * DAY : d; // a Sunday, or any day
  };
  /** A day of the month field where exactly one day field matches, when one is found: the day rule decides. */
  const splitDay = (f: CronFields) => {
    for (let i = 0; i < 60; i++) {
      const d = randomDay();
      const date = new Date(d * 1000);
      if (f.months[date.getUTCMonth() + 1] && f.daysOfMonth[date.getUTCDate()] !== f.daysOfWeek[date.getUTCDay()]) {
        return d;
      }
    }
    return randomDay();
  };
  /** Sample `i` of an expression: even ones any day, odd ones a day where the day rule decides. */
  return (f: CronFields | undefined, i: number): number => {
    const d = f && i % 2 === 1 ? splitDay(f) : randomDay();
    const minute = f && r() < 0.85 ? pickIndex(f.minutes) : Math.floor(r() * 60);
    const hour = f && r() < 0.85 ? pickIndex(f.hours) : Math.floor(r() * 24);
    return d + hour * 3600 + minute * 60;
  };
}

/** The TypeScript answer in the agent's terms: 0 match, 1 no match, 2 invalid. */
function tsAnswer(expression: string, epoch: number): number {
  let f: CronFields;
  try {
    f = parseCron(expression);
  } catch {
    return 2;
  }
  return cronMatches(f, epoch) ? 0 : 1;
}

/** What the day rule TypeScript had before (both fields restricted by value: either) would say. */
function oldRuleAnswer(f: CronFields, epoch: number): number {
  const d = new Date(epoch * 1000);
  const doms = f.daysOfMonth.filter(Boolean).length;
  const dows = f.daysOfWeek.filter(Boolean).length;
  const dom = f.daysOfMonth[d.getUTCDate()];
  const dow = f.daysOfWeek[d.getUTCDay()];
  const day = doms < 31 && dows < 7 ? dom || dow : dom && dow;
  return f.minutes[d.getUTCMinutes()] && f.hours[d.getUTCHours()] && f.months[d.getUTCMonth() + 1] && day ? 0 : 1;
}

// ---- the agent, once per shell -------------------------------------------------------------

let workDir: string;
let binDir: string;

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cron-agreement-'));
  binDir = path.join(workDir, 'bin');
  fs.mkdirSync(binDir);
  // busybox applets first on PATH, as in the restic image (busybox `date` does the calendar)
  const r = spawnSync('busybox', ['--install', '-s', binDir], { encoding: 'utf8' });
  expect(r.status).toBe(0);
});

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

function runBatch(shell: 'busybox' | 'dash', inputFile: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const argv = shell === 'busybox' ? ['busybox', 'sh'] : ['dash'];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], [...argv.slice(1), agentSourceFile(), 'cron-match-batch'], {
      env: { PATH: `${binDir}:/usr/bin:/bin`, TZ: 'UTC', HOME: workDir },
      stdio: [fs.openSync(inputFile, 'r'), 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b) => (stdout += b));
    child.stderr!.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

// ---- 1. agreement --------------------------------------------------------------------------

describe('the TypeScript cron model and the agent agree', () => {
  const next = generator(20261126);
  const sample = sampler(12);
  const expressions = new Set<string>();
  while (expressions.size < EXPRESSIONS) {
    expressions.add(next());
  }
  const cases: Array<[string, number]> = [];
  for (const e of expressions) {
    let f: CronFields | undefined;
    try {
      f = parseCron(e);
    } catch {
      f = undefined;
    }
    for (let i = 0; i < SAMPLES_PER_EXPRESSION; i++) {
      cases.push([e, sample(f, i)]);
    }
  }
  const expected = cases.map(([e, t]) => tsAnswer(e, t));
  // What the agent sees: the valid expressions (synth refuses the others).
  const agentCases = cases.filter((_c, i) => expected[i] !== 2);
  const agentExpected = expected.filter((answer) => answer !== 2);

  test('the samples cover what matters: matches, invalid expressions, both day rules, Sundays as 7, leap days', () => {
    const count = (p: (i: number) => boolean) => cases.reduce((n, _c, i) => n + (p(i) ? 1 : 0), 0);
    const fields = (i: number) => cases[i][0].split(' ');
    const date = (i: number) => new Date(cases[i][1] * 1000);
    // eslint-disable-next-line no-console
    console.log(JSON.stringify({
      match: count((i) => expected[i] === 0), invalid: count((i) => expected[i] === 2),
      differ: count((i) => expected[i] !== 2 && oldRuleAnswer(parseCron(cases[i][0]), cases[i][1]) !== expected[i]),
      either: count((i) => expected[i] === 0 && !fields(i)[2].startsWith('*') && !fields(i)[4].startsWith('*')),
      both: count((i) => expected[i] === 0 && fields(i)[2].startsWith('*') && fields(i)[4] !== '*'),
      sunday7: count((i) => expected[i] === 0 && date(i).getUTCDay() === 0 && /(^|[,-])7($|[,/])/.test(fields(i)[4])),
      leap: count((i) => date(i).getUTCMonth() === 1 && date(i).getUTCDate() === 29),
      monthEnd: count((i) => new Date((cases[i][1] + DAY) * 1000).getUTCDate() === 1),
    }));
    expect(expressions.size).toBeGreaterThanOrEqual(EXPRESSIONS);
    expect(count((i) => expected[i] === 0)).toBeGreaterThan(3000);
    expect(count((i) => expected[i] === 2)).toBeGreaterThan(400);
    // where the old TypeScript rule answered differently: the cases this test exists for
    const differ = count((i) => expected[i] !== 2 && oldRuleAnswer(parseCron(cases[i][0]), cases[i][1]) !== expected[i]);
    expect(differ).toBeGreaterThan(1500);
    // both day fields restricted (either matches) and one starting with `*` (both must)
    expect(count((i) => expected[i] === 0 && !fields(i)[2].startsWith('*') && !fields(i)[4].startsWith('*'))).toBeGreaterThan(2000);
    expect(count((i) => expected[i] === 0 && fields(i)[2].startsWith('*') && fields(i)[4] !== '*')).toBeGreaterThan(400);
    // Sunday matched by a day-of-week field that names 7
    expect(count((i) => expected[i] === 0 && date(i).getUTCDay() === 0 && /(^|[,-])7($|[,/])/.test(fields(i)[4]))).toBeGreaterThan(300);
    expect(count((i) => date(i).getUTCMonth() === 1 && date(i).getUTCDate() === 29)).toBeGreaterThan(400);
    expect(count((i) => new Date((cases[i][1] + DAY) * 1000).getUTCDate() === 1)).toBeGreaterThan(4000); // month ends
  });

  let inputFile: string;
  const results = new Map<string, Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>>();
  const batch = (shell: 'busybox' | 'dash') => {
    if (!results.has(shell)) {
      if (!inputFile) {
        inputFile = path.join(workDir, 'samples.tsv');
        const sets = agentSets(agentCases.map(([e]) => e));
        fs.writeFileSync(inputFile, agentCases.map(([, t], i) => `${sets[i]}\t${t}\n`).join(''));
      }
      results.set(shell, runBatch(shell, inputFile));
    }
    return results.get(shell)!;
  };

  test.each(['busybox', 'dash'] as const)(`under %s sh, cron-match-batch gives the TypeScript answer for every sample of a valid expression`, async (shell) => {
    // both shells run at once (two agent processes), each reading every sample
    batch('busybox');
    batch('dash');
    // WHEN
    const r = await batch(shell);
    // THEN
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const answers = r.stdout.trim().split('\n').map(Number);
    expect(answers.length).toBe(agentCases.length);
    expect(new Set(agentCases.map(([e]) => e)).size).toBeGreaterThanOrEqual(10_000);
    const disagreements = agentCases
      .map(([e, t], i) => ({ expression: e, at: new Date(t * 1000).toISOString(), agent: answers[i], typescript: agentExpected[i] }))
      .filter((c) => c.agent !== c.typescript);
    expect(disagreements.slice(0, 20)).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`${shell} sh: ${agentCases.length} samples of ${expressions.size} expressions in ${r.ms} ms`);
  }, 1_200_000);
});

// ---- 2. gaps -------------------------------------------------------------------------------

const CYCLE_START = Date.UTC(2001, 0, 1) / 1000;
const CYCLE_END = Date.UTC(2029, 0, 1) / 1000;

/**
 * Walks every minute of 2001-01-01..2029-01-01 with the TypeScript matcher: the longest gap
 * between consecutive matching minutes, the last one to the first one 28 years later
 * included. Undefined when nothing matches.
 */
function simulatedLongestGap(f: CronFields): { gap: number | undefined; runs: number } {
  let first: number | undefined;
  let previous: number | undefined;
  let longest = 0;
  let runs = 0;
  for (let dayStart = CYCLE_START; dayStart < CYCLE_END; dayStart += DAY) {
    const d = new Date(dayStart * 1000);
    const dom = d.getUTCDate();
    const month = d.getUTCMonth() + 1;
    const dow = d.getUTCDay();
    for (let hour = 0; hour < 24; hour++) {
      for (let minute = 0; minute < 60; minute++) {
        if (matchesAt(f, minute, hour, dom, month, dow)) {
          const t = dayStart + hour * 3600 + minute * 60;
          if (previous === undefined) {
            first = t;
          } else {
            longest = Math.max(longest, t - previous);
          }
          previous = t;
          runs++;
        }
      }
    }
  }
  if (first === undefined || previous === undefined) {
    return { gap: undefined, runs };
  }
  return { gap: Math.max(longest, first + (CYCLE_END - CYCLE_START) - previous), runs };
}

describe('the gaps the model computes are the gaps of the times the agent fires', () => {
  test('the calendar repeats every 28 years from 1901 to 2099 (so the cycle is every date in it)', () => {
    const r = rng(7);
    const f = parseCron('0 0 29 2 1');
    const shift = CYCLE_END - CYCLE_START;
    for (let i = 0; i < 20_000; i++) {
      const t = Date.UTC(1901, 2, 1) / 1000 + Math.floor(r() * (Date.UTC(2072, 0, 1) / 1000 - Date.UTC(1901, 2, 1) / 1000));
      const a = new Date(t * 1000);
      const b = new Date((t + shift) * 1000);
      expect([b.getUTCMonth(), b.getUTCDate(), b.getUTCDay()]).toEqual([a.getUTCMonth(), a.getUTCDate(), a.getUTCDay()]);
      expect(cronMatches(f, t + shift)).toBe(cronMatches(f, t));
    }
  });

  test(`${GAP_EXPRESSIONS} random expressions: maxIntervalSeconds is the simulated longest gap`, () => {
    const next = generator(20261126); // the same expressions as the agreement test, in order
    const started = Date.now();
    let checked = 0;
    let refused = 0;
    const mismatches: Array<{ expression: string; model: number | string; simulated: number | undefined }> = [];
    while (checked + refused < GAP_EXPRESSIONS) {
      const e = next();
      let f: CronFields;
      try {
        f = parseCron(e);
      } catch {
        continue; // invalid: covered by the agreement test
      }
      const { gap, runs } = simulatedLongestGap(f);
      let model: number | string;
      try {
        model = Schedule.cron(e).maxIntervalSeconds;
      } catch (err) {
        model = (err as Error).message;
      }
      if (gap === undefined || gap > 2922 * DAY) {
        // never, or less than once in eight years: refused
        refused++;
        if (typeof model !== 'string' || !model.includes('never runs (or runs only once in eight years)')) {
          mismatches.push({ expression: e, model, simulated: gap });
        }
        continue;
      }
      expect(runs).toBeGreaterThan(0);
      checked++;
      if (model !== gap) {
        mismatches.push({ expression: e, model, simulated: gap });
      }
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(checked).toBeGreaterThan(GAP_EXPRESSIONS * 0.9);
    // eslint-disable-next-line no-console
    console.log(`gaps: ${checked} expressions equal, ${refused} refused, in ${Date.now() - started} ms`);
  }, 1_200_000);
});
