import * as path from 'path';
import { Construct } from 'constructs';
import { relativePath } from '../validation';
import { Medium } from './medium';
import { Site } from './site';
import type { IStorageTarget, StorageTargetBindContext, StorageTargetConfig } from './storage-target-config';

/** Where the sidecar sees its local repositories. */
export const LOCAL_TARGET_ROOT = '/backup/targets';

/** Properties of a repository in a folder of the Docker host. */
export interface LocalPathTargetProps {
  /**
   * Absolute folder on the Docker host that holds the restic repository. Docker creates it
   * when missing (it is mounted as a host-path volume, not a `bind` mount, which would fail).
   * Put it on another disk or a NAS mount, never inside a protected volume.
   */
  readonly hostPath: string;
  /**
   * What the folder is stored on.
   * @default Medium.DISK
   */
  readonly medium?: Medium;
  /**
   * Where the folder is. Set it for a NAS in another building.
   * @default - the protected container's site
   */
  readonly site?: Site;
  /**
   * The target's name in logs, status and `--target`.
   * @default "local"
   */
  readonly name?: string;
}

/** A restic repository in a folder of the Docker host: a local disk or a mounted NAS share. */
export class LocalPathTarget implements IStorageTarget {
  /** The host folder. */
  public readonly hostPath: string;
  /** The target's name. */
  public readonly name: string;

  constructor(private readonly props: LocalPathTargetProps) {
    this.name = props.name ?? 'local';
    if (!path.posix.isAbsolute(props.hostPath)) {
      throw relativePath('StorageTarget.localPath', 'hostPath', props.hostPath);
    }
    this.hostPath = path.posix.normalize(props.hostPath).replace(/(.)\/$/, '$1');
  }

  public bind(_scope: Construct, context: StorageTargetBindContext): StorageTargetConfig {
    return {
      name: this.name,
      repository: `${LOCAL_TARGET_ROOT}/${this.name}`,
      medium: this.props.medium ?? Medium.DISK,
      site: this.props.site ?? context.containerSite,
      hostPath: this.hostPath,
    };
  }
}
