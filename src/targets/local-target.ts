import * as path from 'path';
import { Construct } from 'constructs';
import { relativePath } from '../core/validation';
import { Medium } from './medium';
import { Site } from './site';
import type { IStorageTarget, StorageTargetBindContext, StorageTargetConfig } from './storage-target-config';

/** Where the sidecar sees its local repositories. */
export const LOCAL_TARGET_ROOT = '/backup/targets';

/**
 * The restic repository's folder inside a local target's host folder. The host folder itself
 * is kept root-owned and 0700 by the installer and never mounted into the sidecar, so nothing
 * the sidecar writes (a setuid-root program, say) can be reached, let alone run, by a host
 * user other than root.
 */
export const LOCAL_REPOSITORY_FOLDER = 'repository';

/** The host folder of the repository of a local target whose host folder is `hostPath`. */
export function localRepositoryHostPath(hostPath: string): string {
  return `${hostPath}/${LOCAL_REPOSITORY_FOLDER}`;
}

/** Properties of a repository in a folder of the Docker host. */
export interface LocalPathTargetProps {
  /**
   * Absolute folder on the Docker host for this target. The restic repository is its
   * `repository` subfolder. Docker creates it when missing, and the installer keeps it owned
   * by root with mode 0700 (a repository found directly in it, as earlier versions wrote it,
   * is moved into `repository`): the sidecar runs as uid 0 and mounts only `repository`, so a
   * file it wrote there with a setuid bit can never be run by another host user. Put it on
   * another disk or a NAS mount (best mounted `nosuid,nodev`), never inside a protected volume.
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
      repositoryHostPath: localRepositoryHostPath(this.hostPath),
    };
  }
}
