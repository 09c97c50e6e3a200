/**
 * What a container mounts, as the data rules see it: a named volume or a host folder, whether
 * the container may write it, and which backups read it. Pure: no cdktf here.
 */

/** How a folder reaches a container. */
export enum MountType {
  /** A named Docker volume. */
  VOLUME = 'volume',
  /** A folder (or file) of the Docker host, bind-mounted. */
  BIND = 'bind',
}

/** One mount of a container: its source, whether it holds the container's data, who backs it up. */
export interface DataMount {
  /** A named volume or a host folder. */
  readonly kind: MountType;
  /** The volume's name, or the host path of a bind mount. */
  readonly source: string;
  /** Where the container sees it. */
  readonly containerPath: string;
  /**
   * Mounted read-only: the container reads it and writes nothing there.
   * @default false
   */
  readonly readOnly?: boolean;
  /**
   * Declared as not worth a backup (`backup: false` on a ProtectedContainer's or a
   * ProtectedService's volume: a cache, scratch data).
   * @default false
   */
  readonly excluded?: boolean;
  /** The construct paths of the backups (sidecars, backup services) that read this volume. */
  readonly backedUpBy: string[];
}

/**
 * Host paths that hold no data of the container's own: sockets, the kernel's file systems and
 * the host's clock settings. A bind mount of one of them is plumbing, not data to back up.
 */
const NOT_DATA = [/^\/(var\/)?run(\/|$)/, /^\/(dev|proc|sys)(\/|$)/, /^\/etc\/(localtime|timezone)$/];

/**
 * Whether the mount holds data the container writes: a writable named volume, or a writable
 * bind mount of a host folder that is not a socket, a kernel file system or the clock. A
 * read-only mount is input the container does not change (configuration, certificates, content
 * another container writes): the container that writes it is the one whose data it is.
 */
export function holdsWrittenData(mount: DataMount): boolean {
  if (mount.readOnly ?? false) {
    return false;
  }
  return mount.kind === MountType.VOLUME || !NOT_DATA.some((p) => p.test(mount.source));
}
