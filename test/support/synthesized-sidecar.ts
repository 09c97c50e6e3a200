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
import * as path from 'path';
import { TerraformStack, TerraformVariable } from 'cdktf';
import { BackupOptions, ContainerVolume, IStorageTarget, ProtectedContainer, StorageTarget } from '../../src';
import { localRepositoryHostPath } from '../../src/targets/local-target';
import { SidecarHarness } from './sidecar-harness';
import { PlanPatch } from './sidecar-sandbox';
import { terraformUnescape } from './terraform-string';
import { dockerStack, synthJson } from './synth';
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
  /**
   * Its data volumes, each mounted at /data/<name>: a name, or a volume with its options
   * (e.g. `{ name: 'spool', allowEmpty: true }`).
   * @default ['appdata']
   */
  readonly volumes?: Array<string | Omit<ContainerVolume, 'containerPath'>>;
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
  /** A change to the agent's plan at every run (faults the library cannot express). */
  readonly plan?: PlanPatch;
}

/**
 * The sidecar in the sandbox (a SidecarHarness: resource, installer, plan, stateDir,
 * installDir, hostDirs, sandbox/run/start/install/status/cleanup), with its host folders by role.
 */
export interface SynthesizedSidecar extends SidecarHarness {
  /** Host folder of each data volume, by volume name. */
  readonly sourceDirs: Record<string, string>;
  /** Host folder of each local target's repository (`<target folder>/repository`), by target name. */
  readonly targetDirs: Record<string, string>;
  /** The environment as synthesized, KEY → value (Terraform escapes undone). */
  readonly env: Record<string, string>;
}

function isStorageTarget(t: string | LocalTargetSpec | IStorageTarget): t is IStorageTarget {
  return typeof t === 'object' && typeof (t as IStorageTarget).bind === 'function';
}

export function synthesizedSidecar(options: SynthesizedSidecarOptions = {}): SynthesizedSidecar {
  const name = options.containerName ?? 'db';
  const declared = (options.volumes ?? ['appdata']).map((v) => (typeof v === 'string' ? { name: v } : v));
  const volumes = declared.map((v) => v.name);
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
    volumes: declared.map((v) => ({ ...v, containerPath: `/data/${v.name}` })),
    backup: {
      targets: specs.map((t) =>
        isStorageTarget(t) ? t : StorageTarget.localPath({ hostPath: `/srv/backup/${name}/${typeof t === 'string' ? t : t.name}`, name: typeof t === 'string' ? t : t.name }),
      ),
      ...options.backup,
      ...notify,
    },
  });
  const sidecar = SidecarHarness.fromSynth(synthJson(stack), name, {
    workDirPrefix: 'synth-sidecar-',
    terraformValues: {
      'var.restic_password': TEST_PASSWORD,
      ...(options.notifyUrl !== undefined ? { 'var.notify_url': options.notifyUrl } : {}),
    },
    // The repository folder goes read-only (the installer's folder above it stays writable).
    readOnlyHostDirs: local.filter((t) => t.readOnly).map((t) => localRepositoryHostPath(`/srv/backup/${name}/${t.name}`)),
    defaults: { env: options.env, plan: options.plan },
  });
  const env = Object.fromEntries(
    (sidecar.resource.env ?? []).map((e) => {
      const eq = e.indexOf('=');
      return [e.slice(0, eq), terraformUnescape(e.slice(eq + 1))];
    }),
  );
  return Object.assign(sidecar, {
    sourceDirs: Object.fromEntries(volumes.map((v) => [v, sidecar.hostDirs[v]])),
    targetDirs: Object.fromEntries(local.map((t) => [t.name, sidecar.hostDirs[localRepositoryHostPath(`/srv/backup/${name}/${t.name}`)]])),
    env,
  });
}

/** What a describe block gets from {@link sidecarBesideServer}: set in its beforeAll. */
export interface SidecarBesideServer<S> {
  server: S;
  sidecar: SynthesizedSidecar;
}

/**
 * A synthesized sidecar beside a test server (a black hole, a webhook, a fake Docker API),
 * for one describe block: the server is started and the sidecar synthesized with `options`
 * in its beforeAll, with `files` written into the `appdata` source volume; both are stopped
 * and removed in its afterAll.
 */
export function sidecarBesideServer<S extends { close(): Promise<void> }>(
  start: () => Promise<S>,
  options: (server: S) => SynthesizedSidecarOptions,
  files: Record<string, string>,
): SidecarBesideServer<S> {
  const beside = {} as SidecarBesideServer<S>;
  beforeAll(async () => {
    beside.server = await start();
    beside.sidecar = synthesizedSidecar(options(beside.server));
    for (const [file, content] of Object.entries(files)) {
      fs.writeFileSync(path.join(beside.sidecar.sourceDirs.appdata, file), content);
    }
  });
  afterAll(async () => {
    await beside.server?.close();
    beside.sidecar?.cleanup();
  });
  return beside;
}
