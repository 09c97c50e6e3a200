/**
 * The tests' own Docker Engine: Debian's `dockerd` (docker.io, Engine 20.10, API 1.41),
 * started once per jest run by globalSetup and stopped by globalTeardown.
 *
 * - vfs storage, its own data root, exec root, pid file and socket under one temp folder, so
 *   it never touches (or needs) a system Docker;
 * - in a network namespace of its own (`unshare --net`): its bridges, iptables rules and
 *   containers live there, traffic stays between containers on the bridges it made, and
 *   several runs (a developer's and CI's) never fight over `docker0`;
 * - the test workers find it through CCB_DOCKER_HOST / CCB_ENGINE_PID / CCB_ENGINE_DIR,
 *   which globalSetup sets before the workers start;
 * - optionally also in a UTS namespace of its own with a hostname (`startEngine({ hostname })`):
 *   the name a swarm node reports (swarm.ts starts its nodes that way, and does not make them
 *   the run's current engine: `current: false`).
 *
 * If the daemon cannot start the run fails with the daemon's own last log lines: no test is
 * skipped for want of an engine.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** What the workers need to reach the engine. */
export interface RunningEngine {
  /** The daemon's API socket. */
  readonly socketPath: string;
  /** `unix://<socketPath>`, for `docker -H`. */
  readonly dockerHost: string;
  /** The daemon's pid: `nsenter -t <pid> -n` enters its network namespace. */
  readonly pid: number;
  /** The temp folder holding everything the daemon made. */
  readonly dir: string;
}

const START_TIMEOUT_MS = 60000;

/** The engine this jest run started (in a worker or in globalSetup/globalTeardown). */
export function currentEngine(): RunningEngine {
  const dir = process.env.CCB_ENGINE_DIR;
  const pid = Number(process.env.CCB_ENGINE_PID);
  if (!dir || !pid) {
    throw new Error(
      'The real-engine tests need the Docker Engine that jest\'s globalSetup starts ' +
        '(test/support/engine/global-setup.ts); run them through `npm test` or `npx jest`, ' +
        'not with a config that skips globalSetup.',
    );
  }
  const socketPath = path.join(dir, 'docker.sock');
  return { socketPath, dockerHost: `unix://${socketPath}`, pid, dir };
}

/** How `startEngine` starts a daemon; each default keeps the run's engine as it always was. */
export interface StartEngineOptions {
  /**
   * Also unshare the UTS namespace and set this hostname in it before dockerd starts: the
   * node name `docker swarm` reports (and `{{.Node.Hostname}}` resolves to).
   * @default the host's UTS namespace and hostname
   */
  readonly hostname?: string;
  /**
   * Point currentEngine() (this process's CCB_* variables) at the new engine. A helper that
   * starts extra engines beside the run's own (a swarm cluster) passes `false`.
   * @default true
   */
  readonly current?: boolean;
  /** @default 'ccb-engine-' */
  readonly dirPrefix?: string;
}

/** Starts a private dockerd and waits until it answers `_ping`. */
export async function startEngine(options: StartEngineOptions = {}): Promise<RunningEngine> {
  if (options.hostname !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(options.hostname)) {
    throw new Error(`startEngine: hostname '${options.hostname}' is not a lower-case RFC 1123 label`);
  }
  for (const cmd of ['dockerd', 'unshare', 'nsenter', 'ip', ...(options.hostname ? ['hostname'] : [])]) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
      throw new Error(`The real-engine tests need '${cmd}': npm test's pretest (scripts/ensure-system-tools.js) installs it; run 'npm test' once, or install it by hand.`);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), options.dirPrefix ?? ENGINE_DIR_PREFIXES[0]));
  // Who owns it: a run killed before its teardown leaves the engine behind, and the next run
  // reaps it once this process is gone (reapOrphanedEngines).
  fs.writeFileSync(path.join(dir, OWNER_FILE), processIdentity(process.pid) ?? '');
  const socketPath = path.join(dir, 'docker.sock');
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'a');
  const dockerd = [
    'dockerd',
    '--storage-driver=vfs',
    `--data-root=${dir}/root`,
    `--exec-root=${dir}/exec`,
    `--pidfile=${dir}/dockerd.pid`,
    `-H`, `unix://${socketPath}`,
  ].join(' ');
  const uts = options.hostname ? ['--uts'] : [];
  const setHostname = options.hostname ? `hostname ${options.hostname} && ` : '';
  const child: ChildProcess = spawn('unshare', ['--net', ...uts, '--fork', '--', 'sh', '-c', `${setHostname}ip link set lo up && exec ${dockerd}`], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  const started = Date.now();
  for (;;) {
    if (exited !== null) {
      throw new Error(`dockerd exited (${exited}) before answering:\n${tail(path.join(dir, 'dockerd.log'))}`);
    }
    if (fs.existsSync(socketPath) && fs.existsSync(path.join(dir, 'dockerd.pid'))) {
      const ping = spawnSync('docker', ['-H', `unix://${socketPath}`, 'version', '--format', '{{.Server.APIVersion}}'], { encoding: 'utf8' });
      if (ping.status === 0) {
        break;
      }
    }
    if (Date.now() - started > START_TIMEOUT_MS) {
      throw new Error(`dockerd did not answer within ${START_TIMEOUT_MS / 1000} s:\n${tail(path.join(dir, 'dockerd.log'))}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const pid = Number(fs.readFileSync(path.join(dir, 'dockerd.pid'), 'utf8').trim());
  if (options.current ?? true) {
    process.env.CCB_ENGINE_DIR = dir;
    process.env.CCB_ENGINE_PID = String(pid);
    process.env.CCB_DOCKER_HOST = `unix://${socketPath}`;
  }
  return { socketPath, dockerHost: `unix://${socketPath}`, pid, dir };
}

/**
 * Removes every container, stops the daemon (SIGTERM, then SIGKILL after 20 s), unmounts what
 * it left mounted and deletes its folder.
 */
export async function stopEngine(engine: RunningEngine): Promise<void> {
  const ids = docker(engine, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) {
    docker(engine, ['rm', '-f', '-v', ...ids]);
  }
  try {
    if (engine.pid > 0) process.kill(engine.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const deadline = Date.now() + 20000;
  while (engine.pid > 0 && alive(engine.pid) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  if (engine.pid > 0 && alive(engine.pid)) {
    process.kill(engine.pid, 'SIGKILL');
  }
  // Network namespaces of containers are bind mounts under the exec root.
  const mounts = fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m !== undefined && m.startsWith(engine.dir))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    spawnSync('umount', ['-l', m]);
  }
  fs.rmSync(engine.dir, { recursive: true, force: true });
}

/** The folder prefixes of the engines this project starts (the run's own, swarm nodes). */
const ENGINE_DIR_PREFIXES = ['ccb-engine-', 'ccb-swarm-'];
const OWNER_FILE = 'owner';

/**
 * Stops the engines whose owner is gone: a jest run killed before globalTeardown (a timeout,
 * ^C, a killed worker) leaves its private dockerd running with its folder and mounts. Called by
 * globalSetup; an engine whose owner still runs (another run on this machine) is left alone, as
 * is a folder without an owner file. Returns the folders it reaped.
 */
export async function reapOrphanedEngines(): Promise<string[]> {
  const reaped: string[] = [];
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!ENGINE_DIR_PREFIXES.some((p) => name.startsWith(p))) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner: string;
    let pid: number;
    try {
      owner = fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8').trim();
      pid = Number(fs.readFileSync(path.join(dir, 'dockerd.pid'), 'utf8').trim());
    } catch {
      continue;
    }
    const ownerPid = Number(owner.split(' ')[0]);
    if (owner === '' || processIdentity(ownerPid) === owner) continue;
    const socketPath = path.join(dir, 'docker.sock');
    // Only a pid that is still that engine's dockerd is signalled (pids are reused).
    const daemonPid = alive(pid) && fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir) ? pid : 0;
    await stopEngine({ socketPath, dockerHost: `unix://${socketPath}`, pid: daemonPid, dir });
    reaped.push(dir);
  }
  return reaped;
}

/** `<pid> <start time>` of a running process (its start time tells a reused pid apart), or undefined. */
function processIdentity(pid: number): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat, counted after the command name's closing parenthesis.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}

/** Runs the docker CLI against the engine (`docker -H unix://...`). */
export function docker(engine: RunningEngine, args: string[], input?: string | Buffer): SpawnSyncReturns<string> {
  return spawnSync('docker', ['-H', engine.dockerHost, ...args], {
    encoding: 'utf8',
    input,
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** Like `docker`, but throws with the CLI's stderr when it fails. */
export function dockerOk(engine: RunningEngine, args: string[], input?: string | Buffer): string {
  const r = docker(engine, args, input);
  if (r.status !== 0) {
    throw new Error(`docker ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/**
 * The argv that runs `command` inside the engine's network namespace (where the containers'
 * bridges are), e.g. a raw HTTP client talking to a container's address.
 */
export function inEngineNetwork(engine: RunningEngine, command: string[]): string[] {
  return ['nsenter', '-t', String(engine.pid), '-n', '--', ...command];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
