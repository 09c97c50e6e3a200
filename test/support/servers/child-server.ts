/**
 * The life of a fake server that runs as a child process (rest-server.ts, s3-server.ts):
 * started on a free port, killed (the endpoint goes down), restarted on the same port, stopped
 * for good with its work folder removed, and never left behind when the test process ends.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';

/** A server child that is listening. */
export interface Launched {
  readonly proc: ChildProcess;
  readonly port: number;
}

/**
 * Spawns `command args` and resolves once `listening` finds the port in its output (stdout and
 * stderr, in arrival order); rejects when it exits first or after 20 s. `onOutput` sees every
 * chunk.
 */
export function spawnListening(
  what: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  listening: (output: { stdout: string; stderr: string }) => number | undefined,
  onOutput: (chunk: string) => void = () => undefined,
): Promise<Launched> {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const output = { stdout: '', stderr: '' };
  return new Promise<Launched>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${what} did not start within 20 s: ${output.stderr}${output.stdout}`));
    }, 20000);
    for (const stream of ['stdout', 'stderr'] as const) {
      proc[stream]!.setEncoding('utf8').on('data', (d: string) => {
        output[stream] += d;
        onOutput(d);
        const port = listening(output);
        if (port !== undefined) {
          clearTimeout(timer);
          resolve({ proc, port });
        }
      });
    }
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before listening: ${output.stderr}${output.stdout}`));
    });
  });
}

export interface ChildServer {
  readonly port: number;
  /** The running child, if any. */
  child(): ChildProcess | undefined;
  /** SIGKILL: the endpoint is down. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops the server and removes `work`. Safe to call twice. */
  stop(): Promise<void>;
  /** True once `stop` was called. */
  stopped(): boolean;
}

/**
 * Launches a server child on a free port (`launch(0)`); `launch(port)` again on restart, retried
 * while the kernel still holds the port. `afterKill` runs right after SIGKILL (e.g. SIGCONT to
 * a stopped process). When the first launch fails, `work` is removed and the error thrown.
 */
export async function startChildServer(options: {
  readonly what: string;
  readonly work: string;
  readonly launch: (port: number) => Promise<Launched>;
  readonly afterKill?: (proc: ChildProcess) => void;
}): Promise<ChildServer> {
  let child: ChildProcess | undefined;
  let stopped = false;
  const launch = async (wanted: number) => {
    const launched = await options.launch(wanted);
    child = launched.proc;
    return launched.port;
  };
  const kill = async () => {
    const proc = child;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGKILL');
      options.afterKill?.(proc);
      await exited;
    }
  };
  // Never leave a server behind, even when the test process ends abruptly.
  const onExit = () => child?.kill('SIGKILL');
  process.once('exit', onExit);
  let port: number;
  try {
    port = await launch(0);
  } catch (err) {
    process.removeListener('exit', onExit);
    fs.rmSync(options.work, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    child: () => child,
    kill,
    stopped: () => stopped,
    async restart() {
      if (stopped) {
        throw new Error(`${options.what} was stopped for good`);
      }
      await kill();
      // The kernel may keep the port a moment after the process is gone.
      for (let attempt = 0; ; attempt++) {
        try {
          await launch(port);
          return;
        } catch (err) {
          if (attempt >= 20 || !/address already in use|EADDRINUSE/.test(String(err))) {
            throw err;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async stop() {
      if (stopped) {
        return;
      }
      stopped = true;
      await kill();
      process.removeListener('exit', onExit);
      fs.rmSync(options.work, { recursive: true, force: true });
    },
  };
}
