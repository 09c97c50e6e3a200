import * as errors from '../errors';

/** Days of the week, for weekly schedules (cron numbering: Sunday is 0). */
export enum WeekDay {
  SUNDAY = 0,
  MONDAY = 1,
  TUESDAY = 2,
  WEDNESDAY = 3,
  THURSDAY = 4,
  FRIDAY = 5,
  SATURDAY = 6,
}

/** Options for `Schedule.hourly`. */
export interface HourlyScheduleOptions {
  /**
   * Minute past the hour.
   * @default 0
   */
  readonly minute?: number;
}

/** Options for `Schedule.daily`. */
export interface DailyScheduleOptions {
  /**
   * Hour of the day, 0-23, in the sidecar's time zone.
   * @default 2
   */
  readonly hour?: number;
  /**
   * Minute past the hour.
   * @default 0
   */
  readonly minute?: number;
}

/** Options for `Schedule.weekly`. */
export interface WeeklyScheduleOptions extends DailyScheduleOptions {
  /**
   * Day of the week.
   * @default WeekDay.SUNDAY
   */
  readonly weekDay?: WeekDay;
}

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

/**
 * When the backup cycle runs: a five-field cron expression evaluated by the agent in the
 * sidecar's time zone (UTC unless `TZ` is set).
 *
 * Day-of-month and day-of-week follow classic cron: when both are restricted, a day matches
 * if either does.
 */
export class Schedule {
  /**
   * A cron expression: "minute hour day-of-month month day-of-week".
   * Supports `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, and lists `a,b`.
   * Day-of-week 0 and 7 are Sunday.
   */
  public static cron(expression: string): Schedule {
    return new Schedule(expression.trim().split(/\s+/).join(' '));
  }

  /** Every hour at `minute` past. */
  public static hourly(options: HourlyScheduleOptions = {}): Schedule {
    const minute = checkInt('Schedule.hourly', 'minute', options.minute ?? 0, 0, 59);
    return new Schedule(`${minute} * * * *`);
  }

  /** Every day at `hour:minute`. */
  public static daily(options: DailyScheduleOptions = {}): Schedule {
    const hour = checkInt('Schedule.daily', 'hour', options.hour ?? 2, 0, 23);
    const minute = checkInt('Schedule.daily', 'minute', options.minute ?? 0, 0, 59);
    return new Schedule(`${minute} ${hour} * * *`);
  }

  /** Every week on `weekDay` at `hour:minute`. */
  public static weekly(options: WeeklyScheduleOptions = {}): Schedule {
    const hour = checkInt('Schedule.weekly', 'hour', options.hour ?? 2, 0, 23);
    const minute = checkInt('Schedule.weekly', 'minute', options.minute ?? 0, 0, 59);
    const day = checkInt('Schedule.weekly', 'weekDay', options.weekDay ?? WeekDay.SUNDAY, 0, 6);
    return new Schedule(`${minute} ${hour} * * ${day}`);
  }

  /** Every `minutes` minutes, from minute 0 of each hour. `minutes` must divide 60. */
  public static everyMinutes(minutes: number): Schedule {
    checkInt('Schedule.everyMinutes', 'minutes', minutes, 1, 60);
    if (60 % minutes !== 0) {
      throw errors.outOfRange('Schedule.everyMinutes', 'minutes (a divisor of 60: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)', minutes, 1, 60);
    }
    return minutes === 60 ? new Schedule('0 * * * *') : new Schedule(`*/${minutes} * * * *`);
  }

  /** Every `hours` hours, on the hour, from midnight. `hours` must divide 24. */
  public static everyHours(hours: number): Schedule {
    checkInt('Schedule.everyHours', 'hours', hours, 1, 24);
    if (24 % hours !== 0) {
      throw errors.outOfRange('Schedule.everyHours', 'hours (a divisor of 24: 1, 2, 3, 4, 6, 8, 12, 24)', hours, 1, 24);
    }
    return hours === 24 ? new Schedule('0 0 * * *') : new Schedule(`0 */${hours} * * *`);
  }

  /** The normalised cron expression handed to the agent (`BACKUP_SCHEDULE`). */
  public readonly expression: string;

  /**
   * The longest gap between two consecutive runs, in seconds. The default health threshold
   * and the RPO check are derived from it.
   */
  public readonly maxIntervalSeconds: number;

  private constructor(expression: string) {
    const fields = parseCron(expression);
    this.expression = expression;
    this.maxIntervalSeconds = longestGapSeconds(expression, fields);
  }
}

function checkInt(factory: string, field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw errors.outOfRange(factory, field, value, min, max);
  }
  return value;
}

/** Parses and validates a cron expression into the set of allowed values per field. */
function parseCron(expression: string): Set<number>[] {
  const parts = expression.split(' ').filter((p) => p !== '');
  if (parts.length !== 5) {
    throw errors.invalidCron(expression, `expected 5 fields, got ${parts.length}`);
  }
  return parts.map((part, i) => parseField(expression, part, FIELDS[i]));
}

function parseField(expression: string, text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) {
      throw errors.invalidCron(expression, `${spec.name} field item ${JSON.stringify(item)} is not *, a number, a range a-b, or a step */n or a-b/n`);
    }
    const step = m[4] === undefined ? 1 : Number(m[4]);
    let from = spec.min;
    let to = spec.max;
    if (m[1] !== '*') {
      from = Number(m[2]);
      to = m[3] === undefined ? (m[4] === undefined ? from : spec.max) : Number(m[3]);
    }
    for (const v of [from, to]) {
      if (v < spec.min || v > spec.max) {
        throw errors.invalidCron(expression, `${spec.name} value ${v} is outside ${spec.min}-${spec.max}`);
      }
    }
    if (from > to) {
      throw errors.invalidCron(expression, `${spec.name} range ${from}-${to} runs backwards`);
    }
    if (step < 1) {
      throw errors.invalidCron(expression, `${spec.name} step must be at least 1, got ${step}`);
    }
    for (let v = from; v <= to; v += step) {
      // cron allows 7 for Sunday; store it as 0
      values.add(spec.name === 'day-of-week' && v === 7 ? 0 : v);
    }
  }
  return values;
}

const gapCache = new Map<string, number>();

/**
 * Walks eight years of days (a whole leap-year cycle, twice) and returns the longest time
 * between two consecutive runs. Cached: large apps share a handful of schedules.
 */
function longestGapSeconds(expression: string, fields: Set<number>[]): number {
  const cached = gapCache.get(expression);
  if (cached !== undefined) {
    return cached;
  }
  const [minutes, hours, doms, months, dows] = fields;
  const domRestricted = doms.size < 31;
  const dowRestricted = dows.size < 7;
  const timesOfDay: number[] = [];
  for (const h of [...hours].sort((a, b) => a - b)) {
    for (const m of [...minutes].sort((a, b) => a - b)) {
      timesOfDay.push(h * 3600 + m * 60);
    }
  }
  const start = Date.UTC(2024, 0, 1) / 1000;
  let previous: number | undefined;
  let longest = 0;
  for (let day = 0; day < 8 * 366; day++) {
    const dayStart = start + day * 86400;
    const date = new Date(dayStart * 1000);
    if (!months.has(date.getUTCMonth() + 1)) {
      continue;
    }
    const domOk = doms.has(date.getUTCDate());
    const dowOk = dows.has(date.getUTCDay());
    const matches = domRestricted && dowRestricted ? domOk || dowOk : domOk && dowOk;
    if (!matches) {
      continue;
    }
    for (const t of timesOfDay) {
      const at = dayStart + t;
      if (previous !== undefined) {
        longest = Math.max(longest, at - previous);
      }
      previous = at;
    }
  }
  if (longest === 0) {
    throw errors.invalidCron(expression, 'the expression never runs (or runs only once in eight years)');
  }
  gapCache.set(expression, longest);
  return longest;
}
