/** One named Docker volume the sidecar backs up. */
export interface BackupSource {
  /** The Docker volume's name; mounted read-only at `/backup/sources/<volumeName>`. */
  readonly volumeName: string;
  /**
   * Where the protected container mounts it: lets synth check that the file a
   * `Quiesce.exec` writes lies in a volume this backup reads.
   * @default - not known (a quiesce output cannot be checked; the compliance pack says so)
   */
  readonly containerPath?: string;
  /**
   * Whether the volume may be empty. A cycle that finds a source volume with no file fails
   * before it backs up anything (a mistyped volume name gives Docker a new, empty volume,
   * which would be backed up, and its history forgotten, as if all were well).
   * @default false
   */
  readonly allowEmpty?: boolean;
  /**
   * The volume is made outside this stack (docker compose, another Terraform configuration, by
   * hand). A sidecar (or backup service) used on its own may otherwise only name a volume the
   * stack declares, a `docker_volume` or a mount of one of its containers: Docker makes an
   * empty volume for a name that does not exist, and the backup would save that every time.
   * @default false
   */
  readonly external?: boolean;
}
