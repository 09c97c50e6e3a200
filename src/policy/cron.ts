/**
 * The cron model behind `Schedule` (internal, not exported from the package): the parser,
 * the matcher and the longest gap between runs, with the agent's semantics
 * (`cron_matches` in src/agent/parts/15-cron.sh, which follows Vixie cron).
 *
 * The day rule lives in `dayMatches` and nowhere else: when the day-of-month field or the
 * day-of-week field starts with `*` (`*`, `*\/2`, `*,5`, ...), a day must match both fields;
 * when neither starts with `*` (`13`, `1-31`, `0-7`, `1,*`, ...), a day matches if either
 * field matches. Whether a field "starts with `*`" is read from the text, not from the values
 * it allows: `1-31` is restricted (either may match), `*\/1` is not (both must match).
 * Day-of-week 7 is Sunday, like 0.
 */
import { ConfigurationError, show } from '../core/configuration-error';

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
];

/** A parsed cron expression: the values each field allows (index → allowed), and the day rule. */
export interface CronFields {
  readonly expression: string;
  /** Indexed 0-59. */
  readonly minutes: readonly boolean[];
  /** Indexed 0-23. */
  readonly hours: readonly boolean[];
  /** Indexed 1-31. */
  readonly daysOfMonth: readonly boolean[];
  /** Indexed 1-12. */
  readonly months: readonly boolean[];
  /** Indexed 0-6, Sunday 0 (a 7 in the expression is stored as 0). */
  readonly daysOfWeek: readonly boolean[];
  /**
   * True when the day-of-month or the day-of-week field starts with `*`: a day must then
   * match both; otherwise either.
   */
  readonly bothDayFields: boolean;
}

/** Parses and validates a five-field cron expression (fields separated by single spaces). */
export function parseCron(expression: string): CronFields {
  const parts = expression.split(' ').filter((p) => p !== '');
  if (parts.length !== 5) {
    throw invalidCron(expression, `expected 5 fields, got ${parts.length}`);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = parts.map((part, i) => parseField(expression, part, FIELDS[i]));
  return {
    expression,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    bothDayFields: parts[2].startsWith('*') || parts[4].startsWith('*'),
  };
}

function parseField(expression: string, text: string, spec: FieldSpec): boolean[] {
  const size = spec.name === 'day-of-week' ? 7 : spec.max + 1;
  const values: boolean[] = new Array(size).fill(false);
  for (const item of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) {
      throw invalidCron(expression, `${spec.name} field item ${JSON.stringify(item)} is not *, a number, a range a-b, or a step */n or a-b/n`);
    }
    const step = m[4] === undefined ? 1 : Number(m[4]);
    let from = spec.min;
    let to = spec.max;
    if (m[1] !== '*') {
      from = Number(m[2]);
      // `a/n` runs from a to the end of the field's range, every n
      to = m[3] === undefined ? (m[4] === undefined ? from : spec.max) : Number(m[3]);
    }
    for (const v of [from, to]) {
      if (v < spec.min || v > spec.max) {
        throw invalidCron(expression, `${spec.name} value ${v} is outside ${spec.min}-${spec.max}`);
      }
    }
    if (from > to) {
      throw invalidCron(expression, `${spec.name} range ${from}-${to} runs backwards`);
    }
    if (step < 1) {
      throw invalidCron(expression, `${spec.name} step must be at least 1, got ${step}`);
    }
    for (let v = from; v <= to; v += step) {
      values[v % size] = true; // day-of-week 7 is Sunday: stored as 0
    }
  }
  return values;
}

/**
 * THE day rule (Vixie cron, as the agent's `cron_matches`): the month must match; then, when
 * either day field starts with `*`, both day fields must match, otherwise either one.
 * `dayOfWeek` is 0-6, Sunday 0.
 */
export function dayMatches(f: CronFields, dayOfMonth: number, month: number, dayOfWeek: number): boolean {
  if (!f.months[month]) {
    return false;
  }
  const dom = f.daysOfMonth[dayOfMonth];
  const dow = f.daysOfWeek[dayOfWeek];
  return f.bothDayFields ? dom && dow : dom || dow;
}

/** Whether the expression fires at this wall-clock minute (`dayOfWeek` 0-6, Sunday 0). */
export function matchesAt(f: CronFields, minute: number, hour: number, dayOfMonth: number, month: number, dayOfWeek: number): boolean {
  return f.minutes[minute] && f.hours[hour] && dayMatches(f, dayOfMonth, month, dayOfWeek);
}

/** Whether the expression fires in the minute of `epochSeconds`, in UTC. */
export function cronMatches(f: CronFields, epochSeconds: number): boolean {
  const d = new Date(Math.floor(epochSeconds / 60) * 60000);
  return matchesAt(f, d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCDay());
}

/**
 * The calendar the gaps are computed over: 28 years from 2001-01-01 (a Monday). 28 years are
 * 10,227 days, exactly 1,461 weeks, and from 1901-03-01 to 2100-02-28 every year divisible by
 * 4 is a leap year, so the dates and weekdays of this cycle repeat unchanged throughout: the
 * gaps over the cycle, taken cyclically (the last run to the first run of the next cycle),
 * are the gaps of every run from 1901 to 2099.
 */
export const GAP_CYCLE_START_EPOCH = Date.UTC(2001, 0, 1) / 1000;
export const GAP_CYCLE_YEARS = 28;
export const GAP_CYCLE_DAYS = 10227;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The longest time between two consecutive runs, in seconds, over the cycle above (UTC, no
 * daylight-saving shifts). Exact: every day of the cycle is checked with `dayMatches`, and a
 * matching day runs at every minute the minute and hour fields allow. Undefined when the
 * expression never runs (e.g. `0 0 30 2 *`).
 */
export function longestGapSeconds(f: CronFields): number | undefined {
  const times = timesOfDay(f);
  if (times.length === 0) {
    return undefined;
  }
  let longest = 0;
  for (let i = 1; i < times.length; i++) {
    longest = Math.max(longest, times[i] - times[i - 1]);
  }
  const firstTime = times[0];
  const lastTime = times[times.length - 1];

  let firstDay = -1;
  let previousDay = -1;
  firingDays(f).forEach((fires, day) => {
    if (!fires) {
      return;
    }
    if (previousDay < 0) {
      firstDay = day;
    } else {
      longest = Math.max(longest, (day - previousDay) * 86400 + firstTime - lastTime);
    }
    previousDay = day;
  });
  if (previousDay < 0) {
    return undefined;
  }
  // the last run of the cycle to the first run of the next one
  longest = Math.max(longest, (firstDay + GAP_CYCLE_DAYS - previousDay) * 86400 + firstTime - lastTime);
  return longest;
}

/** The minutes of the day (in seconds from midnight) at which the expression fires. */
function timesOfDay(f: CronFields): number[] {
  const times: number[] = [];
  for (let h = 0; h < 24; h++) {
    for (let m = 0; m < 60; m++) {
      if (f.hours[h] && f.minutes[m]) {
        times.push(h * 3600 + m * 60);
      }
    }
  }
  return times;
}

/** For each day of the cycle: whether the expression fires that day (its day rule). */
function firingDays(f: CronFields): boolean[] {
  const days: boolean[] = [];
  let dayOfWeek = 1; // 2001-01-01 is a Monday
  for (let year = 2001; year < 2001 + GAP_CYCLE_YEARS; year++) {
    for (let month = 1; month <= 12; month++) {
      const count = month === 2 && year % 4 === 0 ? 29 : MONTH_DAYS[month - 1];
      for (let dayOfMonth = 1; dayOfMonth <= count; dayOfMonth++) {
        days.push(dayMatches(f, dayOfMonth, month, dayOfWeek));
        dayOfWeek = (dayOfWeek + 1) % 7;
      }
    }
  }
  return days;
}

/**
 * The longest time between two runs of work that `marks` makes due and the first run of
 * `runs` at or after that time does: the agent's restore drill, due on its schedule and done
 * after the next backup (it compares with checksums taken at backup time). Exact over the
 * 28-year cycle (UTC), like `longestGapSeconds`; undefined when either never fires.
 */
export function longestDeferredGapSeconds(marks: CronFields, runs: CronFields): number | undefined {
  const markTimes = timesOfDay(marks);
  const runTimes = timesOfDay(runs);
  const markDays = firingDays(marks);
  const runDays = firingDays(runs);
  const firstRunDay = runDays.indexOf(true);
  if (markTimes.length === 0 || runTimes.length === 0 || firstRunDay < 0 || !markDays.includes(true)) {
    return undefined;
  }
  // nextRunDay[d]: the first day after d with runs, counted on past the cycle's end.
  const nextRunDay = new Array<number>(GAP_CYCLE_DAYS);
  let next = firstRunDay + GAP_CYCLE_DAYS;
  for (let d = GAP_CYCLE_DAYS - 1; d >= 0; d--) {
    nextRunDay[d] = next;
    if (runDays[d]) {
      next = d;
    }
  }
  // The runs that do the work, in order: per day, each run with a mark since the run before
  // it, and the next day's first run for the marks after that day's last run.
  const done: number[] = [];
  const add = (t: number) => {
    if (done.length === 0 || done[done.length - 1] !== t) {
      done.push(t);
    }
  };
  for (let d = 0; d < GAP_CYCLE_DAYS; d++) {
    if (!markDays[d]) {
      continue;
    }
    let m = 0;
    if (runDays[d]) {
      for (const r of runTimes) {
        if (m < markTimes.length && markTimes[m] <= r) {
          add(d * 86400 + r);
          while (m < markTimes.length && markTimes[m] <= r) {
            m++;
          }
        }
      }
    }
    if (m < markTimes.length) {
      add(nextRunDay[d] * 86400 + runTimes[0]);
    }
  }
  let longest = 0;
  for (let i = 1; i < done.length; i++) {
    longest = Math.max(longest, done[i] - done[i - 1]);
  }
  return Math.max(longest, done[0] + GAP_CYCLE_DAYS * 86400 - done[done.length - 1]);
}

const deferredGapCache = new Map<string, number>();

/**
 * The longest time, in seconds, between two runs of work that the expression `marks` makes due
 * and the first run of `runs` at or after that time does (the restore drill: due on its
 * schedule, done after the next backup). Cached like `Schedule`'s gaps. Takes expressions, not
 * `Schedule`s: the cron model stays below the value class that uses it.
 */
export function deferredIntervalSeconds(marks: string, runs: string): number {
  const key = `${marks}|${runs}`;
  let gap = deferredGapCache.get(key);
  if (gap === undefined) {
    // Both expressions run (their constructors checked), so the gap is defined.
    gap = longestDeferredGapSeconds(parseCron(marks), parseCron(runs))!;
    deferredGapCache.set(key, gap);
  }
  return gap;
}

/** The error of a cron expression that cannot be parsed, or (schedule.ts) that never runs. */
export function invalidCron(expression: string, reason: string): ConfigurationError {
  return new ConfigurationError(
    `Schedule.cron(${show(expression)})`,
    reason,
    'give five space-separated fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *" for 02:00 every day, or use Schedule.daily({ hour: 2 })',
  );
}
