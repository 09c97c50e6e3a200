/**
 * Builds a `ContainerTopology` from plain data: the facts a protected container and its
 * sidecar hold after their targets are bound. No cdktf here.
 */
import type { Quiesce } from '../policy/quiesce';
import type { Retention } from '../policy/retention';
import { deferredIntervalSeconds } from '../policy/cron';
import { Schedule } from '../policy/schedule';
import type { Verification } from '../policy/verification';
import { Medium } from '../targets/medium';
import type { Site } from '../targets/site';
import type { StorageTargetConfig } from '../targets/storage-target-config';
import { DataMount } from './data-mount';
import { BackupCopy, BackupPlan, ContainerTopology, CopyRole, ServiceDeployment } from './topology';
import type { QuiesceOutput } from './quiesce-output';

/** The name of the live copy in reports and findings. */
export const LIVE_COPY_NAME = 'live data';

/** The backup side of a container, as the sidecar holds it. */
export interface BackupFacts {
  readonly targets: StorageTargetConfig[];
  readonly schedule: Schedule;
  readonly retention: Retention;
  readonly quiesce: Quiesce;
  readonly verification: Verification;
  readonly recoveryPointObjectiveMinutes?: number;
  /** Where the exec quiesce's output lands; undefined when unknown. */
  readonly quiesceOutput?: QuiesceOutput;
  readonly passwordEscrowedIn?: string;
  readonly passwordSource?: string;
}

/** Everything needed to model one protected container. */
export interface TopologyInput {
  readonly path: string;
  readonly containerName: string;
  readonly image?: string;
  readonly site: Site;
  readonly dataVolumes: string[];
  readonly backup?: BackupFacts;
  readonly service?: ServiceDeployment;
  readonly mounts?: DataMount[];
  readonly unmanaged?: boolean;
}

/** The topology of one protected container: its live data, every target and every replica. */
export function buildTopology(input: TopologyInput): ContainerTopology {
  const live: BackupCopy = {
    name: LIVE_COPY_NAME,
    role: CopyRole.LIVE,
    // Named volumes live on the Docker host's disk.
    medium: Medium.DISK,
    site: input.site,
    immutable: false,
    offline: false,
    // Not the backup's business: the rules only look at backup copies for encryption.
    encrypted: false,
    readBack: false,
  };
  const copies: BackupCopy[] = [live];
  const backup = input.backup;
  if (backup) {
    for (const target of backup.targets) {
      const encrypted = target.encrypted ?? true;
      copies.push({
        name: target.name,
        role: CopyRole.TARGET,
        medium: target.medium,
        site: target.site,
        immutable: target.immutable ?? false,
        offline: target.offline ?? false,
        encrypted,
        immutableRetentionDays: target.immutableRetentionDays,
        lockStrength: target.lockStrength,
        repository: target.repository,
        // The agent checks every target it writes, and reads data back per the verification.
        readBack: true,
      });
      for (const replica of target.replicas ?? []) {
        copies.push({
          name: replica.name,
          role: CopyRole.REPLICA,
          medium: replica.medium,
          site: replica.site,
          immutable: replica.immutable,
          offline: replica.offline ?? false,
          // A replica holds the same (restic-encrypted) objects as its source repository.
          encrypted,
          immutableRetentionDays: replica.immutableRetentionDays,
          lockStrength: replica.lockStrength,
          repository: replica.verifyRepository,
          readBack: replica.verifyRepository !== undefined,
          copyOf: target.name,
        });
      }
    }
  }
  return {
    path: input.path,
    containerName: input.containerName,
    image: input.image,
    site: input.site,
    dataVolumes: [...input.dataVolumes],
    copies,
    backup: backup ? plan(backup) : undefined,
    ...(input.service ? { service: input.service } : {}),
    ...(input.mounts ? { mounts: input.mounts.map((m) => ({ ...m, backedUpBy: [...m.backedUpBy] })) } : {}),
    ...(input.unmanaged ? { unmanaged: true } : {}),
  };
}

function plan(backup: BackupFacts): BackupPlan {
  const drill = backup.verification.restoreDrill;
  return {
    scheduleExpression: backup.schedule.expression,
    maxIntervalSeconds: backup.schedule.maxIntervalSeconds,
    retentionHorizonDays: backup.retention.horizonDays,
    retentionForgetArguments: backup.retention.forgetArguments,
    quiesceMode: backup.quiesce.mode,
    quiesceOutput: backup.quiesceOutput?.containerPath,
    quiesceOutputVolume: backup.quiesceOutput?.volumeName,
    readAllDataWithinDays: backup.verification.readAllDataWithinDays,
    restoreDrillExpression: drill?.expression,
    // A drill that falls due runs after the next backup (it compares with checksums taken then).
    restoreDrillMaxIntervalSeconds: drill ? deferredIntervalSeconds(drill.expression, backup.schedule.expression) : undefined,
    recoveryPointObjectiveMinutes: backup.recoveryPointObjectiveMinutes,
    passwordEscrowedIn: backup.passwordEscrowedIn,
    passwordSource: backup.passwordSource,
  };
}
