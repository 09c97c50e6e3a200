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
 * to restic through the plan's `targets[i].caCertificateFile` (agent.json, as synthesized).
 */
import * as fs from 'fs';
import { TerraformVariable } from 'cdktf';
import { IStorageTarget, Medium, ProtectedContainer, Retention, Schedule, StorageTarget, Verification } from '../../src';
import { localRepositoryHostPath } from '../../src/targets/local-target';
import { RestServer } from './servers/rest-server';
import { S3Server } from './servers/s3-server';
import { HostResticOptions, restic, ResticResult, Snapshot, snapshotsOf } from './restic';
import { SidecarHarness } from './sidecar-harness';
import { dockerStack, synthJson } from './synth';

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

/** The sidecar in the sandbox (a SidecarHarness), with its targets and restic on the host. */
export interface ProtocolSidecar extends SidecarHarness {
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
  // As cdktf deploy does: the installer runs, and exits, before the sidecar is created.
  const sidecar = SidecarHarness.fromSynth(synthJson(stack), name, {
    workDirPrefix: `protocol-sidecar-${name}-`,
    terraformValues: { 'var.restic_password': REPOSITORY_PASSWORD, ...terraformSecrets },
    defaults: { timeoutMs: 110000 },
  });
  const localDir = sidecar.hostDirs[localRepositoryHostPath(`/mnt/backup-disk/${name}`)];
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
