import * as path from 'path';
import { ConfigurationError, show } from '../core/configuration-error';
import { outOfRange } from '../core/validation';
import { dumpOutputOf } from './dump-output';

/** How the protected application is made consistent before its volumes are read. */
export enum QuiesceMode {
  /** Back up the files as they are (crash-consistent). */
  NONE = 'none',
  /** Stop the container, back up, start it again. */
  STOP = 'stop',
  /** Pause (freeze) the container, back up, unpause it. */
  PAUSE = 'pause',
  /** Run a command inside the container first (e.g. a database dump onto the volume). */
  EXEC = 'exec',
}

/** What the cycle does when the quiesce step fails. */
export enum QuiesceFailure {
  /** Skip this cycle's backup and report the failure. */
  ABORT = 'abort',
  /** Back up anyway (crash-consistent) and report the failure. */
  CONTINUE = 'continue',
}

/** Options for `Quiesce.exec`. */
export interface ExecQuiesceOptions {
  /**
   * Longest time the command may run.
   * @default 600
   */
  readonly timeoutSeconds?: number;
  /**
   * What to do when the command fails or times out.
   * @default QuiesceFailure.ABORT
   */
  readonly onError?: QuiesceFailure;
  /**
   * The absolute path, in the protected container, of the file (or folder) the command
   * writes: synth checks that it lies in a volume the same backup reads, and the agent fails
   * a cycle whose command exited 0 without writing it (missing, empty, or not written since
   * the cycle began).
   * @default - read from the command for pg_dump/pg_dumpall (`-f`, `--file`), mysqldump and
   * mariadb-dump (`-r`, `--result-file`) and mongodump (`-o`, `--out`, `--archive=`), also
   * inside `sh -c` (and its `> file`); unknown otherwise, which the compliance pack refuses
   * (rule QuiesceOutputBackedUp) unless suppressed with a reason
   */
  readonly output?: string;
}

/** Options for `Quiesce.stop` and `Quiesce.pause`. */
export interface StopQuiesceOptions {
  /**
   * Seconds Docker waits for the container to stop before killing it.
   * @default 60
   */
  readonly timeoutSeconds?: number;
}

/**
 * Application consistency. Anything stopped or paused is always started again, whatever
 * fails. Stop, pause and exec reach the Docker API through a socket proxy that allows only the
 * endpoints they need; the sidecar never mounts the Docker socket.
 */
export class Quiesce {
  /** No preparation: the backup is crash-consistent. */
  public static none(): Quiesce {
    return new Quiesce(QuiesceMode.NONE, [], 0, QuiesceFailure.ABORT);
  }

  /** Stop the container for the backup. */
  public static stop(options: StopQuiesceOptions = {}): Quiesce {
    return new Quiesce(QuiesceMode.STOP, [], checkTimeout('Quiesce.stop', options.timeoutSeconds ?? 60), QuiesceFailure.ABORT);
  }

  /** Pause the container for the backup. */
  public static pause(options: StopQuiesceOptions = {}): Quiesce {
    return new Quiesce(QuiesceMode.PAUSE, [], checkTimeout('Quiesce.pause', options.timeoutSeconds ?? 60), QuiesceFailure.ABORT);
  }

  /** Run `command` in the container before the backup, e.g. `['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql']`. */
  public static exec(command: string[], options: ExecQuiesceOptions = {}): Quiesce {
    if (command.length === 0 || command[0].trim() === '') {
      throw emptyQuiesceCommand();
    }
    const parsed = dumpOutputOf(command);
    const output = options.output !== undefined ? checkOutput(options.output, parsed) : parsed;
    if (output !== undefined && !path.posix.isAbsolute(output)) {
      throw relativeOutput(output);
    }
    return new Quiesce(
      QuiesceMode.EXEC,
      command,
      checkTimeout('Quiesce.exec', options.timeoutSeconds ?? 600),
      options.onError ?? QuiesceFailure.ABORT,
      output === undefined ? undefined : path.posix.normalize(output),
    );
  }

  private constructor(
    /** The kind of quiesce. */
    public readonly mode: QuiesceMode,
    /** The command run by `EXEC` (empty otherwise). */
    public readonly command: string[],
    /** Seconds the step may take. */
    public readonly timeoutSeconds: number,
    /** What happens when the step fails. */
    public readonly onError: QuiesceFailure,
    /**
     * The file (or folder) the `EXEC` command writes, in the protected container: declared, or
     * read from a known dump tool's command.
     * @default - unknown (or not `EXEC`)
     */
    public readonly output?: string,
  ) {}

  /** Whether the step needs the Docker API (and so the socket proxy). */
  public get needsDockerApi(): boolean {
    return this.mode !== QuiesceMode.NONE;
  }
}

function checkTimeout(factory: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 86400) {
    throw outOfRange(factory, 'timeoutSeconds', value, 1, 86400);
  }
  return value;
}

/** A declared output must agree with the one the command names, when it names one. */
function checkOutput(declared: string, parsed: string | undefined): string {
  if (parsed !== undefined && path.posix.normalize(parsed) !== path.posix.normalize(declared)) {
    throw outputDisagrees(declared, parsed);
  }
  return declared;
}

function outputDisagrees(declared: string, parsed: string): ConfigurationError {
  return new ConfigurationError(
    'Quiesce.exec(...)',
    `\`output\` is ${show(declared)} but the command writes its dump to ${show(parsed)}, so one of them is wrong`,
    'make them the same path, or leave `output` out: it is read from the command',
  );
}

function relativeOutput(output: string): ConfigurationError {
  return new ConfigurationError(
    'Quiesce.exec(...)',
    `the dump's output ${show(output)} is a relative path: it is relative to the container's working directory, which synth cannot check against the volumes`,
    'write the dump to an absolute path inside a backed-up volume, e.g. "/var/lib/postgresql/data/dump.sql"',
  );
}

function emptyQuiesceCommand(): ConfigurationError {
  return new ConfigurationError(
    'Quiesce.exec([])',
    'the command is empty',
    "pass the program and its arguments, e.g. Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'])",
  );
}
