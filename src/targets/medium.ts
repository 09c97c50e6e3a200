/**
 * The kind of storage a copy sits on. The "2" of 3-2-1 asks for copies on at least two
 * different media, so that one failure mode (a disk controller, a cloud service, a format)
 * cannot take every copy.
 */
export enum Medium {
  /** A local or directly attached disk on the Docker host. */
  DISK = 'disk',
  /** Network-attached storage (NFS/SMB share, a NAS appliance). */
  NAS = 'nas',
  /** An object store (S3, S3-compatible, a restic REST server in front of one). */
  OBJECT_STORAGE = 'object-storage',
  /** An archive tier (S3 Glacier classes) or tape. */
  ARCHIVE = 'archive',
}
