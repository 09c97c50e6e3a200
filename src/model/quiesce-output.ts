/**
 * Where the file a quiesce command writes lands: in which volume, and where the sidecar reads
 * it. A dump written anywhere else is never backed up, while the cycle reports success: the
 * worst failure a backup can have. So a known output outside every backed-up volume is
 * refused at synth here, and an unknown one is a finding of the pack (QuiesceOutputBackedUp).
 * Pure: no cdktf.
 */
import * as path from 'path';
import { ConfigurationError, show } from '../core/configuration-error';
import { Quiesce } from '../policy/quiesce';

/** A volume as the protected container mounts it. */
export interface MountedSource {
  readonly volumeName: string;
  /** Where the protected container mounts it; undefined when not declared (a sidecar on its own). */
  readonly containerPath?: string;
}

/** The quiesce step's output, as resolved. */
export interface QuiesceOutput {
  /** The path in the protected container (declared, or read from the command). */
  readonly containerPath: string;
  /** The backed-up volume it lies in; undefined when the sources' mount points are not known. */
  readonly volumeName?: string;
  /** Where the sidecar sees it (`/backup/sources/<volume>/...`); with `volumeName`. */
  readonly sidecarPath?: string;
}

/**
 * The output of `quiesce` against the container's mounts: `sources` (backed up) and
 * `notBackedUp` (mounted, `backup: false`). Throws when it lies outside every backed-up volume.
 */
export function resolveQuiesceOutput(
  where: string,
  quiesce: Quiesce,
  sources: MountedSource[],
  notBackedUp: MountedSource[],
  sourceRoot: string,
): QuiesceOutput | undefined {
  const output = quiesce.output;
  if (output === undefined) {
    return undefined;
  }
  const known = [...sources.map((s) => ({ ...s, backedUp: true })), ...notBackedUp.map((s) => ({ ...s, backedUp: false }))].filter(
    (m): m is { volumeName: string; containerPath: string; backedUp: boolean } => m.containerPath !== undefined,
  );
  if (sources.every((s) => s.containerPath === undefined)) {
    // A sidecar on its own, told its volumes but not where the container mounts them.
    return { containerPath: output };
  }
  // The deepest mount that holds the output is the one it is written to.
  const holder = known
    .filter((m) => output === m.containerPath || output.startsWith(`${m.containerPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.containerPath.length - a.containerPath.length)[0];
  if (holder === undefined) {
    throw outputOutsideVolumes(where, output, known);
  }
  if (!holder.backedUp) {
    throw outputInUnbackedVolume(where, output, holder.volumeName, sources);
  }
  const relative = path.posix.relative(holder.containerPath, output);
  return {
    containerPath: output,
    volumeName: holder.volumeName,
    sidecarPath: relative === '' ? `${sourceRoot}/${holder.volumeName}` : `${sourceRoot}/${holder.volumeName}/${relative}`,
  };
}

function mountList(mounts: Array<{ volumeName: string; containerPath?: string }>): string {
  return mounts.map((m) => `${m.volumeName} at ${m.containerPath}`).join(', ') || 'none';
}

function outputOutsideVolumes(where: string, output: string, mounts: Array<{ volumeName: string; containerPath?: string }>): ConfigurationError {
  return new ConfigurationError(
    where,
    `the quiesce command writes ${show(output)}, which lies in no volume of the container (mounted: ${mountList(mounts)}): the dump would stay in the container's own file system, never backed up, while every cycle reports success`,
    'write the dump into a backed-up volume, e.g. under its containerPath, or mount a volume where it is written',
  );
}

function outputInUnbackedVolume(where: string, output: string, volume: string, sources: MountedSource[]): ConfigurationError {
  return new ConfigurationError(
    where,
    `the quiesce command writes ${show(output)} into volume ${show(volume)}, which is not backed up (backup: false): the dump would never reach a repository`,
    `write the dump into a backed-up volume (${mountList(sources)}), or back up ${show(volume)}`,
  );
}
