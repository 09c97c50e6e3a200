import { ConfigurationError } from '../configuration-error';
import { outOfRange } from '../validation';

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
    return new Quiesce(QuiesceMode.EXEC, command, checkTimeout('Quiesce.exec', options.timeoutSeconds ?? 600), options.onError ?? QuiesceFailure.ABORT);
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

function emptyQuiesceCommand(): ConfigurationError {
  return new ConfigurationError(
    'Quiesce.exec([])',
    'the command is empty',
    "pass the program and its arguments, e.g. Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'])",
  );
}
