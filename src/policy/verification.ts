import { outOfRange } from '../core/validation';
import { Schedule } from './schedule';

/** Options for `Verification.structureOnly`. */
export interface StructureCheckOptions {
  /**
   * When `restic check` verifies each repository's structure. Checks run on their own
   * schedule, not in every backup cycle (a routine cycle is a backup and its retention); a
   * check that cannot run then (a lock held, a target unreachable) is done by the next cycle.
   * @default Schedule.daily({ hour: 3 })
   */
  readonly checkSchedule?: Schedule;
}

/** Options for `Verification.readBack`. */
export interface ReadBackVerificationOptions extends StructureCheckOptions {
  /**
   * Every byte of every repository is read back and checked within this many days: each
   * check (see `checkSchedule`) also reads the next slice with `restic check
   * --read-data-subset`.
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
 * How backups are proven readable: the "0 errors" of 3-2-1-1-0. `restic check` verifies each
 * repository's structure on the check schedule (daily by default); a rolling
 * `--read-data-subset` in those checks reads all data back within a period; a restore drill
 * restores and compares on its own schedule.
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
    return new Verification(checkScheduleOf(options), days, options.restoreDrill ?? Schedule.cron('0 5 * * 0'));
  }

  /** Only `restic check` of the repository structure, on its schedule; no data read-back, no drills. */
  public static structureOnly(options: StructureCheckOptions = {}): Verification {
    return new Verification(checkScheduleOf(options), undefined, undefined);
  }

  /**
   * How many checks together read all data back: the `t` of the agent's rolling `restic check
   * --read-data-subset n/t` (the plan's `verification.readDataSubsets`). It is the number of
   * checks that fit into `readAllDataWithinDays` even where the check schedule has its longest
   * gap, so any such period holds t checks; at least 1 (all data in every check), at most 256
   * (restic's limit). 0 when data is not read back.
   */
  public readDataSubsets(): number {
    if (this.readAllDataWithinDays === undefined) {
      return 0;
    }
    const checks = Math.floor((this.readAllDataWithinDays * 86400) / this.checkSchedule.maxIntervalSeconds);
    // restic refuses `--read-data-subset n/t` with t over 256; with more checks than that in the
    // period, 256 subsets are still all read within it (each check reads 1/256).
    return Math.min(MAX_READ_DATA_SUBSETS, Math.max(1, checks));
  }

  private constructor(
    /** When `restic check` verifies each repository. */
    public readonly checkSchedule: Schedule,
    /**
     * Days within which all data is read back.
     * @default - data is never read back
     */
    public readonly readAllDataWithinDays?: number,
    /**
     * When restore drills are due; each runs after the first backup at or after that time.
     * @default - no restore drills
     */
    public readonly restoreDrill?: Schedule,
  ) {}
}

function checkScheduleOf(options: StructureCheckOptions): Schedule {
  return options.checkSchedule ?? Schedule.daily({ hour: 3 });
}
