/**
 * The stacks the agent tests synthesize, each handed to the one way to run a sidecar
 * (SidecarHarness.fromSynth, sidecar-harness.ts): `synthesizedSidecar` (a protected container
 * backed up to local folders or any targets) and `protocolSidecar` (local, S3 and REST
 * targets on real servers, with restic on the host to inspect them).
 *
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
import { TerraformStack } from 'cdktf';
import { BackupOptions, ContainerVolume, IStorageTarget, Medium, ProtectedContainer, Retention, Schedule, StorageTarget, Verification } from '../../src';
import { localRepositoryHostPath } from '../../src/targets/local-target';
import { HostResticOptions, restic, ResticResult, Snapshot, snapshotsOf } from './restic';
import { RestServer } from './servers/rest-server';
import { S3Server } from './servers/s3-server';
import { SidecarHarness, SidecarHarnessOptions } from './sidecar-harness';
import { PlanPatch } from './sidecar-sandbox';
import { dockerStack, sensitiveVariable, synthJson } from './synth';
import { terraformUnescape } from './terraform-string';
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
  /** The protected container's image. @default 'postgres:16' */
  readonly image?: string;
  /**
   * Its data volumes, each mounted at /data/<name> unless it says where: a name, or a volume
   * with its options (e.g. `{ name: 'spool', allowEmpty: true }`).
   * @default ['appdata']
   */
  readonly volumes?: Array<string | (Omit<ContainerVolume, 'containerPath'> & { readonly containerPath?: string })>;
  /**
   * The targets in order: a name (a local target at /srv/backup/<container>/<name>), a local
   * target spec, or any storage target (e.g. StorageTarget.restServer(...)); or a function of
   * the stack that returns them (targets whose secrets are variables of the stack).
   * @default ['local']
   */
  readonly targets?: TargetSpec[] | ((stack: TerraformStack) => TargetSpec[]);
  /** Everything else of `backup` (schedule, retention, quiesce, verification, ...). */
  readonly backup?: Partial<BackupOptions>;
  /** A failure webhook: the URL the sensitive variable `notify_url` resolves to at apply. */
  readonly notifyUrl?: string;
  /** Environment entries added to or replacing the sidecar's at every run (test hooks). */
  readonly env?: Record<string, string>;
  /** A change to the agent's plan at every run (faults the library cannot express). */
  readonly plan?: PlanPatch;
  /** The repository password `var.restic_password` resolves to at apply. @default TEST_PASSWORD */
  readonly password?: string;
  /** Values of the stack's other variables (e.g. `var.s3_secret_key`), as `terraform apply` gets them. */
  readonly terraformValues?: Record<string, string>;
  /** Bound of each run in the sandbox. @default the harness's (100 s) */
  readonly timeoutMs?: number;
  /** Prefix of the work folder's name. @default 'synth-sidecar-' */
  readonly workDirPrefix?: string;
}

/** A target of {@link SynthesizedSidecarOptions.targets}. */
export type TargetSpec = string | LocalTargetSpec | IStorageTarget;

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

function isStorageTarget(t: TargetSpec): t is IStorageTarget {
  return typeof t === 'object' && typeof (t as IStorageTarget).bind === 'function';
}

export function synthesizedSidecar(options: SynthesizedSidecarOptions = {}): SynthesizedSidecar {
  const name = options.containerName ?? 'db';
  const declared = (options.volumes ?? ['appdata']).map((v) => (typeof v === 'string' ? { name: v } : v));
  const volumes = declared.map((v) => v.name);
  const stack: TerraformStack = dockerStack(`${name}-host`);
  const specs = typeof options.targets === 'function' ? options.targets(stack) : options.targets ?? ['local'];
  const local = specs
    .filter((t): t is string | LocalTargetSpec => !isStorageTarget(t))
    .map((t) => (typeof t === 'string' ? { name: t } : t));
  const notify = options.notifyUrl !== undefined ? { notifyUrl: sensitiveVariable(stack, 'notify_url') } : {};
  new ProtectedContainer(stack, name, {
    image: options.image ?? 'postgres:16',
    volumes: declared.map((v) => ({ ...v, containerPath: v.containerPath ?? `/data/${v.name}` })),
    backup: {
      targets: specs.map((t) =>
        isStorageTarget(t) ? t : StorageTarget.localPath({ hostPath: `/srv/backup/${name}/${typeof t === 'string' ? t : t.name}`, name: typeof t === 'string' ? t : t.name }),
      ),
      ...options.backup,
      ...notify,
    },
  });
  const defaults: SidecarHarnessOptions['defaults'] = {
    env: options.env,
    plan: options.plan,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  const sidecar = SidecarHarness.fromSynth(synthJson(stack), name, {
    workDirPrefix: options.workDirPrefix ?? 'synth-sidecar-',
    terraformValues: {
      'var.restic_password': options.password ?? TEST_PASSWORD,
      ...(options.notifyUrl !== undefined ? { 'var.notify_url': options.notifyUrl } : {}),
      ...options.terraformValues,
    },
    // The repository folder goes read-only (the installer's folder above it stays writable).
    readOnlyHostDirs: local.filter((t) => t.readOnly).map((t) => localRepositoryHostPath(`/srv/backup/${name}/${t.name}`)),
    defaults,
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

/** The repository password of {@link protocolSidecar}'s stack, as TF_VAR_restic_password supplies it. */
export const REPOSITORY_PASSWORD = 'the repository password, as TF_VAR_restic_password supplies it';

export interface ProtocolSidecarOptions {
  /** Container name: the restic host, the S3 prefix and the REST repository path. @default 'app' */
  readonly containerName?: string;
  /** A local-path target named `local`. @default true */
  readonly local?: boolean;
  /** An S3-compatible target named `s3` on this server. */
  readonly s3?: S3Server;
  /** A REST target named `rest` on this server (with its credentials, if any). */
  readonly rest?: RestServer;
  /** The construct's networkTimeoutSeconds. @default the library's default */
  readonly networkTimeoutSeconds?: number;
}

/** The sidecar of {@link protocolSidecar}, with its targets and restic on the host. */
export interface ProtocolSidecar extends SynthesizedSidecar {
  /** Target names in order (the plan's `targets[0]` first). */
  readonly targets: string[];
  /** Host folder of the protected volume, mounted read-only at `/backup/sources/<volume>`. */
  readonly sourceDir: string;
  /** The volume's path inside the sidecar. */
  readonly sourcePath: string;
  /** Host folder of the local target's repository. */
  readonly localDir: string;
  /** restic on the host against a target's repository. */
  restic(target: string, args: string[], password?: string): ResticResult;
  /** The target's snapshots (throws when they cannot be listed). */
  snapshots(target: string): Snapshot[];
}

/**
 * A sidecar (a {@link synthesizedSidecar}: container `app`, image busybox, volume `<name>-data`
 * at /data, daily schedule, every snapshot kept, structure-only verification) whose backups go
 * to a local folder and/or a real S3 endpoint (s3rver) and/or a real REST server (rclone).
 *
 * The test servers' self-signed certificates travel as a user's private CA would: as the
 * targets' `caCertificate` (PEM text), uploaded to the installer with the secrets and handed
 * to restic through the plan's `targets[i].caCertificateFile` (agent.json, as synthesized).
 */
export function protocolSidecar(options: ProtocolSidecarOptions): ProtocolSidecar {
  const name = options.containerName ?? 'app';
  const volume = `${name}-data`;
  const localHostPath = `/mnt/backup-disk/${name}`;
  const names: string[] = [];
  const terraformValues: Record<string, string> = {};
  const targets = (stack: TerraformStack): IStorageTarget[] => {
    const list: IStorageTarget[] = [];
    if (options.local ?? true) {
      list.push(StorageTarget.localPath({ hostPath: localHostPath, medium: Medium.DISK, name: 'local' }));
      names.push('local');
    }
    if (options.s3) {
      list.push(
        StorageTarget.s3Compatible({
          endpoint: options.s3.endpoint,
          bucket: options.s3.bucket,
          accessKeyId: options.s3.accessKeyId,
          secretAccessKey: sensitiveVariable(stack, 's3_secret_key'),
          caCertificate: fs.readFileSync(options.s3.caCertPath, 'utf8'),
          name: 's3',
        }),
      );
      names.push('s3');
      terraformValues['var.s3_secret_key'] = options.s3.secretAccessKey;
    }
    if (options.rest) {
      const auth = options.rest.username !== undefined;
      list.push(
        StorageTarget.restServer({
          url: options.rest.url,
          name: 'rest',
          appendOnly: options.rest.appendOnly,
          ...(options.rest.caCertPath ? { caCertificate: fs.readFileSync(options.rest.caCertPath, 'utf8') } : {}),
          ...(auth ? { username: options.rest.username, password: sensitiveVariable(stack, 'rest_password') } : {}),
        }),
      );
      names.push('rest');
      if (auth) {
        terraformValues['var.rest_password'] = options.rest.password!;
      }
    }
    return list;
  };
  const sidecar = synthesizedSidecar({
    containerName: name,
    image: 'busybox:1.36',
    volumes: [{ name: volume, containerPath: '/data' }],
    targets,
    backup: {
      schedule: Schedule.daily({ hour: 2 }),
      // Keeps every snapshot the tests make: they count them.
      retention: Retention.keepLast(100),
      verification: Verification.structureOnly(),
      ...(options.networkTimeoutSeconds !== undefined ? { networkTimeoutSeconds: options.networkTimeoutSeconds } : {}),
    },
    password: REPOSITORY_PASSWORD,
    // Filled by `targets` while the stack is built, read when the harness is made.
    terraformValues,
    timeoutMs: 110000,
    workDirPrefix: `protocol-sidecar-${name}-`,
  });
  const localDir = sidecar.hostDirs[localRepositoryHostPath(localHostPath)];
  const repositoryOf = (target: string, password = REPOSITORY_PASSWORD): [string, HostResticOptions] => {
    if (target === 'local') {
      return [localDir, { password }];
    } else if (target === 's3' && options.s3) {
      return [options.s3.repository(name), { password, cacert: options.s3.caCertPath, env: options.s3.resticEnv() }];
    } else if (target === 'rest' && options.rest) {
      return [options.rest.repository(name), { password, cacert: options.rest.caCertPath }];
    }
    throw new Error(`no target ${target}`);
  };
  return Object.assign(sidecar, {
    targets: names,
    sourceDir: sidecar.hostDirs[volume],
    sourcePath: `/backup/sources/${volume}`,
    localDir,
    restic: (target: string, args: string[], password?: string) => {
      const [repository, resticOptions] = repositoryOf(target, password);
      return restic(repository, args, resticOptions);
    },
    snapshots: (target: string) => snapshotsOf(...repositoryOf(target)),
  });
}
