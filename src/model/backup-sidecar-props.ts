import type { Site } from '../targets/site';
import type { BackupOptions } from './backup-options';
import type { BackupSource } from './backup-source';

/** Properties of a `BackupSidecar`. */
export interface BackupSidecarProps extends BackupOptions {
  /** The protected container's name: the restic `--host`, and the sidecar's name prefix. */
  readonly containerName: string;
  /**
   * The named volumes to back up. Used on its own, each must be a volume the stack declares (a
   * `docker_volume`, by its name or a reference to it, or a volume a container of the stack
   * mounts), or be marked `external`: checked at synth.
   */
  readonly sources: BackupSource[];
  /**
   * The protected container's other volumes, which are not backed up (`backup: false`): synth
   * refuses a quiesce output written into one.
   * @default - none
   */
  readonly notBackedUp?: BackupSource[];
  /**
   * Where the protected container runs.
   * @default Site.dockerHost()
   */
  readonly site?: Site;
}
