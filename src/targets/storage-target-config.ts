/**
 * The contract between a storage target and the sidecar: what a target is told when bound and
 * what it answers. Apart from the StorageTarget factories so that the concrete targets, which
 * implement it, and storage-target.ts, which builds them, do not import each other.
 */
import { Construct } from 'constructs';
import { LockStrength } from './lock-strength';
import { Medium } from './medium';
import { Site } from './site';

/** What a target learns about the sidecar it is bound to. */
export interface StorageTargetBindContext {
  /** The protected container's name (the restic `--host`). */
  readonly containerName: string;
  /** This target's 1-based position among the container's targets (`BACKUP_TARGET_<i>_*`). */
  readonly index: number;
  /** Where the protected container runs. */
  readonly containerSite: Site;
}

/** A further copy of a target's repository, made outside the agent (e.g. S3 replication). */
export interface ReplicaDescription {
  /** A name for reports, e.g. `vault-replica`. */
  readonly name: string;
  /** What it is stored on. */
  readonly medium: Medium;
  /** Where it is. */
  readonly site: Site;
  /** Whether it cannot be altered or deleted before its retention ends (Object Lock). */
  readonly immutable: boolean;
  /**
   * How long each object stays locked, in days.
   * @default - not locked
   */
  readonly immutableRetentionDays?: number;
  /**
   * Whether it is kept offline (disconnected from the host and the network), e.g. tape.
   * @default false
   */
  readonly offline?: boolean;
  /**
   * The restic repository string under which the agent can read the replica back
   * (read-only verification).
   * @default - the agent does not verify the replica
   */
  readonly verifyRepository?: string;
  /**
   * Non-secret variables exported while restic reads the replica (e.g. its region).
   * @default - none
   */
  readonly environment?: { [name: string]: string };
  /**
   * Read-only credentials for the replica, each delivered to the sidecar as a file.
   * @default - none
   */
  readonly secrets?: TargetSecret[];
  /**
   * What the replica's immutability holds against (S3 Object Lock's mode, and whether a
   * bucket policy restricts the governance bypass to a break-glass principal).
   * @default - not an S3 Object Lock the library knows the mode of: counted as immutable when `immutable` is true
   */
  readonly lockStrength?: LockStrength;
}

/** A secret a target needs in the sidecar, delivered as a file and never as plain text. */
export interface TargetSecret {
  /** The variable restic reads, e.g. `AWS_SECRET_ACCESS_KEY`. */
  readonly variable: string;
  /** The value: a Terraform token (a sensitive variable or a resource attribute), never a literal. */
  readonly value: string;
}

/** What a bound target tells the sidecar and the compliance model. */
export interface StorageTargetConfig {
  /** The target's name, unique per protected container. */
  readonly name: string;
  /** The restic repository string as the agent sees it inside the sidecar. */
  readonly repository: string;
  /** What the repository is stored on. */
  readonly medium: Medium;
  /** Where the repository is. */
  readonly site: Site;
  /**
   * Whether the repository itself is immutable (append-only or locked).
   * @default false
   */
  readonly immutable?: boolean;
  /**
   * How long each object of an immutable repository stays locked, in days (Object Lock).
   * @default - no lock period
   */
  readonly immutableRetentionDays?: number;
  /**
   * Whether the repository is kept offline (disconnected between backups, e.g. a rotated disk).
   * @default false
   */
  readonly offline?: boolean;
  /**
   * Whether the repository is encrypted at rest. restic encrypts every repository, so only a
   * target that stores plain data (none ships today) sets this to false; the compliance
   * checks refuse it.
   * @default true
   */
  readonly encrypted?: boolean;
  /**
   * The target's host folder (local targets): kept root-owned and 0700 by the installer, never
   * mounted into the sidecar. Set together with `repositoryHostPath`.
   * @default - not a local target
   */
  readonly hostPath?: string;
  /**
   * The host folder bound into the sidecar at `repository` (local targets): a subfolder of
   * `hostPath`, so that only root on the host can reach what the sidecar writes.
   * @default - no bind mount
   */
  readonly repositoryHostPath?: string;
  /**
   * Non-secret variables exported while restic runs against this target.
   * @default - none
   */
  readonly environment?: { [name: string]: string };
  /**
   * Secret variables, each written to a file in the sidecar and passed as `<VAR>_FILE`.
   * @default - none
   */
  readonly secrets?: TargetSecret[];
  /**
   * Copies of this repository made outside the agent.
   * @default - none
   */
  readonly replicas?: ReplicaDescription[];
  /**
   * What the repository's own immutability holds against (see `ReplicaDescription.lockStrength`).
   * @default - not an S3 Object Lock the library knows the mode of: counted as immutable when `immutable` is true
   */
  readonly lockStrength?: LockStrength;
  /**
   * Non-secret variables to use instead of `environment` when initialising the repository
   * (`restic init`, run once by a one-shot container at deploy time): e.g. the access key id
   * of an identity that may create `config` and `keys/`, which the long-running sidecar's
   * identity may not.
   * @default - `environment`
   */
  readonly initEnvironment?: { [name: string]: string };
  /**
   * Secret variables to use instead of `secrets` when initialising the repository, each
   * delivered as a file to the one-shot init container only, never to the long-running sidecar.
   * @default - `secrets`
   */
  readonly initSecrets?: TargetSecret[];
  /**
   * When the init credentials stop working (RFC 3339 in UTC, e.g. "2026-08-02T10:00:00Z"; a
   * Terraform expression is fine): when `restic init` is refused after it, the agent says the
   * credentials expired, and `initRenewal`. Existing repositories are opened with the target's
   * own credentials, so only a repository that is not there yet needs them.
   * @default - no expiry known
   */
  readonly initValidUntil?: string;
  /**
   * How to get new init credentials, one sentence the agent logs when `restic init` was refused
   * with them (e.g. the `terraform apply -replace=...` of an access key).
   * @default - none
   */
  readonly initRenewal?: string;
  /**
   * Whether the repository is append-only: the server refuses to delete or overwrite data
   * (`rest-server --append-only`, `rclone serve restic --append-only`). The agent then skips
   * `restic forget` and `restic prune` for it (reported as `skipped`, reason `append-only`,
   * never as a failure) and still verifies it; pruning it is the server administrator's job.
   * @default false
   */
  readonly appendOnly?: boolean;
  /**
   * A CA certificate (PEM text) restic trusts for this target besides the system ones
   * (`restic --cacert`), for a server whose TLS certificate a private CA signed. Not a secret:
   * delivered to the sidecar as a file beside the target's secrets.
   * @default - the system's CA certificates only
   */
  readonly caCertificate?: string;
}

/** A place the sidecar backs up to. Implement it to add a new kind of target. */
export interface IStorageTarget {
  /** Called once per protected container; may create resources in `scope`. */
  bind(scope: Construct, context: StorageTargetBindContext): StorageTargetConfig;
}
