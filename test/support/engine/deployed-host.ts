/**
 * A Docker-host stack of a shipped example, deployed on the tests' engine the way
 * `cdktf deploy` would: synthesized to a temp folder, its `cdk.tf.json` applied by THE applier
 * (applier.ts) with stand-in images, host paths under a temp folder, the Docker socket of the
 * tests' engine, and the storage stack's outputs as `terraform apply` of that stack would have
 * produced them (bucket names, the agent's access key, the escrowed password), pointing at an
 * S3 stand-in that answers for the AWS endpoint names on the sidecars' egress network.
 *
 * Used by every real-engine e2e test and by the bench: one way to deploy a synthesized host.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { DEFAULT_AGENT_IMAGE } from '../../../src/docker/backup-sidecar';
import { DEFAULT_DOCKER_API_PROXY_IMAGE } from '../../../src/docker/docker-api-proxy';
import { applyStack, Deployment } from './applier';
import { currentEngine, docker, RunningEngine } from './docker-engine';
import { ensureImage } from './images';
import { replicateBucket, S3InEngine, startS3InEngine } from './s3-stand-in';
import { SwarmCluster, taskContainer } from './swarm';
import { AGENT_SCRIPT_PATH } from '../../../src/agent/agent-asset';
import { AGENT_PLAN_FILE } from '../../../src/agent/agent-plan';
import { DueWork, markDueCommand, sidecarOf, SynthesizedSidecarParts } from '../sidecar-harness';
import { synthesizeApp, SynthesizedApp } from '../synth';

/** The values the storage stack's apply would have produced. */
export interface StorageValues {
  readonly bucket: string;
  readonly replicaBucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly password: string;
  /**
   * When the initializer's key stops working (`AgentCredentials.initKeyExpiresAt`, RFC 3339).
   * @default 24 hours from now: the storage stack was just applied, its key just made
   */
  readonly initKeyExpiresAt?: string;
}

/** Storage values for a test: the escrowed password and the agent's key as the apply would give them. */
export const FAKE_STORAGE: StorageValues = {
  bucket: 'vault-primary-test',
  replicaBucket: 'vault-replica-test',
  accessKeyId: 'AKIATESTAGENTKEY0001',
  secretAccessKey: 'test-secret-access-key-of-the-agent',
  password: 'the repository password, as escrowed',
};

/**
 * The storage stack's outputs by name, valued as its apply would: each output's expression
 * (`${aws_s3_bucket.<id with primary|replica>.id}`, `${aws_iam_access_key.X.id|secret}`,
 * `${aws_ssm_parameter.X.value}`, the initializer key's expiry `${local.<...init-key-expires-at...>}`)
 * gets the matching fake value. An output of another shape is
 * an error: the test would otherwise deploy with a value nobody chose.
 */
export function storageOutputs(storageJson: any, values: StorageValues): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries<any>(storageJson.output ?? {})) {
    const expr = String(output.value);
    let value: string | undefined;
    if (/^\$\{aws_s3_bucket\.[^.]*replica[^.]*\.(id|bucket)\}$/.test(expr)) value = values.replicaBucket;
    else if (/^\$\{aws_s3_bucket\.[^.]*\.(id|bucket)\}$/.test(expr)) value = values.bucket;
    else if (/^\$\{aws_iam_access_key\.[^.]+\.id\}$/.test(expr)) value = values.accessKeyId;
    else if (/^\$\{aws_iam_access_key\.[^.]+\.secret\}$/.test(expr)) value = values.secretAccessKey;
    else if (/^\$\{aws_ssm_parameter\.[^.]+\.value\}$/.test(expr)) value = values.password;
    else if (/^\$\{local\.[^.}]*init-key-expires-at[^.}]*\}$/.test(expr)) value = values.initKeyExpiresAt ?? new Date(Date.now() + 24 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    if (value === undefined) {
      throw new Error(`storage output ${name} = ${expr}: no fake value for this shape; add one to storageOutputs`);
    }
    outputs[name] = value;
  }
  return outputs;
}

/**
 * `DeployHostOptions.images` for an example: the agent's image -> the `restic` stand-in and the
 * Docker API proxy's -> `haproxy` (images.ts), then each of `more` (synthesized reference ->
 * what builds its stand-in, e.g. `'postgres:16': () => ensureDatabaseImage('postgres')`), built
 * one after the other in that order.
 */
export async function standInImages(more: Record<string, () => Promise<string>> = {}): Promise<Record<string, string>> {
  const images: Record<string, string> = {
    [DEFAULT_AGENT_IMAGE]: await ensureImage('restic'),
    [DEFAULT_DOCKER_API_PROXY_IMAGE]: await ensureImage('haproxy'),
  };
  for (const [image, build] of Object.entries(more)) {
    images[image] = await build();
  }
  return images;
}

/** Options of `deployHost`. */
export interface DeployHostOptions {
  /** Builds the example's stacks into the app (e.g. `defaultExample`). */
  readonly build: (app: App) => Record<string, TerraformStack>;
  /** The Docker-host stack to deploy. */
  readonly hostStack: string;
  /** The storage stack whose outputs the host stack reads, if any. */
  readonly storageStack?: string;
  readonly storage?: StorageValues;
  /** Values of the host stack's variables (`TF_VAR_...`). */
  readonly variables?: Record<string, string>;
  /** Synthesized image reference -> local stand-in tag. */
  readonly images: Record<string, string>;
  /**
   * S3 stand-ins for the bucket (`storage.bucket`) and its offsite replica
   * (`storage.replicaBucket`), answering for `s3.<region>.amazonaws.com` on the stack's
   * sidecar egress network (named `<stack>-backup-egress`), started as soon as the applier has
   * made that network: the installer initialises the repository there at deploy time.
   */
  readonly s3?: { readonly region: string; readonly replicaRegion: string };
  /**
   * Deploy on this swarm (swarm.ts startSwarmCluster) through its manager, instead of on the
   * tests' engine. Each node is a host of its own: `/var/run/docker.sock` is the node's own
   * engine's socket and `/mnt/backup-disk` a folder of the node's own (`backupDisk/<hostname>`),
   * through the engine template `{{.Node.Hostname}}` in the bind source that each node expands
   * for its tasks; the sidecar egress network is the stack's overlay `<stack>-backup-egress-swarm`.
   */
  readonly swarm?: SwarmCluster;
}

/** A deployed host stack, with the folders behind its host paths. */
export interface DeployedHost {
  readonly engine: RunningEngine;
  readonly synthesized: SynthesizedApp;
  /** The host stack's cdk.tf.json. */
  readonly json: any;
  readonly deployment: Deployment;
  /** The temp folder that stands in for the host's `/mnt/backup-disk`. */
  readonly backupDisk: string;
  /** The S3 stand-ins, when `s3` was given. */
  readonly s3?: { readonly primary: S3InEngine; readonly replica: S3InEngine };
  /**
   * Copies every object of the primary bucket under `prefix` to the replica bucket: what S3
   * Cross-Region Replication does for each new object (stand-in: s3rver's files copied).
   */
  replicate(prefix: string): void;
  /** Runs the docker CLI against the engine; throws with stderr on failure unless `allowFail`. */
  docker(args: string[], options?: { input?: string | Buffer; allowFail?: boolean }): { status: number | null; stdout: string; stderr: string };
  /** The deployed sidecar of protected container `name` (`<name>-backup`). */
  sidecar(name: string): DeployedSidecar;
  /**
   * The backup task of swarm service `name` (`<name>-backup`) on node `hostname`: its running
   * container, reached through that node's engine; its parts are those of the service as
   * deployed (the plan as the task reads it), not a container's `sidecarOf`.
   */
  task(name: string, hostname: string): Promise<DeployedSidecar>;
  /** `docker inspect` of one container, parsed. */
  inspect(container: string): any;
  /** Waits until Docker's healthcheck reports `status` (e.g. 'healthy'); returns the inspect. */
  waitForHealth(container: string, status: string, timeoutMs: number): Promise<any>;
  /** Removes every container, network and volume the deployment made, and the temp folders. */
  destroy(): Promise<void>;
}

/** The agent as installed in the sidecar. */
export const AGENT = AGENT_SCRIPT_PATH;

/** The engine template of the node's name, expanded by each node in its tasks' specs. */
const NODE_HOSTNAME = '{{.Node.Hostname}}';

/**
 * A sidecar (or a swarm backup task) deployed on the engine: its plan and agent script (a
 * sidecar's as synthesized, `sidecarOf`, the extraction the sandbox's SidecarHarness uses too;
 * a task's as the task reads them), and the harness's methods where they make sense, through
 * `docker exec` on the running container.
 */
export interface DeployedSidecar extends Pick<SynthesizedSidecarParts, 'plan' | 'agentScript'> {
  /** The container's name, `<name>-backup`. */
  readonly container: string;
  /**
   * `docker exec <container> /bin/sh <agent> ARGS` (the README's documented form), to its end;
   * throws with the output when it fails, unless `allowFail`.
   */
  run(args: string[], options?: { allowFail?: boolean }): { code: number | null; stdout: string; stderr: string };
  /** Marks maintenance due in the container's state, as the daemon does when its schedule fires. */
  markDue(...work: DueWork[]): void;
  /** status.json as the agent last wrote it (in the plan's stateDir), read in the container. */
  status(): any;
  /** `docker inspect` of the container, parsed. */
  inspect(): any;
}

/** The S3 regions of the shipped examples' buckets: primary and offsite replica. */
export const EXAMPLE_REGIONS = { region: 'eu-west-1', replicaRegion: 'eu-central-1' } as const;

/**
 * The jest hooks of a test file about one deployed example: `deployHost(options())` in
 * beforeAll (10 minutes: the stand-in images may be built first), then `onDeployed` (e.g. wait
 * for the database); `destroy()` in afterAll.
 */
export function deployAroundTheFile(options: () => Promise<DeployHostOptions>, onDeployed: (host: DeployedHost) => Promise<void>): void {
  let host: DeployedHost | undefined;
  beforeAll(async () => {
    host = await deployHost(await options());
    await onDeployed(host);
  }, 600000);
  afterAll(async () => {
    await host?.destroy();
  }, 120000);
}

type DockerRun = (args: string[], options?: { input?: string | Buffer; allowFail?: boolean }) => { status: number | null; stdout: string; stderr: string };

/**
 * `docker ARGS...` against `engine`, as the deployed host's `docker`: throws with stdout and
 * stderr (the engine named by `where`) unless it exits 0 or `allowFail` is set.
 */
function dockerRun(engine: RunningEngine, where = '') {
  return (args: string[], o: { input?: string | Buffer; allowFail?: boolean } = {}) => {
    const r = docker(engine, args, o.input);
    if (r.status !== 0 && !o.allowFail) {
      throw new Error(`docker ${args.join(' ')}${where} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

/** The harness's methods on a running sidecar `container`, through `run` (its engine's docker CLI). */
function deployedSidecar(parts: Pick<SynthesizedSidecarParts, 'plan' | 'agentScript'>, container: string, run: DockerRun): DeployedSidecar {
  return {
    ...parts,
    container,
    run: (args, o = {}) => {
      const r = run(['exec', container, '/bin/sh', AGENT, ...args], o);
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    markDue: (...work) => {
      run(['exec', container, ...markDueCommand(parts.plan, work)]);
    },
    status: () => JSON.parse(run(['exec', container, 'cat', `${parts.plan.stateDir}/status.json`]).stdout),
    inspect: () => JSON.parse(run(['inspect', container]).stdout)[0],
  };
}

export async function deployHost(options: DeployHostOptions): Promise<DeployedHost> {
  const engine = options.swarm?.manager.engine ?? currentEngine();
  const synthesized = synthesizeApp(options.build);
  const json = synthesized.json[options.hostStack];
  if (!json) {
    throw new Error(`no stack ${options.hostStack} in the synthesized app`);
  }
  const backupDisk = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-disk-'));
  const remoteState: Record<string, Record<string, unknown>> = {};
  if (options.storageStack) {
    remoteState[options.storageStack] = storageOutputs(synthesized.json[options.storageStack], options.storage!);
  }
  const egressNetwork = `${options.hostStack}-backup-egress${options.swarm ? '-swarm' : ''}`;
  const hostPaths = { '/mnt/backup-disk': backupDisk, '/var/run/docker.sock': engine.socketPath };
  if (options.swarm) {
    // One folder per node, and each node's own socket, by the node's name (see `swarm`).
    // A service's bind source must exist on the node (swarm rejects the task otherwise; it
    // does not create it as `docker run -v` does): the folders of the services' local targets
    // made on every node as the README tells the operator to, before the deploy: each target
    // folder root-owned 0700 with its `repository` subfolder (the bind source) inside.
    const repositories = Object.values<any>(json.resource?.docker_service ?? {})
      .flatMap((s) => s.task_spec?.container_spec?.mounts ?? [])
      .filter((m: any) => m.type === 'bind' && String(m.source).startsWith('/mnt/backup-disk/'))
      .map((m: any) => String(m.source).slice('/mnt/backup-disk/'.length));
    for (const node of options.swarm.nodes) {
      const nodeDisk = path.join(backupDisk, node.hostname);
      fs.mkdirSync(nodeDisk, { recursive: true });
      for (const repository of repositories) {
        if (path.basename(repository) !== 'repository') {
          throw new Error(`the service's local target mounts ${repository}, not a target folder's repository subfolder`);
        }
        const install = spawnSync('install', ['-d', '-m', '0700', '-o', 'root', '-g', 'root', path.join(nodeDisk, path.dirname(repository)), path.join(nodeDisk, repository)], { encoding: 'utf8' });
        if (install.status !== 0) {
          throw new Error(`install -d of ${repository} on ${node.hostname} failed: ${install.stderr}`);
        }
      }
      fs.symlinkSync(node.engine.socketPath, path.join(backupDisk, `${node.hostname}.sock`));
    }
    hostPaths['/mnt/backup-disk'] = path.join(backupDisk, NODE_HOSTNAME);
    hostPaths['/var/run/docker.sock'] = path.join(backupDisk, `${NODE_HOSTNAME}.sock`);
  }
  let s3: { primary: S3InEngine; replica: S3InEngine } | undefined;
  const deployment = await applyStack(json, {
    variables: options.variables,
    remoteState,
    images: options.images,
    hostPaths,
    api: options.swarm?.manager.api,
    afterApply: async (address, applied) => {
      if (options.s3 && address.startsWith('docker_network.') && applied.name === egressNetwork) {
        const key = { accessKeyId: options.storage!.accessKeyId, secretAccessKey: options.storage!.secretAccessKey };
        s3 = {
          primary: await startS3InEngine({ network: egressNetwork, region: options.s3.region, bucket: options.storage!.bucket, ...key }, engine),
          replica: await startS3InEngine({ network: egressNetwork, region: options.s3.replicaRegion, bucket: options.storage!.replicaBucket, ...key }, engine),
        };
      }
    },
  });
  if (options.s3 && !s3) {
    throw new Error(`${options.hostStack} has no network ${egressNetwork}: no S3 stand-in started`);
  }
  const run = dockerRun(engine);
  const inspect = (container: string) => JSON.parse(run(['inspect', container]).stdout)[0];
  return {
    engine,
    synthesized,
    json,
    deployment,
    backupDisk,
    s3,
    replicate: (prefix) => {
      if (!s3) {
        throw new Error('no S3 stand-ins: deploy with `s3`');
      }
      replicateBucket(s3.primary, s3.replica, prefix);
    },
    docker: run,
    sidecar: (name) => {
      return deployedSidecar(sidecarOf(json, name), `${name}-backup`, run);
    },
    task: async (name, hostname) => {
      const node = options.swarm?.node(hostname);
      if (!node) {
        throw new Error(`task(${name}, ${hostname}): not deployed on a swarm`);
      }
      const container = await taskContainer(node, `${name}-backup`);
      const runOnNode = dockerRun(node.engine, ` on ${hostname}`);
      const plan = JSON.parse(runOnNode(['exec', container, 'cat', AGENT_PLAN_FILE]).stdout);
      const agentScript = runOnNode(['exec', container, 'cat', AGENT]).stdout;
      return deployedSidecar({ plan, agentScript }, container, runOnNode);
    },
    inspect,
    waitForHealth: async (container, status, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = inspect(container).State;
        if (state.Health?.Status === status) {
          return inspect(container);
        }
        if (Date.now() > deadline) {
          throw new Error(`${container} is ${state.Health?.Status ?? 'without a healthcheck'} after ${timeoutMs} ms, not ${status}: ${JSON.stringify(state.Health?.Log?.slice(-2))}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    destroy: async () => {
      // The stand-ins first: a network with containers on it cannot be removed.
      await s3?.primary.stop();
      await s3?.replica.stop();
      await deployment.destroy({ volumes: true });
      // Files the containers wrote as other users: remove as root.
      spawnSync('rm', ['-rf', backupDisk, synthesized.outdir]);
    },
  };
}
