/**
 * The ledger of one Docker host (one stack): every name a construct gives a Docker object,
 * every volume a container mounts, and every backup with what it reads and where it writes.
 * What one construct names and another relies on meets here, so the checks across constructs
 * (check-host-ledger.ts, shared-repositories.ts) and the data rule (AllDataBackedUp, through
 * the topology) read one plain description. Pure: the thin layer (src/docker/stack-ledger.ts)
 * writes it from the constructs; no cdktf here.
 */
import { DataMount } from './data-mount';

/** The kinds of Docker objects, each with its own names (a container and a network may share one). */
export enum DockerObjectKind {
  CONTAINER = 'container',
  VOLUME = 'volume',
  NETWORK = 'network',
  SERVICE = 'service',
}

/** A Docker object the stack creates, under a literal name. */
export interface NameClaim {
  readonly kind: DockerObjectKind;
  readonly name: string;
  /**
   * The construct the user declared that makes it: a ProtectedContainer, a BackupSidecar on its
   * own, ... for the library's objects; the resource itself for the user's own.
   */
  readonly owner: string;
  /** Whether a construct of this library makes it. */
  readonly library: boolean;
  /** What sets the name, for the fix: e.g. 'the containerName "db"', 'the volume\'s name in `volumes`', 'the `name`'. */
  readonly setBy: string;
  /** A volume a ProtectedContainer creates from its `volumes` (it could mount it `existing: true` instead). */
  readonly declaredVolume?: boolean;
}

/** A container or swarm service of the stack and what it mounts. */
export interface MountingWorkload {
  /** The construct path that findings name (the ProtectedContainer, or the user's resource). */
  readonly path: string;
  /** A construct of this library (a protected workload) rather than the user's own. */
  readonly library: boolean;
  /** A backup's own container or service (sidecar, installer, proxy): its mounts declare nothing. */
  readonly plumbing: boolean;
  readonly mounts: DataMount[];
}

/** A local target: a folder of the host that a backup keeps as its own. */
export interface LocalFolder {
  /** The target's name. */
  readonly target: string;
  /** The absolute, normalised host folder. */
  readonly hostPath: string;
}

/** A restic repository outside the host, as the agent's plan names it. */
export interface RemoteRepository {
  /** The target's name. */
  readonly target: string;
  /** The repository string; equal strings are one repository. */
  readonly repository: string;
  /** The repository as messages show it (references replaced by a readable mark). */
  readonly display: string;
}

/** A backup (a sidecar, a swarm backup service) and what it reads and writes. */
export interface BackupUse {
  /** The backup construct's path (`<workload>/backup`, or the standalone construct). */
  readonly path: string;
  /** The protected container's or service's name (the restic `--host` of a container). */
  readonly workload: string;
  /** Used on its own, not inside a ProtectedContainer or ProtectedService. */
  readonly standalone: boolean;
  /** A swarm backup service rather than a container's sidecar. */
  readonly service: boolean;
  /** The volumes it reads. */
  readonly sources: string[];
  /** The sources declared made outside the stack (`external: true`): not checked against it. */
  readonly externalSources: string[];
  readonly localFolders: LocalFolder[];
  readonly remoteRepositories: RemoteRepository[];
}

/** Everything one stack names, mounts and backs up. */
export interface HostLedger {
  /** The stack's name. */
  readonly stack: string;
  readonly names: NameClaim[];
  readonly workloads: MountingWorkload[];
  readonly backups: BackupUse[];
}

/** One refusal found in the ledger: the construct it is about, and the error. */
export interface LedgerFinding {
  /** The construct path the error is reported on. */
  readonly where: string;
  readonly message: string;
}

/** The backups of the ledger that read each volume, by volume name. */
export function backupsByVolume(ledger: HostLedger): Map<string, string[]> {
  const readers = new Map<string, string[]>();
  for (const backup of ledger.backups) {
    for (const volume of [...backup.sources, ...backup.externalSources]) {
      readers.set(volume, [...(readers.get(volume) ?? []), backup.path]);
    }
  }
  return readers;
}
