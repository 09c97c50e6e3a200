/**
 * The pure topology model: what the compliance rules look at. Nothing here imports cdktf, so
 * the rules are plain evaluations over data and the library can move to another CDK runtime by
 * replacing the constructs that build it (each hands its own subject, `./subject.ts`).
 */
import { QuiesceMode } from '../policy/quiesce';
import { DataMount } from './data-mount';
import { LockStrength } from '../targets/lock-strength';
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
   * What an immutable copy's lock holds against (S3 Object Lock copies this library configures).
   * @default - unknown (append-only, offline, or a lock declared by the user): counted as immutable when `immutable` is true
   */
  readonly lockStrength?: LockStrength;
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
   * The file (or folder) an exec quiesce writes, in the protected container.
   * @default - unknown (or no exec quiesce)
   */
  readonly quiesceOutput?: string;
  /**
   * The backed-up volume the exec quiesce's output lies in.
   * @default - not known to lie in one (the output or the volumes' mount points unknown)
   */
  readonly quiesceOutputVolume?: string;
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
   * The longest gap between two restore drills, in seconds (each runs after the first backup
   * at or after the time it falls due).
   * @default - no restore drills
   */
  readonly restoreDrillMaxIntervalSeconds?: number;
  /**
   * The declared recovery point objective, in minutes.
   * @default - not declared
   */
  readonly recoveryPointObjectiveMinutes?: number;
  /**
   * Where the repository password is kept off the Docker host (e.g. "SSM SecureString
   * /backup/restic-password in eu-central-1", "Vault kv/backup/restic"): with it, the
   * repositories can be opened after the host is lost.
   * @default - not escrowed, as far as synth knows
   */
  readonly passwordEscrowedIn?: string;
  /**
   * Where the sidecar gets the repository password, e.g. 'the Terraform variable "restic_password"'.
   * @default - not stated
   */
  readonly passwordSource?: string;
}

/** How a protected swarm service runs, for the rules about node-local data. */
export interface ServiceDeployment {
  /** One task on every matching node (else replicated). */
  readonly isGlobal: boolean;
  /**
   * The number of tasks of a replicated service.
   * @default - one per matching node (global)
   */
  readonly replicas?: number;
  /** The placement constraints, e.g. ["node.hostname==db-1"]. */
  readonly placementConstraints: string[];
  /**
   * At most this many tasks on one node.
   * @default - no limit
   */
  readonly maxReplicasPerNode?: number;
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
  /**
   * A swarm service rather than a container: its named volumes are node-local, one data set
   * per node that runs a task (each with the copies above: every node's backup task writes to
   * every target, under its node's name).
   * @default - a container
   */
  readonly service?: ServiceDeployment;
  /**
   * Everything the container mounts (named volumes and host folders), each with the backups of
   * its stack that read it: what the AllDataBackedUp rule looks at.
   * @default - not known (a BackupSidecar or BackupService on its own)
   */
  readonly mounts?: DataMount[];
  /**
   * A `docker_container` of the stack declared with @cdktf/provider-docker directly, not by this
   * library: only its mounts are evaluated (AllDataBackedUp); the 3-2-1 rules find nothing to
   * count (no data volumes declared for backup, no backup).
   * @default false - a workload of this library (ProtectedContainer, ProtectedService, or a BackupSidecar or BackupService on its own)
   */
  readonly unmanaged?: boolean;
}

/**
 * One protected container's topology, as the rules see it: the data of a `ContainerTopology`
 * and the facts derived from it (media, sites, offsite and immutable copies).
 *
 * A class, not a plain struct, so that rules written in any jsii language receive one object
 * (`evaluate(topology)`), never a struct spread into keyword arguments.
 */
export class Topology {
  /** Wraps topology data, e.g. to test a rule without constructs. */
  public static of(data: ContainerTopology): Topology {
    return new Topology(data);
  }

  /** The plain data. */
  public readonly data: ContainerTopology;

  private constructor(data: ContainerTopology) {
    this.data = data;
  }

  /** The construct path, e.g. "db-host/db"; findings name it. */
  public get path(): string {
    return this.data.path;
  }

  /** The container's name on the Docker host. */
  public get containerName(): string {
    return this.data.containerName;
  }

  /**
   * The container's image.
   * @default - unknown (a `BackupSidecar` used on its own)
   */
  public get image(): string | undefined {
    return this.data.image;
  }

  /** Where the container runs. */
  public get site(): Site {
    return this.data.site;
  }

  /** The named volumes whose data should be backed up. */
  public get dataVolumes(): string[] {
    return this.data.dataVolumes;
  }

  /** Every copy: the live data first, then targets, then replicas. */
  public get copies(): BackupCopy[] {
    return this.data.copies;
  }

  /**
   * The backup plan.
   * @default - the container has no backup
   */
  public get backup(): BackupPlan | undefined {
    return this.data.backup;
  }

  /**
   * How the protected swarm service runs.
   * @default - a container
   */
  public get service(): ServiceDeployment | undefined {
    return this.data.service;
  }

  /**
   * Everything the container mounts, with the backups that read each.
   * @default - not known (a BackupSidecar or BackupService on its own)
   */
  public get mounts(): DataMount[] | undefined {
    return this.data.mounts;
  }

  /** Whether the container was declared with @cdktf/provider-docker directly, not by this library. */
  public get unmanaged(): boolean {
    return this.data.unmanaged ?? false;
  }

  /** The copies other than the live data (targets and replicas). */
  public backupCopies(): BackupCopy[] {
    return this.copies.filter((c) => c.role !== CopyRole.LIVE);
  }

  /** The distinct media of all copies, the live data included, in order of appearance. */
  public media(): Medium[] {
    return [...new Set(this.copies.map((c) => c.medium))];
  }

  /** The distinct sites of all copies, the live data included, in order of appearance. */
  public sites(): Site[] {
    const seen = new Map<string, Site>();
    for (const copy of this.copies) {
      if (!seen.has(copy.site.id)) {
        seen.set(copy.site.id, copy.site);
      }
    }
    return [...seen.values()];
  }

  /** The copies kept at another site than the container's. */
  public offsiteCopies(): BackupCopy[] {
    return this.copies.filter((c) => !c.site.isSameAs(this.site));
  }

  /** The backup copies that are immutable or offline. */
  public immutableOrOfflineCopies(): BackupCopy[] {
    return this.backupCopies().filter((c) => c.immutable || c.offline);
  }

  /** Whether the container holds no data to protect (no data volumes and no backup). */
  public isStateless(): boolean {
    return this.dataVolumes.length === 0 && this.backup === undefined;
  }
}
