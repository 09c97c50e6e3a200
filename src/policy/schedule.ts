import { outOfRange } from '../core/validation';
import { CronFields, invalidCron, longestGapSeconds, parseCron } from './cron';

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

/**
 * When the backup cycle runs: a five-field cron expression evaluated by the agent in the
 * sidecar's time zone (UTC unless `TZ` is set).
 *
 * Day-of-month and day-of-week combine as in Vixie cron (and the agent): when either field
 * starts with `*` (`*`, `*\/2`, ...), a day must match both; when neither does, a day matches
 * if either does. So `0 2 13 * 5` runs on every 13th and every Friday, `0 2 1-31 * 1` every
 * day, and `0 2 *\/2 * 1` only on odd-numbered days that are Mondays (weeks apart).
 */
export class Schedule {
  /**
   * A cron expression: "minute hour day-of-month month day-of-week".
   * Supports `*`, numbers, ranges `a-b`, steps `*\/n`, `a-b/n` and `a/n`
   * (from a to the end of the field), and lists `a,b`.
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
      throw outOfRange('Schedule.everyMinutes', 'minutes (a divisor of 60: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)', minutes, 1, 60);
    }
    return minutes === 60 ? new Schedule('0 * * * *') : new Schedule(`*/${minutes} * * * *`);
  }

  /** Every `hours` hours, on the hour, from midnight. `hours` must divide 24. */
  public static everyHours(hours: number): Schedule {
    checkInt('Schedule.everyHours', 'hours', hours, 1, 24);
    if (24 % hours !== 0) {
      throw outOfRange('Schedule.everyHours', 'hours (a divisor of 24: 1, 2, 3, 4, 6, 8, 12, 24)', hours, 1, 24);
    }
    return hours === 24 ? new Schedule('0 0 * * *') : new Schedule(`0 */${hours} * * *`);
  }

  /** The normalised cron expression handed to the agent (`BACKUP_SCHEDULE`). */
  public readonly expression: string;

  /**
   * The longest gap between two consecutive runs, in seconds, with the agent's day rule, in
   * UTC (no daylight-saving shifts), over every date from 1901 to 2099 (leap days included).
   * The default health threshold and the RPO check are derived from it.
   */
  public readonly maxIntervalSeconds: number;

  private constructor(expression: string) {
    this.expression = expression;
    this.maxIntervalSeconds = maxGapOf(parseCron(expression));
  }
}

function checkInt(factory: string, field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(factory, field, value, min, max);
  }
  return value;
}

/** A run at most every eight years (2,922 days) is no schedule. */
const MAX_GAP_SECONDS = 2922 * 86400;

const gapCache = new Map<string, number>();

/** The longest gap of a parsed expression. Cached: large apps share a handful of schedules. */
function maxGapOf(fields: CronFields): number {
  const cached = gapCache.get(fields.expression);
  if (cached !== undefined) {
    return cached;
  }
  const longest = longestGapSeconds(fields);
  if (longest === undefined || longest > MAX_GAP_SECONDS) {
    throw invalidCron(fields.expression, 'the expression never runs (or runs only once in eight years)');
  }
  gapCache.set(fields.expression, longest);
  return longest;
}
