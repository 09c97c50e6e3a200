import { ConfigurationError, show } from '../core/configuration-error';
import { outOfRange } from '../core/validation';

/** How many snapshots of each age class to keep (grandfather-father-son). */
export interface GfsRetentionOptions {
  /**
   * Always keep this many most recent snapshots.
   * @default 0
   */
  readonly last?: number;
  /**
   * Keep the last snapshot of each of this many hours.
   * @default 0
   */
  readonly hourly?: number;
  /**
   * Keep the last snapshot of each of this many days.
   * @default 0
   */
  readonly daily?: number;
  /**
   * Keep the last snapshot of each of this many weeks.
   * @default 0
   */
  readonly weekly?: number;
  /**
   * Keep the last snapshot of each of this many months.
   * @default 0
   */
  readonly monthly?: number;
  /**
   * Keep the last snapshot of each of this many years.
   * @default 0
   */
  readonly yearly?: number;
}

const FLAGS: Array<[keyof GfsRetentionOptions, string, number]> = [
  // option, restic forget flag, days one unit spans (for the retention horizon)
  ['last', '--keep-last', 0],
  ['hourly', '--keep-hourly', 1 / 24],
  ['daily', '--keep-daily', 1],
  ['weekly', '--keep-weekly', 7],
  ['monthly', '--keep-monthly', 31],
  ['yearly', '--keep-yearly', 366],
];

/**
 * Which snapshots `restic forget` keeps. The agent never removes the last successful
 * snapshot, whatever the policy says.
 */
export class Retention {
  /** A grandfather-father-son policy. At least one count must be positive. */
  public static gfs(options: GfsRetentionOptions): Retention {
    return new Retention(options);
  }

  /** 7 daily, 4 weekly, 12 monthly: a year of history, 23 snapshots. */
  public static standard(): Retention {
    return new Retention({ daily: 7, weekly: 4, monthly: 12 });
  }

  /** 24 hourly, 7 daily, 4 weekly: for frequently changing data with short history needs. */
  public static frequent(): Retention {
    return new Retention({ hourly: 24, daily: 7, weekly: 4 });
  }

  /** 14 daily, 8 weekly, 24 monthly, 7 yearly: long history for records that must be kept. */
  public static longTerm(): Retention {
    return new Retention({ daily: 14, weekly: 8, monthly: 24, yearly: 7 });
  }

  /** Keep only the `count` most recent snapshots. */
  public static keepLast(count: number): Retention {
    return new Retention({ last: count });
  }

  /** The counts this policy keeps, with zero for the unused classes. */
  public readonly counts: GfsRetentionOptions;

  private constructor(options: GfsRetentionOptions) {
    const counts: { [key: string]: number } = {};
    for (const [key] of FLAGS) {
      const value = options[key] ?? 0;
      if (!Number.isInteger(value) || value < 0 || value > 100000) {
        throw outOfRange('Retention.gfs', key, value, 0, 100000);
      }
      counts[key] = value;
    }
    if (Object.values(counts).every((v) => v === 0)) {
      throw retentionKeepsNothing(options);
    }
    this.counts = counts;
  }

  /** The `restic forget` arguments for this policy, e.g. `--keep-daily 7 --keep-weekly 4`. */
  public get forgetArguments(): string[] {
    return FLAGS.filter(([key]) => (this.counts[key] ?? 0) > 0).flatMap(([key, flag]) => [flag, String(this.counts[key])]);
  }

  /**
   * How far back, in days, the oldest snapshot this policy keeps can reach (rounded up).
   * Object Lock retention on an immutable copy should be at least this long.
   */
  public get horizonDays(): number {
    return Math.ceil(Math.max(...FLAGS.map(([key, , days]) => (this.counts[key] ?? 0) * days)));
  }
}

function retentionKeepsNothing(received: unknown): ConfigurationError {
  return new ConfigurationError(
    'Retention.gfs(...)',
    `the policy keeps no snapshot at all (got ${show(received)}), so every backup would be deleted by the next forget`,
    'keep at least one snapshot, e.g. Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }) or a preset such as Retention.standard()',
  );
}
