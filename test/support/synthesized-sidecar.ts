/**
 * The sidecar as the library synthesizes it: a ProtectedContainer is built in a fresh stack,
 * `cdk.tf.json` is synthesized, and its `<name>-backup` docker_container resource is what the
 * sandbox runs (test/support/sidecar-sandbox.ts), with host folders behind every volume and
 * the Terraform values (password, webhook URL, secrets) a `terraform apply` would supply.
 *
 * As `cdktf deploy` does, the one-shot installer `<name>-backup-install` runs first (when the
 * helper is called): its uploads land in its own writable root and it moves the agent and the
 * secrets onto the install volume (`installDir`), which the sidecar mounts read-only at
 * /backup/install. The sidecar itself has no upload: Docker refuses any copy into its
 * read-only root. `install()` runs the installer again (a re-deploy).
 *
 * Host faults the library cannot express are the caller's: `{ name, readOnly: true }` makes a
 * local target's host folder read-only (a NAS export gone read-only), and `env` adds to or
 * replaces entries of the sidecar's environment at every run (the sandbox's `env` hook).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, TerraformVariable } from 'cdktf';
import { BackupOptions, IStorageTarget, ProtectedContainer, StorageTarget } from '../../src';
import { DockerContainerResource, SidecarResult, SidecarSandboxOptions, installAgentSync } from './sidecar-sandbox';
import { dockerNameReferences, dockerStack, resources, synthJson } from './synth';
import { TEST_PASSWORD } from './test-values';

/** A local target at host path /srv/backup/<container>/<name>, optionally on a read-only host folder. */
export interface LocalTargetSpec {
  readonly name: string;
  /** The host folder is read-only: every write to the repository fails with EROFS. @default false */
  readonly readOnly?: boolean;
}

export interface SynthesizedSidecarOptions {
  /** The protected container's name. @default 'db' */
  readonly containerName?: string;
  /** Its data volumes. @default ['appdata'] */
  readonly volumes?: string[];
  /**
   * The targets in order: a name (a local target at /srv/backup/<container>/<name>), a local
   * target spec, or any storage target (e.g. StorageTarget.restServer(...)).
   * @default ['local']
   */
  readonly targets?: Array<string | LocalTargetSpec | IStorageTarget>;
  /** Everything else of `backup` (schedule, retention, quiesce, verification, ...). */
  readonly backup?: Partial<BackupOptions>;
  /** A failure webhook: the URL the sensitive variable `notify_url` resolves to at apply. */
  readonly notifyUrl?: string;
  /** Environment entries added to or replacing the sidecar's at every run (test hooks). */
  readonly env?: Record<string, string>;
}

export interface SynthesizedSidecar {
  /** `resource.docker_container.<id>` of the sidecar, from cdk.tf.json. */
  readonly resource: DockerContainerResource;
  /** `resource.docker_container.<id>` of the one-shot installer, from cdk.tf.json. */
  readonly installer: DockerContainerResource;
  /** The whole cdk.tf.json. */
  readonly json: any;
  readonly hostDirs: Record<string, string>;
  readonly terraformValues: Record<string, string>;
  /** Host folder of each data volume, by volume name. */
  readonly sourceDirs: Record<string, string>;
  /** Host folder of each local target, by target name. */
  readonly targetDirs: Record<string, string>;
  /** Host folder of the agent's state volume (/backup/agent in the sidecar). */
  readonly stateDir: string;
  /** Host folder of the install volume (/backup/install in the sidecar: bin/, secrets/). */
  readonly installDir: string;
  readonly workDir: string;
  /** The environment as synthesized, KEY → value (Terraform escapes undone). */
  readonly env: Record<string, string>;
  /** Sandbox options for the sidecar; `extra.env` is added to `options.env`. */
  sandbox(extra?: Partial<SidecarSandboxOptions>): SidecarSandboxOptions;
  /**
   * Runs the installer again, as a re-deploy does, with `terraformValues` added to (or
   * replacing) the stack's (e.g. another repository password); throws when it fails.
   */
  install(terraformValues?: Record<string, string>): SidecarResult;
  cleanup(): void;
}

/**
 * The `<name>-backup` sidecar and its one-shot installer `<name>-backup-install`, taken out of
 * a synthesized cdk.tf.json; throws when either is missing.
 */
export function sidecarContainers(json: any, name: string): { resource: DockerContainerResource; installer: DockerContainerResource } {
  const container = (n: string) => {
    const found = resources(json, 'docker_container').find((c) => c.name === n);
    if (!found) {
      throw new Error(`no ${n} container in the synthesized stack`);
    }
    return found as DockerContainerResource;
  };
  return { resource: container(`${name}-backup`), installer: container(`${name}-backup-install`) };
}

/**
 * The host folders behind the `<name>-backup` sidecar's state and install volumes, below
 * `<workDir>/volumes` (not made here), and `hostDirs` with those two entries by volume name.
 */
export function sidecarVolumeDirs(workDir: string, name: string): { stateDir: string; installDir: string; hostDirs: Record<string, string> } {
  const stateDir = path.join(workDir, 'volumes', `${name}-backup-state`);
  const installDir = path.join(workDir, 'volumes', `${name}-backup-install`);
  return { stateDir, installDir, hostDirs: { [`${name}-backup-state`]: stateDir, [`${name}-backup-install`]: installDir } };
}

/**
 * Runs the installer once, as `cdktf deploy` does before it creates the sidecar, and returns
 * `install`, which runs it again (a re-deploy) with values added to (or replacing)
 * `terraformValues`. When the first run fails, `workDir` is removed and the error thrown.
 */
export function installFirst(
  installer: DockerContainerResource,
  setup: { hostDirs: Record<string, string>; terraformValues: Record<string, string>; workDir: string },
): (values?: Record<string, string>) => SidecarResult {
  const { hostDirs, terraformValues, workDir } = setup;
  const install = (values: Record<string, string> = {}) =>
    installAgentSync(installer, { hostDirs, terraformValues: { ...terraformValues, ...values }, timeoutMs: 30000 });
  try {
    install();
  } catch (err) {
    fs.rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  return install;
}

function isStorageTarget(t: string | LocalTargetSpec | IStorageTarget): t is IStorageTarget {
  return typeof t === 'object' && typeof (t as IStorageTarget).bind === 'function';
}

export function synthesizedSidecar(options: SynthesizedSidecarOptions = {}): SynthesizedSidecar {
  const name = options.containerName ?? 'db';
  const volumes = options.volumes ?? ['appdata'];
  const specs = options.targets ?? ['local'];
  const local = specs
    .filter((t): t is string | LocalTargetSpec => !isStorageTarget(t))
    .map((t) => (typeof t === 'string' ? { name: t } : t));
  const stack: TerraformStack = dockerStack(`${name}-host`);
  const notify = options.notifyUrl !== undefined
    ? { notifyUrl: new TerraformVariable(stack, 'notify_url', { type: 'string', sensitive: true }).stringValue }
    : {};
  new ProtectedContainer(stack, name, {
    image: 'postgres:16',
    volumes: volumes.map((v) => ({ name: v, containerPath: `/data/${v}` })),
    backup: {
      targets: specs.map((t) =>
        isStorageTarget(t) ? t : StorageTarget.localPath({ hostPath: `/srv/backup/${name}/${typeof t === 'string' ? t : t.name}`, name: typeof t === 'string' ? t : t.name }),
      ),
      ...options.backup,
      ...notify,
    },
  });
  const json = synthJson(stack);
  const { resource, installer } = sidecarContainers(json, name);
  const terraformValues: Record<string, string> = {
    ...dockerNameReferences(json),
    'var.restic_password': TEST_PASSWORD,
    ...(options.notifyUrl !== undefined ? { 'var.notify_url': options.notifyUrl } : {}),
  };

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-sidecar-'));
  const { stateDir, installDir, hostDirs } = sidecarVolumeDirs(workDir, name);
  const sourceDirs: Record<string, string> = {};
  const targetDirs: Record<string, string> = {};
  const readOnlyHostDirs: string[] = [];
  for (const v of volumes) {
    sourceDirs[v] = path.join(workDir, 'volumes', v);
    fs.mkdirSync(sourceDirs[v], { recursive: true });
    hostDirs[v] = sourceDirs[v];
  }
  for (const t of local) {
    const hostPath = `/srv/backup/${name}/${t.name}`;
    targetDirs[t.name] = path.join(workDir, 'targets', t.name);
    fs.mkdirSync(targetDirs[t.name], { recursive: true });
    hostDirs[hostPath] = targetDirs[t.name];
    if (t.readOnly) {
      readOnlyHostDirs.push(hostPath);
    }
  }
  const env = Object.fromEntries(
    (resource.env as string[]).map((e) => {
      const eq = e.indexOf('=');
      return [e.slice(0, eq), e.slice(eq + 1).replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')];
    }),
  );
  const install = installFirst(installer, { hostDirs, terraformValues, workDir });
  return {
    resource,
    installer,
    json,
    hostDirs,
    terraformValues,
    sourceDirs,
    targetDirs,
    stateDir,
    installDir,
    workDir,
    env,
    sandbox: (extra = {}) => ({
      hostDirs,
      terraformValues,
      readOnlyHostDirs,
      timeoutMs: 100000,
      ...extra,
      env: { ...(options.env ?? {}), ...(extra.env ?? {}) },
    }),
    install,
    cleanup: () => fs.rmSync(workDir, { recursive: true, force: true }),
  };
}
