import type { Quiesce } from '../policy/quiesce';
import type { Retention } from '../policy/retention';
import type { Schedule } from '../policy/schedule';
import type { Verification } from '../policy/verification';
import type { RepositoryPassword } from '../targets/repository-password';
import type { IStorageTarget } from '../targets/storage-target-config';

/** How the backup of one container behaves. Shared by `ProtectedContainer.backup`. */
export interface BackupOptions {
  /** Where the backups go: one restic repository per target, all written in every cycle. */
  readonly targets: IStorageTarget[];
  /**
   * When the cycle runs.
   * @default Schedule.daily({ hour: 2 })
   */
  readonly schedule?: Schedule;
  /**
   * Which snapshots to keep: `restic forget`, per target, after a complete backup (see
   * `retentionSchedule`). The snapshot the cycle just made is never removed, whatever the
   * policy says.
   * @default Retention.standard() (7 daily, 4 weekly, 12 monthly)
   */
  readonly retention?: Retention;
  /**
   * When retention runs: after the first complete backup at or after each time this schedule
   * fires. Forgetting only marks snapshots (the space comes back at the next prune), so a
   * schedule less frequent than the backups, e.g. daily for hourly backups, saves a restic
   * call per cycle and frees the same space.
   * @default - after every complete backup
   */
  readonly retentionSchedule?: Schedule;
  /**
   * When `restic prune` frees the space of forgotten snapshots. Prune rewrites packs and
   * takes an exclusive lock, so it runs on its own, less frequent schedule; a prune that
   * cannot run then (a lock held, a target unreachable) is done by the next cycle.
   * @default Schedule.weekly({ weekDay: WeekDay.SUNDAY, hour: 4 })
   */
  readonly pruneSchedule?: Schedule;
  /**
   * How the application is made consistent before its volumes are read.
   * @default Quiesce.none() - crash-consistent
   */
  readonly quiesce?: Quiesce;
  /**
   * How backups are proven readable.
   * @default Verification.standard() - all data read back within 28 days, weekly restore drill
   */
  readonly verification?: Verification;
  /**
   * The most data, in minutes of changes, you accept to lose. The compliance checks refuse a
   * schedule that leaves longer gaps.
   * @default - not declared
   */
  readonly recoveryPointObjectiveMinutes?: number;
  /**
   * How many targets a cycle backs up at the same time (and then applies retention to): each
   * target has its own restic process and timeout, and one slow or failing target never holds
   * up the others. 1 backs up one target after another.
   * @default 4
   */
  readonly targetConcurrency?: number;
  /**
   * The restic repository password.
   * @default RepositoryPassword.fromVariable(stack) - the sensitive variable `restic_password`
   */
  readonly password?: RepositoryPassword;
  /**
   * The sidecar image: restic with a POSIX shell and jq, pinned by digest. Override it to use
   * a registry mirror or a newer restic.
   * @default DEFAULT_AGENT_IMAGE (restic/restic:0.17.3 pinned by digest)
   */
  readonly image?: string;
  /**
   * The sidecar turns unhealthy when the last successful cycle is older than this.
   * @default - twice the schedule's longest gap between runs
   */
  readonly healthMaxAgeSeconds?: number;
  /**
   * Upper bound for one restic call against one target; a dead endpoint fails the target
   * instead of hanging the cycle.
   * @default 21600 (6 hours)
   */
  readonly networkTimeoutSeconds?: number;
  /**
   * Time zone in which the schedule is read (an IANA name, e.g. "Europe/Berlin").
   * @default "UTC"
   */
  readonly timeZone?: string;
  /**
   * Further Docker networks the sidecar joins, e.g. to reach a REST server by name.
   * Remote targets and the webhook are reached through the stack's egress network
   * (`<stack>-backup-egress`), which the sidecar joins whenever it has one.
   * @default - the egress network when a target is remote or a webhook is set; otherwise none
   */
  readonly networks?: string[];
  /**
   * Extra tags on every snapshot.
   * @default - the tags `cdktf-container-backup` and the container name
   */
  readonly tags?: string[];
  /**
   * A webhook the agent POSTs a small JSON report to when a cycle fails (a target without a
   * snapshot, a failed quiesce or verification). It is a secret (the URL carries the hook's
   * token), so it must be a token Terraform resolves at apply time, e.g. a sensitive
   * variable's value; the sidecar reads it from a file. A failing webhook never fails the
   * cycle.
   * @default - no notification
   */
  readonly notifyUrl?: string;
}
