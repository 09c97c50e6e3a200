/**
 * Runs a sidecar the way Docker would, from its synthesized `docker_container` resource (the
 * object at `cdk.tf.json` → `resource.docker_container.<id>`, as @cdktf/provider-docker 12 /
 * kreuzwerker docker 3.6 write it), on a machine without a Docker engine. It is the runtime
 * beneath the one way the tests run a sidecar, SidecarHarness (sidecar-harness.ts): tests run
 * the synthesized sidecar through the harness, not through `startSidecar`/`runSidecar` here.
 *
 * As root, `unshare --mount --fork` runs a generated setup script in a private mount
 * namespace. The script mounts a tmpfs as the new root; read-only rbinds of /usr and /etc and
 * rbinds of /dev and /proc; a tmpfs /bin filled by `busybox --install -s`, so `/bin/sh` is
 * busybox and busybox applets shadow GNU coreutils on PATH=/bin:/usr/bin (like the Alpine
 * restic image); every `mounts`/`volumes` entry bind-mounted at its container path from a
 * host folder the caller supplies (read-only ones remounted `ro`: writes fail with EROFS);
 * the `tmpfs` entries (with Docker's default `noexec,nosuid,nodev`). It then writes every
 * `upload` (Terraform-escaped content un-escaped, Terraform references substituted; with the
 * provider's modes), makes the root read-only when `read_only` is set, and `chroot`s into it
 * to exec the entrypoint
 * and command with exactly the container's environment (plus PATH and HOME, as Docker adds
 * them), under Docker's capability set (`capabilities` add/drop applied) and
 * `no-new-privileges` when the resource asks for it. The mounts vanish with the namespace;
 * the scratch folder is removed when the process ends.
 *
 * Docker's rule for uploads is kept: the provider copies each `upload` with
 * `CopyToContainer(id, "/", tar)`, and Docker refuses any archive copy into a container with
 * `read_only: true` ("container rootfs is marked read-only"), whatever volume the file's path
 * lies on. A resource with both is refused before anything runs, as `terraform apply` fails.
 * The sidecar therefore gets its agent and secrets from the one-shot installer container
 * (src/agent/agent-install.ts): `installAgent` runs it like any container (its own
 * entrypoint, its writable root, its uploads) and fails loudly when it exits non-zero.
 *
 * What it does not model: networks, ports, cgroups limits, the image's own files (the host's
 * /usr and /etc stand in for them), the container's restart policy.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AGENT_INSTALL_DIR, AGENT_STATE_DIR } from '../../src/agent/agent-asset';
import { AGENT_PLAN_FILE } from '../../src/agent/agent-plan';
import { renderTerraformString } from './terraform-string';

/** An `upload` entry of docker_container. */
export interface DockerUpload {
  readonly file: string;
  readonly content?: string;
  readonly content_base64?: string;
  /** A host file to copy (the provider's `source`). */
  readonly source?: string;
  readonly executable?: boolean;
  /** The file's mode, octal (provider 3.5+); wins over `executable`. */
  readonly permissions?: string;
}

/** A `mounts` entry of docker_container. */
export interface DockerMount {
  readonly target: string;
  readonly source?: string;
  readonly type: string;
  readonly read_only?: boolean;
}

/** A `volumes` entry of docker_container. */
export interface DockerVolume {
  readonly container_path: string;
  readonly host_path?: string;
  readonly volume_name?: string;
  readonly read_only?: boolean;
}

/** The `healthcheck` block of docker_container. */
export interface DockerHealthcheck {
  readonly test: string[];
  readonly interval?: string;
  readonly timeout?: string;
  readonly retries?: number;
  readonly start_period?: string;
}

/** The `capabilities` block of docker_container. */
export interface DockerCapabilities {
  readonly add?: string[];
  readonly drop?: string[];
}

/**
 * The fields of a synthesized `docker_container` that the sandbox uses. Blocks with at most
 * one item (`healthcheck`, `capabilities`) are accepted as an object or a one-item list.
 */
export interface DockerContainerResource {
  readonly name?: string;
  readonly image?: string;
  readonly entrypoint?: string[];
  readonly command?: string[];
  readonly env?: string[];
  readonly upload?: DockerUpload[];
  readonly mounts?: DockerMount[];
  readonly volumes?: DockerVolume[];
  readonly tmpfs?: Record<string, string>;
  readonly healthcheck?: DockerHealthcheck | DockerHealthcheck[];
  readonly capabilities?: DockerCapabilities | DockerCapabilities[];
  readonly security_opts?: string[];
  readonly read_only?: boolean;
  readonly working_dir?: string;
  readonly user?: string;
  readonly hostname?: string;
  readonly [key: string]: unknown;
}

export interface SidecarSandboxOptions {
  /**
   * The real host folder for each volume name, `host_path` and bind `source` of the resource
   * (the value after Terraform references are substituted). A volume's or host_path's folder
   * is created when missing (Docker creates those); a `bind` mount's must exist (Docker
   * refuses to start otherwise).
   */
  readonly hostDirs: Record<string, string>;
  /**
   * Keys of `hostDirs` whose host folder is itself read-only (a NAS export or a disk that
   * went read-only): every mount of it is read-only, whatever the resource says. A fault of
   * the host, not a change of the resource.
   */
  readonly readOnlyHostDirs?: string[];
  /**
   * Values for the Terraform expressions in the resource's strings, keyed by the expression
   * between `${` and `}`, e.g. `{ 'var.repository_password': 'secret' }`. An expression
   * without a value is an error: Terraform would have substituted something.
   */
  readonly terraformValues?: Record<string, string>;
  /** `/bin/sh`: busybox (default), or dash (busybox applets stay for everything else). */
  readonly shell?: 'busybox' | 'dash';
  /** Replaces the resource's `command`, the entrypoint stays (`docker run IMAGE ARGS...`). */
  readonly command?: string[];
  /** Replaces entrypoint and command (`docker exec CONTAINER ARGS...`). */
  readonly exec?: string[];
  /** Runs the resource's healthcheck test instead (as Docker's health probe does). */
  readonly healthcheck?: boolean;
  /** Entries added to or replacing the container environment (test hooks). */
  readonly env?: Record<string, string>;
  /**
   * A change to the agent's plan for this run (a fault the library cannot express, e.g. a
   * repository that refuses connections): the installed plan (`agent.json` on the volume
   * mounted at /backup/install) is copied with the change to the volume mounted at
   * /backup/agent, and BACKUP_PLAN names the copy. An object is merged into the plan (objects
   * field by field; arrays and values replaced); a function changes it in place.
   */
  readonly plan?: PlanPatch;
  /** The image's ENTRYPOINT when the resource sets none. @default ['restic'] (official image) */
  readonly imageEntrypoint?: string[];
  /** PATH in the container. @default '/bin:/usr/bin' (busybox applets first) */
  readonly path?: string;
  /** Own UTS namespace with this host name (restic records it in its locks). @default the host's */
  readonly hostname?: string;
  /** Own PID namespace: the entrypoint runs as PID 1, as in Docker. @default false */
  readonly pidNamespace?: boolean;
  /** Apply the resource's capabilities and no-new-privileges. @default true */
  readonly applyCapabilities?: boolean;
  /**
   * Capabilities to use instead of the resource's (`{}` is Docker's default set), e.g. to
   * run a restore the way an operator's `docker run --cap-add ...` would.
   */
  readonly capabilities?: DockerCapabilities;
  /** Kill every process of the sandbox after this long. @default 100000 */
  readonly timeoutMs?: number;
}

export interface SidecarResult {
  /** Exit code, or null when the process ended by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when `timeoutMs` passed and the sandbox was killed. */
  readonly timedOut: boolean;
  /** What ran in the container. */
  readonly argv: string[];
  /** The host folder the sandbox ran in (its root, uploads, mounts), removed at the end. */
  readonly scratchDir: string;
}

export interface RunningSidecar {
  /** Settles when the sandbox has ended and its scratch folder is removed. */
  readonly result: Promise<SidecarResult>;
  /** Host PID of the container's main process (its PID 1). */
  mainPid(): Promise<number>;
  /** Sends a signal to the main process, like `docker kill --signal`. @default SIGTERM */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal to every process of the sandbox, like the container dying. @default SIGKILL */
  killAll(signal?: NodeJS.Signals): void;
  /** Resolves with the output so far once stdout or stderr matches. */
  waitForOutput(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** The output so far. */
  output(): { stdout: string; stderr: string };
}

/** Docker's default capabilities (moby oci/caps/defaults.go). */
const DOCKER_DEFAULT_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** A change to an agent plan: merged (objects field by field; arrays replaced), or applied in place. */
export type PlanPatch = Record<string, unknown> | ((plan: any) => void);

/** `plan` with `patch` applied (a copy; the plan is plain JSON). */
export function patchPlan(plan: unknown, patch: PlanPatch): any {
  const copy = JSON.parse(JSON.stringify(plan));
  if (typeof patch === 'function') {
    patch(copy);
    return copy;
  }
  const merge = (into: any, from: any): any => {
    if (from === null || typeof from !== 'object' || Array.isArray(from) || into === null || typeof into !== 'object') {
      return from;
    }
    for (const [k, v] of Object.entries(from)) {
      into[k] = merge(into[k], v);
    }
    return into;
  };
  return merge(copy, patch);
}

/** Exit code of the sandbox when the container cannot be set up (as `docker run`'s 125). */
export const SANDBOX_SETUP_FAILED = 125;

/** The argv Docker's health probe runs for the resource. */
export function healthcheckArgv(resource: DockerContainerResource, values: Record<string, string> = {}): string[] {
  const check = single(resource.healthcheck);
  if (!check || !Array.isArray(check.test) || check.test.length === 0) {
    throw new Error('the resource has no healthcheck test');
  }
  const test = check.test.map((t, i) => renderTerraformString(t, values, `healthcheck.test[${i}]`));
  switch (test[0]) {
    case 'CMD':
      return test.slice(1);
    case 'CMD-SHELL':
      return ['/bin/sh', '-c', test.slice(1).join(' ')];
    default:
      throw new Error(`healthcheck test must start with CMD or CMD-SHELL, got ${JSON.stringify(test[0])}`);
  }
}

/** The argv the container runs: entrypoint + command, or an override. */
export function containerArgv(resource: DockerContainerResource, options: Partial<SidecarSandboxOptions> = {}): string[] {
  const values = options.terraformValues ?? {};
  if (options.healthcheck) {
    return healthcheckArgv(resource, values);
  }
  if (options.exec) {
    return [...options.exec];
  }
  const render = (list: string[] | undefined, name: string) =>
    list?.map((s, i) => renderTerraformString(s, values, `${name}[${i}]`));
  const entrypoint = render(resource.entrypoint, 'entrypoint') ?? options.imageEntrypoint ?? ['restic'];
  const command = options.command ?? render(resource.command, 'command') ?? [];
  const argv = [...entrypoint, ...command];
  if (argv.length === 0) {
    throw new Error('the container has neither entrypoint nor command');
  }
  return argv;
}

/** Starts the sidecar; see the module comment. Must run as root. */
export function startSidecar(resource: DockerContainerResource, options: SidecarSandboxOptions): RunningSidecar {
  requireRoot();
  const { plan, scratch, scriptFile, unshareArgs } = prepareSandbox(resource, options);
  const child: ChildProcess = spawn('unshare', [...unshareArgs, '--', '/bin/sh', scriptFile], {
    detached: true, // own process group: killAll reaches every process of the sandbox
    stdio: ['ignore', 'pipe', 'pipe'],
    env: SANDBOX_HOST_ENV,
  });
  let stdout = '';
  let stderr = '';
  const listeners: Array<() => void> = [];
  const notify = () => listeners.slice().forEach((l) => l());
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    notify();
  });

  let exited = false;
  let timedOut = false;
  const killGroup = (signal: NodeJS.Signals) => {
    if (exited || child.pid === undefined) {
      return;
    }
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  const onParentExit = () => killGroup('SIGKILL');
  process.once('exit', onParentExit);
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup('SIGKILL');
  }, options.timeoutMs ?? 100000);

  const result = new Promise<SidecarResult>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      exited = true;
      cleanup(scratch);
      reject(err);
    });
    child.once('close', async (code, signal) => {
      exited = true;
      clearTimeout(timer);
      process.removeListener('exit', onParentExit);
      // Stragglers (a restic orphaned by a killed agent) would keep the namespace alive.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // none left
      }
      notify();
      try {
        // Settle only once the container is gone: no process of its group, zombies included.
        await waitForGroupGone(child.pid!);
        cleanup(scratch);
      } catch (err) {
        reject(err);
        return;
      }
      resolve({ code, signal, stdout, stderr, timedOut, argv: plan.argv, scratchDir: scratch });
    });
  });

  const mainPid = async (): Promise<number> => {
    const file = `/proc/${child.pid}/task/${child.pid}/children`;
    for (let i = 0; i < 500 && !exited; i++) {
      try {
        const pid = Number(fs.readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
        if (pid > 0) {
          return pid;
        }
      } catch {
        // not yet forked
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the sandbox has no main process');
  };

  return {
    result,
    mainPid,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      const pid = await mainPid();
      process.kill(pid, signal);
    },
    killAll(signal: NodeJS.Signals = 'SIGKILL') {
      killGroup(signal);
    },
    waitForOutput(pattern: RegExp | string, timeoutMs = 60000) {
      const matches = () => (typeof pattern === 'string' ? (stdout + stderr).includes(pattern) : pattern.test(stdout + stderr));
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          if (matches()) {
            done();
            resolve(stdout + stderr);
          } else if (exited) {
            done();
            reject(new Error(`the sidecar ended before printing ${pattern}; output:\n${stdout}${stderr}`));
          }
        };
        const t = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${stdout}${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(t);
          const i = listeners.indexOf(check);
          if (i >= 0) {
            listeners.splice(i, 1);
          }
        };
        listeners.push(check);
        check();
      });
    },
    output: () => ({ stdout, stderr }),
  };
}

/** Runs the sidecar to its end. */
export function runSidecar(resource: DockerContainerResource, options: SidecarSandboxOptions): Promise<SidecarResult> {
  return startSidecar(resource, options).result;
}

/**
 * Runs a container to its end, blocking (for short one-shot containers such as the installer,
 * where a caller cannot await). No PID namespace, no kill handle; same setup otherwise.
 */
export function runSidecarSync(resource: DockerContainerResource, options: SidecarSandboxOptions): SidecarResult {
  requireRoot();
  const { plan, scratch, scriptFile, unshareArgs } = prepareSandbox(resource, options);
  try {
    const r = spawnSync('unshare', [...unshareArgs, '--', '/bin/sh', scriptFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: SANDBOX_HOST_ENV,
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 100000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') {
      throw r.error;
    }
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut, argv: plan.argv, scratchDir: scratch };
  } finally {
    cleanup(scratch);
  }
}

/**
 * The options a one-shot installer runs with: its own entrypoint and command, nothing
 * replaced (no `command`, `exec` or `healthcheck`), the resource's own capabilities.
 */
function installerOptions(options: SidecarSandboxOptions): SidecarSandboxOptions {
  const replaced = (['command', 'exec', 'healthcheck', 'capabilities'] as const).filter((k) => options[k] !== undefined);
  if (replaced.length > 0) {
    throw new Error(`installAgent runs the installer as synthesized; drop ${replaced.join(', ')} from the options`);
  }
  return options;
}

function installerFailed(installer: DockerContainerResource, r: SidecarResult): Error {
  return new Error(
    `the installer ${installer.name ?? ''} failed (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}${r.timedOut ? ', timed out' : ''}): ` +
      `the sidecar would start without its agent or secrets\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
  );
}

/**
 * Runs the one-shot installer container (`<name>-backup-install`, see
 * src/agent/agent-install.ts) as `cdktf deploy` does before it creates the sidecar: its own
 * entrypoint, its writable root (so its uploads are accepted), its volumes from `hostDirs`.
 * Rejects, with the installer's output, when it exits non-zero.
 */
export async function installAgent(installer: DockerContainerResource, options: SidecarSandboxOptions): Promise<SidecarResult> {
  const r = await runSidecar(installer, installerOptions(options));
  if (r.code !== 0) {
    throw installerFailed(installer, r);
  }
  return r;
}

/** `installAgent`, blocking: for helpers whose callers construct a sidecar synchronously. */
export function installAgentSync(installer: DockerContainerResource, options: SidecarSandboxOptions): SidecarResult {
  const r = runSidecarSync(installer, installerOptions(options));
  if (r.code !== 0) {
    throw installerFailed(installer, r);
  }
  return r;
}

const SANDBOX_HOST_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the sidecar sandbox needs root (mount namespaces, chroot)');
  }
}

/** Plans the container, writes its uploads and setup script into a fresh scratch folder. */
function prepareSandbox(
  resource: DockerContainerResource,
  options: SidecarSandboxOptions,
): { plan: SandboxPlan; scratch: string; scriptFile: string; unshareArgs: string[] } {
  const plan = planSandbox(resource, options);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sidecar-sandbox-'));
  const rootDir = path.join(scratch, 'root');
  fs.mkdirSync(rootDir);
  const uploadDir = path.join(scratch, 'uploads');
  fs.mkdirSync(uploadDir);
  plan.uploads.forEach((u, i) => fs.writeFileSync(path.join(uploadDir, String(i)), u.data));
  const scriptFile = path.join(scratch, 'setup.sh');
  fs.writeFileSync(scriptFile, setupScript(plan, rootDir, uploadDir, options));
  const unshareArgs = ['--mount', '--fork', '--kill-child'];
  if (options.pidNamespace) {
    unshareArgs.push('--pid', '--mount-proc');
  }
  if (options.hostname ?? plan.hostname) {
    unshareArgs.push('--uts');
  }
  return { plan, scratch, scriptFile, unshareArgs };
}

/**
 * Writes the installed plan with `patch` applied next to the agent's state (the host folder
 * of the /backup/agent mount) and returns its path in the container.
 */
function writePatchedPlan(mounts: PlannedMount[], patch: PlanPatch): string {
  const hostDirOf = (target: string) => {
    const m = mounts.find((x) => x.target === target && x.hostDir !== undefined);
    if (!m) {
      throw new Error(`a plan patch needs a volume mounted at ${target}`);
    }
    return m.hostDir!;
  };
  const installed = JSON.parse(fs.readFileSync(path.join(hostDirOf(AGENT_INSTALL_DIR), path.basename(AGENT_PLAN_FILE)), 'utf8'));
  const name = `test-plan-${process.pid}-${++patchedPlans}.json`;
  // Docker creates the volume before the container starts.
  fs.mkdirSync(hostDirOf(AGENT_STATE_DIR), { recursive: true });
  fs.writeFileSync(path.join(hostDirOf(AGENT_STATE_DIR), name), JSON.stringify(patchPlan(installed, patch)));
  return `${AGENT_STATE_DIR}/${name}`;
}

let patchedPlans = 0;

interface PlannedMount {
  readonly target: string;
  readonly kind: 'bind' | 'tmpfs';
  readonly hostDir?: string;
  readonly mustExist?: boolean;
  readonly readOnly: boolean;
  readonly tmpfsOptions?: string;
  readonly what: string;
}

interface SandboxPlan {
  readonly argv: string[];
  readonly env: string[];
  readonly mounts: PlannedMount[];
  readonly uploads: Array<{ file: string; data: Buffer; mode: number }>;
  readonly readOnlyRoot: boolean;
  readonly workingDir: string;
  readonly hostname?: string;
  readonly capabilities?: string[];
  readonly noNewPrivileges: boolean;
  readonly user?: string;
}

function planSandbox(resource: DockerContainerResource, options: SidecarSandboxOptions): SandboxPlan {
  const values = options.terraformValues ?? {};
  const render = (s: string, where: string) => renderTerraformString(s, values, where);
  const readOnlyHost = new Set(options.readOnlyHostDirs ?? []);
  const hostDir = (key: string, what: string) => {
    const dir = options.hostDirs[key];
    if (dir === undefined) {
      throw new Error(`no host folder for ${what}: pass hostDirs[${JSON.stringify(key)}]`);
    }
    return path.resolve(dir);
  };

  const mounts: PlannedMount[] = [];
  (resource.mounts ?? []).forEach((m, i) => {
    const target = render(m.target, `mounts[${i}].target`);
    const what = `mounts[${i}] (${m.type} at ${target})`;
    if (m.type === 'tmpfs') {
      mounts.push({ target, kind: 'tmpfs', readOnly: !!m.read_only, tmpfsOptions: 'noexec,nosuid,nodev', what });
      return;
    }
    if (m.type !== 'volume' && m.type !== 'bind') {
      throw new Error(`${what}: the sandbox supports volume, bind and tmpfs mounts`);
    }
    if (!m.source) {
      throw new Error(`${what}: anonymous volumes are not supported; give the mount a source`);
    }
    const source = render(m.source, `mounts[${i}].source`);
    mounts.push({
      target,
      kind: 'bind',
      hostDir: hostDir(source, what),
      mustExist: m.type === 'bind',
      readOnly: !!m.read_only || readOnlyHost.has(source),
      what,
    });
  });
  (resource.volumes ?? []).forEach((v, i) => {
    const target = render(v.container_path, `volumes[${i}].container_path`);
    const source = v.host_path ?? v.volume_name;
    if (!source) {
      throw new Error(`volumes[${i}] at ${target}: needs host_path or volume_name in the sandbox`);
    }
    const key = render(source, `volumes[${i}]`);
    const what = `volumes[${i}] (${v.host_path ? 'host_path' : 'volume'} ${key} at ${target})`;
    mounts.push({ target, kind: 'bind', hostDir: hostDir(key, what), mustExist: false, readOnly: !!v.read_only || readOnlyHost.has(key), what });
  });
  for (const [p, opts] of Object.entries(resource.tmpfs ?? {})) {
    const target = render(p, 'tmpfs');
    const given = render(opts ?? '', `tmpfs[${p}]`);
    mounts.push({
      target,
      kind: 'tmpfs',
      readOnly: false,
      tmpfsOptions: ['noexec', 'nosuid', 'nodev', ...given.split(',').filter((o) => o !== '')].join(','),
      what: `tmpfs at ${target}`,
    });
  }
  for (const m of mounts) {
    if (!path.posix.isAbsolute(m.target) || m.target.split('/').includes('..')) {
      throw new Error(`${m.what}: the container path must be absolute without '..'`);
    }
  }
  // Parents before children, as Docker mounts them.
  mounts.sort((a, b) => depth(a.target) - depth(b.target));

  const readOnlyRoot = !!resource.read_only;
  const uploads = (resource.upload ?? []).map((u, i) => {
    const file = render(u.file, `upload[${i}].file`);
    let data: Buffer;
    if (u.content !== undefined) {
      data = Buffer.from(render(u.content, `upload[${i}].content (${file})`), 'utf8');
    } else if (u.content_base64 !== undefined) {
      data = Buffer.from(render(u.content_base64, `upload[${i}].content_base64`), 'base64');
    } else if (u.source !== undefined) {
      data = fs.readFileSync(render(u.source, `upload[${i}].source`));
    } else {
      throw new Error(`upload[${i}] (${file}) has no content, content_base64 nor source`);
    }
    if (readOnlyRoot) {
      // The provider's copy goes to "/" (resource_docker_container_funcs.go), and Docker checks
      // the root of the copy, not the folder of the file: any volume underneath is no way round.
      throw new Error(
        `Docker would refuse upload[${i}] (${file}): Error response from daemon: container rootfs is marked read-only ` +
          '(the provider copies every upload to "/" of the container, and its root is read_only)',
      );
    }
    // kreuzwerker/docker 3.6 writes uploads with mode `permissions`, else 0744 when
    // executable, else 0644; owned by root.
    if (u.permissions !== undefined && !/^0?[0-7]{3,4}$/.test(u.permissions)) {
      throw new Error(`upload[${i}] (${file}): permissions '${u.permissions}' is not an octal mode`);
    }
    const mode = u.permissions !== undefined ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
    return { file, data, mode };
  });

  const env = new Map<string, string>();
  (resource.env ?? []).forEach((entry, i) => {
    const rendered = render(entry, `env[${i}]`);
    const eq = rendered.indexOf('=');
    if (eq <= 0) {
      throw new Error(`env[${i}] is not KEY=value: ${JSON.stringify(entry)}`);
    }
    env.set(rendered.slice(0, eq), rendered.slice(eq + 1));
  });
  // The sandbox's folder layout is not the image's: busybox applets first, whatever PATH
  // the resource sets. Docker adds HOME (and HOSTNAME) too.
  env.set('PATH', options.path ?? '/bin:/usr/bin');
  if (!env.has('HOME')) {
    env.set('HOME', '/root');
  }
  const hostname = resource.hostname ? render(resource.hostname, 'hostname') : undefined;
  if (options.hostname ?? hostname) {
    env.set('HOSTNAME', (options.hostname ?? hostname)!);
  }
  if (options.plan !== undefined) {
    env.set('BACKUP_PLAN', writePatchedPlan(mounts, options.plan));
  }
  for (const [k, v] of Object.entries(options.env ?? {})) {
    env.set(k, v);
  }

  let capabilities: string[] | undefined;
  let noNewPrivileges = false;
  if (options.applyCapabilities ?? true) {
    const caps = options.capabilities ?? single(resource.capabilities);
    const norm = (c: string) => c.toUpperCase().replace(/^CAP_/, '');
    const drop = (caps?.drop ?? []).map(norm);
    const add = (caps?.add ?? []).map(norm);
    const base = drop.includes('ALL') ? [] : DOCKER_DEFAULT_CAPS.filter((c) => !drop.includes(c));
    capabilities = add.includes('ALL') ? undefined : [...new Set([...base, ...add])];
    noNewPrivileges = (resource.security_opts ?? []).some((o) => /^no-new-privileges(:true)?$/.test(o));
  }

  return {
    argv: containerArgv(resource, options),
    env: [...env].map(([k, v]) => `${k}=${v}`),
    mounts,
    uploads,
    readOnlyRoot,
    workingDir: resource.working_dir ? render(resource.working_dir, 'working_dir') : '/',
    hostname,
    capabilities,
    noNewPrivileges,
    user: resource.user ? render(resource.user, 'user') : undefined,
  };
}

function setupScript(plan: SandboxPlan, rootDir: string, uploadDir: string, options: SidecarSandboxOptions): string {
  const q = shellQuote;
  const R = q(rootDir);
  const lines: string[] = [
    'set -u',
    `fail() { printf 'sidecar-sandbox: %s\\n' "$*" >&2; exit ${SANDBOX_SETUP_FAILED}; }`,
    `mount -t tmpfs -o mode=0755 sidecar-root ${R} || fail 'cannot mount the root tmpfs'`,
    `cd ${R} || fail 'cannot enter the root'`,
    'mkdir -p usr etc dev proc bin tmp root run || fail "cannot create the root folders"',
    'chmod 1777 tmp || fail "cannot chmod /tmp"',
    'for d in usr etc; do',
    `  mount --rbind "/$d" ${R}/"$d" || fail "cannot bind /$d"`,
    `  mount -o remount,bind,ro ${R}/"$d" || fail "cannot make /$d read-only"`,
    'done',
    `mount --rbind /dev ${R}/dev || fail 'cannot bind /dev'`,
    `mount --rbind /proc ${R}/proc || fail 'cannot bind /proc'`,
    `mount -t tmpfs -o mode=0755 sidecar-bin ${R}/bin || fail 'cannot mount /bin'`,
    `/usr/bin/busybox --install -s ${R}/bin || fail 'busybox --install failed'`,
    'ln -s usr/lib lib && ln -s usr/sbin sbin || fail "cannot link lib, sbin"',
    'if [ -d /usr/lib64 ]; then ln -s usr/lib64 lib64 || fail "cannot link lib64"; fi',
  ];
  if ((options.shell ?? 'busybox') === 'dash') {
    lines.push(`ln -sf /usr/bin/dash ${R}/bin/sh || fail 'cannot link /bin/sh to dash'`);
  }
  const hostname = options.hostname ?? plan.hostname;
  if (hostname) {
    lines.push(`hostname ${q(hostname)} || fail 'cannot set the host name'`);
  }
  for (const m of plan.mounts) {
    const target = q(rootDir + m.target);
    const what = q(m.what);
    lines.push(`mkdir -p ${target} || fail 'cannot create the mount point of' ${what}`);
    if (m.kind === 'tmpfs') {
      lines.push(`mount -t tmpfs -o ${q(m.tmpfsOptions ?? 'noexec,nosuid,nodev')} tmpfs ${target} || fail 'cannot mount' ${what}`);
      if (m.readOnly) {
        lines.push(`mount -o remount,ro ${target} || fail 'cannot make read-only' ${what}`);
      }
      continue;
    }
    const dir = q(m.hostDir!);
    if (m.mustExist) {
      lines.push(`[ -d ${dir} ] || fail 'bind source path does not exist:' ${dir} 'for' ${what}`);
    } else {
      lines.push(`mkdir -p ${dir} || fail 'cannot create' ${dir}`);
    }
    lines.push(`mount --bind ${dir} ${target} || fail 'cannot bind' ${what}`);
    if (m.readOnly) {
      lines.push(`mount -o remount,bind,ro ${target} || fail 'cannot make read-only' ${what}`);
    }
  }
  plan.uploads.forEach((u, i) => {
    const dest = q(rootDir + u.file);
    lines.push(
      `mkdir -p "$(dirname ${dest})" || fail 'cannot create the folder of upload' ${q(u.file)}`,
      `cp ${q(path.join(uploadDir, String(i)))} ${dest} || fail 'cannot write upload' ${q(u.file)}`,
      `chmod ${u.mode.toString(8)} ${dest} || fail 'cannot chmod upload' ${q(u.file)}`,
    );
  });
  if (plan.readOnlyRoot) {
    lines.push(`mount -o remount,ro ${R} || fail 'cannot make the root read-only'`);
  }
  const exec = [`exec /usr/sbin/chroot ${R}`];
  const privileges: string[] = [];
  if (plan.capabilities) {
    const caps = ['-all', ...plan.capabilities.map((c) => `+${c.toLowerCase()}`)].join(',');
    privileges.push(`--bounding-set=${caps}`, '--inh-caps=-all');
  }
  if (plan.noNewPrivileges) {
    privileges.push('--no-new-privs');
  }
  if (plan.user) {
    const [uid, gid] = plan.user.split(':');
    privileges.push(`--reuid=${uid}`, `--regid=${gid ?? uid}`, '--clear-groups');
  }
  if (privileges.length > 0) {
    exec.push('/usr/bin/setpriv', ...privileges.map(q));
  }
  // env stops reading options at the first NAME=VALUE: `--` goes before them.
  exec.push('/usr/bin/env', '-i', '-C', q(plan.workingDir), '--', ...plan.env.map(q), ...plan.argv.map(q));
  lines.push(exec.join(' '));
  return lines.join('\n') + '\n';
}

function cleanup(scratch: string): void {
  // Safety first: never rm -rf through a mount that leaked into this namespace.
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const leaked = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p) => p !== undefined && (p === scratch || p.startsWith(scratch + '/')));
  if (leaked.length > 0) {
    throw new Error(`sidecar-sandbox: mounts leaked to the host (${leaked.join(', ')}); not removing ${scratch}`);
  }
  fs.rmSync(scratch, { recursive: true, force: true });
}

/** Waits until no process (zombies included) is left in process group `pgid`. */
async function waitForGroupGone(pgid: number, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = fs.readdirSync('/proc').filter((name) => {
      if (!/^\d+$/.test(name)) {
        return false;
      }
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[2]) === pgid;
      } catch {
        return false; // gone meanwhile
      }
    });
    if (left.length === 0) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`sidecar-sandbox: processes ${left.join(', ')} of the sandbox are still there`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function single<T>(value: T | T[] | undefined): T | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function depth(p: string): number {
  return p.split('/').filter((s) => s !== '').length;
}

/** Quotes a word for sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
