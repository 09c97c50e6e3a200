/**
 * A sidecar synthesized by the library for one protected container whose backups go to a
 * local folder and/or a real S3 endpoint (s3rver) and/or a real REST server (rclone), with
 * the host folders behind its volumes, the values Terraform would substitute, and restic on
 * the host to inspect each repository. The `docker_container` resource is taken out of
 * cdk.tf.json and run by the sidecar sandbox, as the e2e acceptance test does; its one-shot
 * installer (`<name>-backup-install`) runs first, when the helper is called, and fills the
 * install volume the sidecar mounts read-only (the agent and its secrets).
 *
 * The test servers' self-signed certificates travel as a user's private CA would: as the
 * targets' `caCertificate` (PEM text), uploaded to the installer with the secrets and handed
 * to restic through `BACKUP_TARGET_<i>_CACERT` by the synthesized environment.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformVariable } from 'cdktf';
import { IStorageTarget, Medium, ProtectedContainer, Retention, Schedule, StorageTarget, Verification } from '../../src';
import { RestServer } from './rest-server';
import { S3Server } from './s3-server';
import { DockerContainerResource, RunningSidecar, SidecarResult, SidecarSandboxOptions, runSidecar, startSidecar } from './sidecar-sandbox';
import { dockerNameReferences, dockerStack, synthJson } from './synth';
import { installFirst, sidecarContainers, sidecarVolumeDirs } from './synthesized-sidecar';

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

export interface ProtocolSidecar {
  readonly resource: DockerContainerResource;
  /** The one-shot installer that ran before the sidecar. */
  readonly installer: DockerContainerResource;
  /** Target names in order (`BACKUP_TARGET_1` first). */
  readonly targets: string[];
  /** Host folder of the protected volume, mounted read-only at `/backup/sources/<volume>`. */
  readonly sourceDir: string;
  /** The volume's path inside the sidecar. */
  readonly sourcePath: string;
  /** Host folder of the agent's state volume (`/backup/agent`). */
  readonly stateDir: string;
  /** Host folder of the install volume (`/backup/install`, read-only in the sidecar). */
  readonly installDir: string;
  /** Host folder of the local target's repository. */
  readonly localDir: string;
  /** Everything above lives below this folder. */
  readonly workDir: string;
  /**
   * Sandbox options (host folders, Terraform values) plus `extra`, whose
   * `env` and `terraformValues` entries are added to (or replace) the sidecar's.
   */
  sandbox(extra?: Partial<SidecarSandboxOptions>): SidecarSandboxOptions;
  /**
   * Runs the installer again, as a re-deploy does, with `terraformValues` added to (or
   * replacing) the stack's (e.g. another repository password); throws when it fails.
   */
  install(terraformValues?: Record<string, string>): SidecarResult;
  /** Runs the sidecar with `command` instead of `daemon`. */
  run(command: string[], extra?: Partial<SidecarSandboxOptions>): Promise<SidecarResult>;
  /** Starts the sidecar with `command`, to kill it midway. */
  start(command: string[], extra?: Partial<SidecarSandboxOptions>): RunningSidecar;
  /** status.json, parsed. */
  status(): any;
  /** restic on the host against a target's repository. */
  restic(target: string, args: string[], password?: string): { code: number; stdout: string; stderr: string };
  /** The target's snapshots (throws when they cannot be listed). */
  snapshots(target: string): Array<{ id: string; short_id: string; hostname: string; tags?: string[]; paths: string[] }>;
  cleanup(): void;
}

/** Synthesizes the stack and prepares the host folders; see the module comment. */
export function protocolSidecar(options: ProtocolSidecarOptions): ProtocolSidecar {
  const name = options.containerName ?? 'app';
  const volume = `${name}-data`;
  const stack = dockerStack(`${name}-host`);
  const secret = (id: string) => new TerraformVariable(stack, id, { type: 'string', sensitive: true }).stringValue;
  const targets: IStorageTarget[] = [];
  const names: string[] = [];
  const terraformSecrets: Record<string, string> = {};
  if (options.local ?? true) {
    targets.push(StorageTarget.localPath({ hostPath: `/mnt/backup-disk/${name}`, medium: Medium.DISK, name: 'local' }));
    names.push('local');
  }
  if (options.s3) {
    targets.push(
      StorageTarget.s3Compatible({
        endpoint: options.s3.endpoint,
        bucket: options.s3.bucket,
        accessKeyId: options.s3.accessKeyId,
        secretAccessKey: secret('s3_secret_key'),
        caCertificate: fs.readFileSync(options.s3.caCertPath, 'utf8'),
        name: 's3',
      }),
    );
    names.push('s3');
    terraformSecrets['var.s3_secret_key'] = options.s3.secretAccessKey;
  }
  if (options.rest) {
    const auth = options.rest.username !== undefined;
    targets.push(
      StorageTarget.restServer({
        url: options.rest.url,
        name: 'rest',
        appendOnly: options.rest.appendOnly,
        ...(options.rest.caCertPath ? { caCertificate: fs.readFileSync(options.rest.caCertPath, 'utf8') } : {}),
        ...(auth ? { username: options.rest.username, password: secret('rest_password') } : {}),
      }),
    );
    names.push('rest');
    if (auth) {
      terraformSecrets['var.rest_password'] = options.rest.password!;
    }
  }
  new ProtectedContainer(stack, name, {
    image: 'busybox:1.36',
    volumes: [{ name: volume, containerPath: '/data' }],
    backup: {
      schedule: Schedule.daily({ hour: 2 }),
      // Keeps every snapshot the tests make: they count them.
      retention: Retention.keepLast(100),
      verification: Verification.structureOnly(),
      targets,
      ...(options.networkTimeoutSeconds !== undefined ? { networkTimeoutSeconds: options.networkTimeoutSeconds } : {}),
    },
  });
  const json = synthJson(stack);
  const { resource, installer } = sidecarContainers(json, name);
  const terraformValues = { ...dockerNameReferences(json), 'var.restic_password': REPOSITORY_PASSWORD, ...terraformSecrets };

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `protocol-sidecar-${name}-`));
  const sourceDir = path.join(workDir, 'volumes', volume);
  const volumeDirs = sidecarVolumeDirs(workDir, name);
  const { stateDir, installDir } = volumeDirs;
  const localDir = path.join(workDir, 'backup-disk');
  fs.mkdirSync(sourceDir, { recursive: true });
  fs.mkdirSync(localDir, { recursive: true });
  const hostDirs: Record<string, string> = {
    [volume]: sourceDir,
    ...volumeDirs.hostDirs,
    [`/mnt/backup-disk/${name}`]: localDir,
  };

  const sandbox = (extra: Partial<SidecarSandboxOptions> = {}): SidecarSandboxOptions => ({
    hostDirs,
    timeoutMs: 110000,
    ...extra,
    terraformValues: { ...terraformValues, ...(extra.terraformValues ?? {}) },
    env: { ...(extra.env ?? {}) },
  });

  // As cdktf deploy does: the installer runs, and exits, before the sidecar is created.
  const install = installFirst(installer, { hostDirs, terraformValues, workDir });

  const hostRestic = (target: string, args: string[], password = REPOSITORY_PASSWORD) => {
    const base = ['--no-cache'];
    const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', RESTIC_PASSWORD: password };
    let repository: string;
    if (target === 'local') {
      repository = localDir;
    } else if (target === 's3' && options.s3) {
      repository = options.s3.repository(name);
      base.push('--cacert', options.s3.caCertPath);
      Object.assign(childEnv, options.s3.resticEnv());
    } else if (target === 'rest' && options.rest) {
      repository = options.rest.repository(name);
      if (options.rest.caCertPath) {
        base.push('--cacert', options.rest.caCertPath);
      }
    } else {
      throw new Error(`no target ${target}`);
    }
    const r = spawnSync('restic', ['-r', repository, ...base, ...args], { encoding: 'utf8', env: childEnv, maxBuffer: 64 * 1024 * 1024, timeout: 120000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  return {
    resource,
    installer,
    targets: names,
    sourceDir,
    sourcePath: `/backup/sources/${volume}`,
    stateDir,
    installDir,
    localDir,
    workDir,
    sandbox,
    install,
    run: (command, extra = {}) => runSidecar(resource, sandbox({ command, ...extra })),
    start: (command, extra = {}) => startSidecar(resource, sandbox({ command, ...extra })),
    status: () => JSON.parse(fs.readFileSync(path.join(stateDir, 'status.json'), 'utf8')),
    restic: hostRestic,
    snapshots(target) {
      const r = hostRestic(target, ['snapshots', '--json']);
      if (r.code !== 0) {
        throw new Error(`restic snapshots on ${target} failed (${r.code}): ${r.stderr}`);
      }
      return JSON.parse(r.stdout);
    },
    cleanup: () => fs.rmSync(workDir, { recursive: true, force: true }),
  };
}
