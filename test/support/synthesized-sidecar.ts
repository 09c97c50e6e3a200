/**
 * The sidecar as the library synthesizes it: a ProtectedContainer is built in a fresh stack,
 * `cdk.tf.json` is synthesized, and its `db-backup` docker_container resource is what the
 * sandbox runs (test/support/sidecar-sandbox.ts), with host folders behind every volume and
 * the Terraform values (password, webhook URL) a `terraform apply` would supply. The same
 * shape as the hand-built fixture, so agent tests can switch to the artifact users deploy.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, TerraformVariable } from 'cdktf';
import { BackupOptions, ProtectedContainer, StorageTarget } from '../../src';
import { TEST_PASSWORD } from './hand-built-sidecar-fixture';
import { DockerContainerResource, SidecarSandboxOptions } from './sidecar-sandbox';
import { dockerNameReferences, dockerStack, resources, synthJson } from './synth';

export interface SynthesizedSidecarOptions {
  /** The protected container's name. @default 'db' */
  readonly containerName?: string;
  /** Its data volumes. @default ['appdata'] */
  readonly volumes?: string[];
  /** Local targets, by name; each at host path /srv/backup/<container>/<name>. @default ['local'] */
  readonly targets?: string[];
  /** Everything else of `backup` (schedule, retention, quiesce, verification, ...). */
  readonly backup?: Partial<BackupOptions>;
  /** A failure webhook: the URL the sensitive variable `notify_url` resolves to at apply. */
  readonly notifyUrl?: string;
}

export interface SynthesizedSidecar {
  /** `resource.docker_container.<id>` of the sidecar, from cdk.tf.json. */
  readonly resource: DockerContainerResource;
  /** The whole cdk.tf.json. */
  readonly json: any;
  readonly hostDirs: Record<string, string>;
  readonly terraformValues: Record<string, string>;
  /** Host folder of each data volume, by volume name. */
  readonly sourceDirs: Record<string, string>;
  /** Host folder of each local target, by target name. */
  readonly targetDirs: Record<string, string>;
  /** Host folder of the agent's state volume. */
  readonly stateDir: string;
  readonly workDir: string;
  /** The environment as synthesized, KEY → value (Terraform escapes undone). */
  readonly env: Record<string, string>;
  sandbox(extra?: Partial<SidecarSandboxOptions>): SidecarSandboxOptions;
  cleanup(): void;
}

export function synthesizedSidecar(options: SynthesizedSidecarOptions = {}): SynthesizedSidecar {
  const name = options.containerName ?? 'db';
  const volumes = options.volumes ?? ['appdata'];
  const targetNames = options.targets ?? ['local'];
  const stack: TerraformStack = dockerStack(`${name}-host`);
  const notify = options.notifyUrl !== undefined
    ? { notifyUrl: new TerraformVariable(stack, 'notify_url', { type: 'string', sensitive: true }).stringValue }
    : {};
  new ProtectedContainer(stack, name, {
    image: 'postgres:16',
    volumes: volumes.map((v) => ({ name: v, containerPath: `/data/${v}` })),
    backup: {
      targets: targetNames.map((t) => StorageTarget.localPath({ hostPath: `/srv/backup/${name}/${t}`, name: t })),
      ...options.backup,
      ...notify,
    },
  });
  const json = synthJson(stack);
  const resource = resources(json, 'docker_container').find((c) => c.name === `${name}-backup`);
  if (!resource) {
    throw new Error(`no ${name}-backup container in the synthesized stack`);
  }
  const terraformValues: Record<string, string> = {
    ...dockerNameReferences(json),
    'var.restic_password': TEST_PASSWORD,
    ...(options.notifyUrl !== undefined ? { 'var.notify_url': options.notifyUrl } : {}),
  };

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-sidecar-'));
  const hostDirs: Record<string, string> = {};
  const sourceDirs: Record<string, string> = {};
  const targetDirs: Record<string, string> = {};
  const stateDir = path.join(workDir, 'volumes', `${name}-backup-state`);
  hostDirs[`${name}-backup-state`] = stateDir;
  for (const v of volumes) {
    sourceDirs[v] = path.join(workDir, 'volumes', v);
    fs.mkdirSync(sourceDirs[v], { recursive: true });
    hostDirs[v] = sourceDirs[v];
  }
  for (const t of targetNames) {
    targetDirs[t] = path.join(workDir, 'targets', t);
    hostDirs[`/srv/backup/${name}/${t}`] = targetDirs[t];
  }
  const env = Object.fromEntries(
    (resource.env as string[]).map((e) => {
      const eq = e.indexOf('=');
      return [e.slice(0, eq), e.slice(eq + 1).replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')];
    }),
  );
  return {
    resource,
    json,
    hostDirs,
    terraformValues,
    sourceDirs,
    targetDirs,
    stateDir,
    workDir,
    env,
    sandbox: (extra = {}) => ({ hostDirs, terraformValues, timeoutMs: 100000, ...extra }),
    cleanup: () => fs.rmSync(workDir, { recursive: true, force: true }),
  };
}
