/**
 * The pure topology model: what the compliance rules look at. Nothing here imports cdktf, so
 * the rules are plain evaluations over data and the library can move to another CDK runtime by
 * replacing the thin layer that builds this model from constructs (`src/compliance/extract.ts`).
 */
import { QuiesceMode } from '../policy/quiesce';
import { Medium } from '../targets/medium';
import { Site } from '../targets/site';

/** What a copy of the data is, in the 3-2-1 count. */
export enum CopyRole {
  /** The live data in the protected container's volumes. It counts as one of the 3 copies. */
  LIVE = 'live',
  /** A restic repository the sidecar writes to (one per storage target). */
  TARGET = 'target',
  /** A copy of a target's repository made outside the agent (e.g. S3 replication). */
  REPLICA = 'replica',
}

/** One copy of a protected container's data. */
export interface BackupCopy {
  /** A name for reports: "live data", the target's name, or the replica's name. */
  readonly name: string;
  /** Live data, a target's repository, or a replica. */
  readonly role: CopyRole;
  /** What the copy is stored on. */
  readonly medium: Medium;
  /** Where the copy is. */
  readonly site: Site;
  /** Whether the copy cannot be altered or deleted before its retention ends. */
  readonly immutable: boolean;
  /** Whether the copy is kept offline (disconnected from the host and the network). */
  readonly offline: boolean;
  /** Whether the copy is encrypted at rest by the backup (restic encrypts every repository). */
  readonly encrypted: boolean;
  /**
   * How long each object of an immutable copy stays locked, in days.
   * @default - no lock period (not immutable, or immutable without a period, e.g. append-only)
   */
  readonly immutableRetentionDays?: number;
  /**
   * The restic repository string (targets), or the repository the agent reads a replica
   * back from.
   * @default - none (the live data, or a replica nobody reads back)
   */
  readonly repository?: string;
  /** Whether the backup agent reads this copy back when it verifies (check, read-data, drills). */
  readonly readBack: boolean;
  /**
   * For a replica: the name of the target whose repository it copies.
   * @default - none (not a replica)
   */
  readonly copyOf?: string;
}

/** How the backup of one container runs: schedule, retention, consistency, verification. */
export interface BackupPlan {
  /** The cron expression of the backup cycle. */
  readonly scheduleExpression: string;
  /** The longest gap between two consecutive cycles, in seconds. */
  readonly maxIntervalSeconds: number;
  /** How far back, in days, the oldest snapshot the retention keeps can reach. */
  readonly retentionHorizonDays: number;
  /** The `restic forget` arguments of the retention. */
  readonly retentionForgetArguments: string[];
  /** How the application is made consistent before its volumes are read. */
  readonly quiesceMode: QuiesceMode;
  /**
   * Every byte of every repository is read back within this many days.
   * @default - data is never read back (structure checks only)
   */
  readonly readAllDataWithinDays?: number;
  /**
   * The cron expression of the restore drills.
   * @default - no restore drills
   */
  readonly restoreDrillExpression?: string;
  /**
   * The longest gap between two restore drills, in seconds.
   * @default - no restore drills
   */
  readonly restoreDrillMaxIntervalSeconds?: number;
  /**
   * The declared recovery point objective, in minutes.
   * @default - not declared
   */
  readonly recoveryPointObjectiveMinutes?: number;
}

/** One protected container and every copy of its data: what a rule evaluates. */
export interface ContainerTopology {
  /** The construct path, e.g. "db-host/db"; findings name it. */
  readonly path: string;
  /** The container's name on the Docker host. */
  readonly containerName: string;
  /**
   * The container's image, e.g. "postgres:16".
   * @default - unknown (a `BackupSidecar` used on its own)
   */
  readonly image?: string;
  /** Where the container runs. */
  readonly site: Site;
  /** The named volumes whose data should be backed up. Empty for a stateless container. */
  readonly dataVolumes: string[];
  /** Every copy of the data: the live data first, then targets, then replicas. */
  readonly copies: BackupCopy[];
  /**
   * The backup plan.
   * @default - the container has no backup
   */
  readonly backup?: BackupPlan;
}
