import { outOfRange } from '../validation';
import { Schedule } from './schedule';

/** Options for `Verification.readBack`. */
export interface ReadBackVerificationOptions {
  /**
   * Every byte of every repository is read back and checked within this many days: each
   * cycle `restic check --read-data-subset` reads the next slice.
   * @default 28
   */
  readonly readAllDataWithinDays?: number;
  /**
   * When to restore the latest snapshot to scratch space and compare it with the checksum
   * manifest recorded at backup time.
   * @default Schedule.weekly({ weekDay: WeekDay.SUNDAY, hour: 5 })
   */
  readonly restoreDrill?: Schedule;
}

/** The largest `t` restic accepts in `check --read-data-subset n/t`. */
const MAX_READ_DATA_SUBSETS = 256;

/**
 * How backups are proven readable: the "0 errors" of 3-2-1-1-0. Every cycle runs
 * `restic check` (structure); a rolling `--read-data-subset` reads all data back within a
 * period; a restore drill restores and compares on its own schedule.
 */
export class Verification {
  /** Read all data back within 28 days and run a weekly restore drill. */
  public static standard(): Verification {
    return Verification.readBack({});
  }

  /** Read all data back within a period and run restore drills on a schedule. */
  public static readBack(options: ReadBackVerificationOptions): Verification {
    const days = options.readAllDataWithinDays ?? 28;
    if (!Number.isInteger(days) || days < 1 || days > 366) {
      throw outOfRange('Verification.readBack', 'readAllDataWithinDays', days, 1, 366);
    }
    return new Verification(days, options.restoreDrill ?? Schedule.cron('0 5 * * 0'));
  }

  /** Only `restic check` of the repository structure each cycle; no data read-back, no drills. */
  public static structureOnly(): Verification {
    return new Verification(undefined, undefined);
  }

  /**
   * How many cycles of `schedule` together read all data back: the `t` of the agent's rolling
   * `restic check --read-data-subset n/t` (`BACKUP_VERIFY_READ_DATA_SUBSETS`). It is the
   * number of cycles that fit into `readAllDataWithinDays` even where the schedule has its
   * longest gap, so any such period holds t cycles; at least 1 (all data every cycle), at most
   * 256 (restic's limit). 0 when data is not read back.
   */
  public readDataSubsets(schedule: Schedule): number {
    if (this.readAllDataWithinDays === undefined) {
      return 0;
    }
    const cycles = Math.floor((this.readAllDataWithinDays * 86400) / schedule.maxIntervalSeconds);
    // restic refuses `--read-data-subset n/t` with t over 256; with more cycles than that in the
    // period, 256 subsets are still all read within it (each cycle reads 1/256).
    return Math.min(MAX_READ_DATA_SUBSETS, Math.max(1, cycles));
  }

  private constructor(
    /**
     * Days within which all data is read back.
     * @default - data is never read back
     */
    public readonly readAllDataWithinDays?: number,
    /**
     * When restore drills run.
     * @default - no restore drills
     */
    public readonly restoreDrill?: Schedule,
  ) {}
}
