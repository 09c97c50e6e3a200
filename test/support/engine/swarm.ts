/**
 * Docker Swarm on the tests' private engines (docker-engine.ts): one node (`initSwarm`), or a
 * cluster of two (`startSwarmCluster`), and what a test needs to look at a service's tasks.
 *
 * What shapes it (verified on this machine: /work/notes/swarm-facts.md, sections 2 and 4):
 * - a node's name is the UTS hostname of its daemon, so each node is a daemon in a network
 *   and UTS namespace of its own (`startEngine({ hostname })`);
 * - two nodes are joined by one veth pair (10.231.0.1/24 <-> 10.231.0.2/24) and nothing else:
 *   swarm's control plane (2377), gossip (7946) and the overlay's VXLAN (4789) cross it, and no
 *   address outside the two namespaces is reachable from either;
 * - this kernel has no IPVS: service VIPs and the ingress routing mesh do not work here. Tests
 *   reach a service through `endpoint_spec { mode = "dnsrr" }` or per-task names, never a VIP
 *   or a published ingress port;
 * - there is no registry: each node needs every image itself, so the stand-ins are imported into
 *   each node (images.ts `ensureImage(kind, node.engine)`);
 * - only a manager answers /services, /tasks and /nodes; container calls (exec, inspect) go to
 *   the node that runs the container;
 * - both nodes share the host's kernel, file system and mount namespace: a bind mount's source
 *   is the same host path on both "nodes"; named volumes are per node (each daemon's own).
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import { randomBytes } from 'crypto';
import { DockerApi } from './docker-api';
import { docker, dockerOk, RunningEngine, startEngine, stopEngine } from './docker-engine';
import { ensureImage, StandInKind } from './images';

/** One swarm node: its daemon and what the swarm calls it. */
export interface SwarmNode {
  readonly engine: RunningEngine;
  readonly api: DockerApi;
  /** The node's hostname (what `{{.Node.Hostname}}` resolves to on it). */
  readonly hostname: string;
  /** The swarm's node ID (what `{{.Node.ID}}` resolves to on it). */
  readonly nodeId: string;
  /** The address the node advertises to the swarm. */
  readonly address: string;
  readonly manager: boolean;
}

/** A running cluster: `nodes[0]` is the manager. */
export interface SwarmCluster {
  readonly manager: SwarmNode;
  readonly nodes: readonly SwarmNode[];
  /** The tags `ensureImage` gave the images asked for, present on every node. */
  readonly images: Partial<Record<StandInKind, string>>;
  /** The veth pair's two ends: `veth[i]` lives in `nodes[i]`'s network namespace. */
  readonly veth: readonly [string, string];
  /** The node of that hostname or node ID. */
  node(hostnameOrId: string): SwarmNode;
  /** Removes every service, then stops every daemon and removes all they made. */
  stop(): Promise<void>;
}

/** A task as `GET /tasks` answers (the fields the tests read). */
export interface SwarmTask {
  readonly ID: string;
  readonly ServiceID: string;
  readonly NodeID: string;
  readonly DesiredState: string;
  readonly Status: { readonly State: string; readonly Err?: string; readonly ContainerStatus?: { readonly ContainerID?: string } };
}

const SWARM_PORT = 2377;
const SUBNET = '10.231.0';

/** Swarm mode on one engine, the only manager: `docker swarm init --advertise-addr 127.0.0.1`. */
export async function initSwarm(engine: RunningEngine, options: { readonly advertiseAddr?: string } = {}): Promise<SwarmNode> {
  const api = new DockerApi(engine.socketPath);
  const address = options.advertiseAddr ?? '127.0.0.1';
  await api.call('POST', '/swarm/init', { body: { ListenAddr: `${address}:${SWARM_PORT}`, AdvertiseAddr: address } });
  return describeNode(engine, api, address);
}

/**
 * Two private engines in their own network and UTS namespaces (hostnames `node-one`, the
 * manager, and `node-two`, a worker), joined by one veth pair, in one swarm; the stand-in
 * images asked for (default: busybox) imported into both. Stop it with `stop()` (afterAll):
 * the namespaces, the veth pair (it goes with them), the folders and the mounts all go.
 */
export async function startSwarmCluster(options: { readonly nodes: number; readonly images?: StandInKind[] }): Promise<SwarmCluster> {
  if (options.nodes !== 2) {
    throw new Error(`startSwarmCluster: ${options.nodes} nodes asked for; one veth pair joins exactly two (add a bridge namespace for more)`);
  }
  const hostnames = ['node-one', 'node-two'];
  const engines: RunningEngine[] = [];
  const stopAll = () => Promise.all(engines.map((e) => stopEngine(e)));
  let importing: Promise<string[][]> = Promise.resolve([]);
  try {
    const results = await Promise.allSettled(hostnames.map((hostname) => startEngine({ hostname, current: false, dirPrefix: 'ccb-swarm-' })));
    for (const r of results) if (r.status === 'fulfilled') engines.push(r.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const kinds = options.images ?? ['busybox'];
    importing = Promise.all(engines.map((e) => Promise.all(kinds.map((k) => ensureImage(k, e)))));
    importing.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
    const veth = joinByVeth(engines[0], engines[1]);
    const addresses = engines.map((_, i) => `${SUBNET}.${i + 1}`);
    const manager = await initSwarm(engines[0], { advertiseAddr: addresses[0] });
    const apis = [manager.api, new DockerApi(engines[1].socketPath)];
    const token: string = (await apis[0].call('GET', '/swarm')).json().JoinTokens.Worker;
    await apis[1].call('POST', '/swarm/join', {
      body: { ListenAddr: `${addresses[1]}:${SWARM_PORT}`, AdvertiseAddr: addresses[1], RemoteAddrs: [`${addresses[0]}:${SWARM_PORT}`], JoinToken: token },
    });
    await until(async () => (await apis[0].call('GET', '/nodes')).json().filter((n: any) => n.Status.State === 'ready').length === engines.length,
      30000, 'both nodes Ready in the manager\'s node list');
    const nodes = [manager, await describeNode(engines[1], apis[1], addresses[1])];
    const tags = (await importing)[0];
    const images = Object.fromEntries(kinds.map((k, i) => [k, tags[i]]));
    return {
      manager: nodes[0],
      nodes,
      images,
      veth,
      node(hostnameOrId: string): SwarmNode {
        const n = nodes.find((x) => x.hostname === hostnameOrId || x.nodeId === hostnameOrId);
        if (!n) throw new Error(`no node '${hostnameOrId}' (nodes: ${nodes.map((x) => `${x.hostname} ${x.nodeId}`).join(', ')})`);
        return n;
      },
      async stop(): Promise<void> {
        // Services first, through the manager, so that no task is started again while the
        // daemons remove their containers.
        const services = await nodes[0].api.request('GET', '/services');
        if (services.status === 200) {
          for (const s of services.json()) await nodes[0].api.request('DELETE', `/services/${s.ID}`);
        }
        await stopAll();
      },
    };
  } catch (e) {
    await importing.catch(() => undefined); // no import into a daemon being stopped
    await stopAll().catch(() => undefined);
    throw e;
  }
}

/**
 * Polls `GET /tasks?filters={"service":[service],"desired-state":["running"]}` (a manager's
 * API) until every such task runs and there are `count` of them (default: at least one).
 * Throws after `timeoutMs` with every task's state and error.
 */
export async function waitForServiceTasks(api: DockerApi, service: string, options: { readonly count?: number; readonly timeoutMs?: number } = {}): Promise<SwarmTask[]> {
  let tasks: SwarmTask[] = [];
  const done = await poll(async () => {
    tasks = await serviceTasks(api, service, { desiredRunning: true });
    const enough = options.count === undefined ? tasks.length > 0 : tasks.length === options.count;
    return enough && tasks.every((t) => t.Status.State === 'running');
  }, options.timeoutMs ?? 30000);
  if (!done) {
    const all = await serviceTasks(api, service);
    throw new Error(`the tasks of service '${service}' did not all run within ${(options.timeoutMs ?? 30000) / 1000} s` +
      `${options.count === undefined ? '' : ` (${options.count} expected)`}: ` +
      all.map((t) => `${t.ID} on ${t.NodeID}: ${t.Status.State}/${t.DesiredState}${t.Status.Err ? ` (${t.Status.Err})` : ''}`).join('; '));
  }
  return tasks;
}

/**
 * The tasks of a service (its name or ID) as a manager's `GET /tasks` lists them: all of them,
 * or only those swarm wants running (`desiredRunning`). None for a service that is gone (the
 * engine answers 404).
 */
export async function serviceTasks(api: DockerApi, service: string, options: { readonly desiredRunning?: boolean } = {}): Promise<SwarmTask[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: [service], ...(options.desiredRunning ? { 'desired-state': ['running'] } : {}) }));
  const r = await api.call('GET', `/tasks?filters=${filters}`, { accept: [404] });
  return r.status === 404 ? [] : r.json();
}

/**
 * After a service was removed: polls a manager's `GET /tasks` until no task of the service is
 * left, and the containers of the manager's node and of each of `nodes` until none of the
 * service is left (the node-local things a test removes next, volumes, are free then).
 */
export async function waitForServiceGone(manager: DockerApi, serviceId: string, options: { readonly nodes?: readonly SwarmNode[]; readonly timeoutMs?: number } = {}): Promise<void> {
  const containers = `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.swarm.service.id=${serviceId}`] }))}`;
  const apis = [manager, ...(options.nodes ?? []).map((n) => n.api)];
  await until(async () => {
    // all tasks, not a service filter: the engine answers 404 for a service that is gone
    // while its tasks may still be listed
    const tasks: SwarmTask[] = (await manager.call('GET', '/tasks')).json();
    if (tasks.some((t) => t.ServiceID === serviceId)) return false;
    for (const api of apis) if ((await api.call('GET', containers)).json().length > 0) return false;
    return true;
  }, options.timeoutMs ?? 60000, `the tasks and containers of service ${serviceId} gone`);
}

/** The running task containers of `service` on `node` (asked of that node's own daemon). */
export async function taskContainers(node: SwarmNode, service: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.swarm.service.name=${service}`], status: ['running'] }));
  return (await node.api.call('GET', `/containers/json?filters=${filters}`)).json().map((c: any) => c.Id);
}

/** The one running task container of `service` on `node`. */
export async function taskContainer(node: SwarmNode, service: string): Promise<string> {
  const ids = await taskContainers(node, service);
  if (ids.length !== 1) throw new Error(`${ids.length} running tasks of service '${service}' on ${node.hostname}, not one`);
  return ids[0];
}

/** `docker exec CONTAINER COMMAND...` on `node`. */
export function execOn(node: SwarmNode, container: string, command: string[]): SpawnSyncReturns<string> {
  return docker(node.engine, ['exec', container, ...command]);
}

/** Like `execOn`, but throws with stderr unless the command exits 0; returns stdout. */
export function execOnOk(node: SwarmNode, container: string, command: string[]): string {
  return dockerOk(node.engine, ['exec', container, ...command]);
}

async function describeNode(engine: RunningEngine, api: DockerApi, address: string): Promise<SwarmNode> {
  const info = (await api.call('GET', '/info')).json();
  return { engine, api, hostname: info.Name, nodeId: info.Swarm.NodeID, address, manager: info.Swarm.ControlAvailable === true };
}

/**
 * One veth pair, one end in each daemon's network namespace, an address on each. The names are
 * random (the host namespace is shared with other runs) and live in the host namespace only
 * until they are moved; with both namespaces gone (the daemons stopped) the pair is gone too.
 */
function joinByVeth(a: RunningEngine, b: RunningEngine): [string, string] {
  const id = randomBytes(4).toString('hex');
  const ends: [string, string] = [`ccb${id}a`, `ccb${id}b`];
  const run = (args: string[]) => {
    const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  };
  run(['ip', 'link', 'add', ends[0], 'type', 'veth', 'peer', 'name', ends[1]]);
  try {
    [a, b].forEach((engine, i) => {
      run(['ip', 'link', 'set', ends[i], 'netns', String(engine.pid)]);
      run(['nsenter', '-t', String(engine.pid), '-n', 'ip', 'addr', 'add', `${SUBNET}.${i + 1}/24`, 'dev', ends[i]]);
      run(['nsenter', '-t', String(engine.pid), '-n', 'ip', 'link', 'set', ends[i], 'up']);
    });
  } catch (e) {
    spawnSync('ip', ['link', 'del', ends[0]]); // still in the host namespace if the move failed
    throw e;
  }
  return ends;
}

async function poll(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Polls `check` (every `intervalMs`) until it holds; throws after `timeoutMs`, naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 100): Promise<void> {
  if (!(await poll(check, timeoutMs, intervalMs))) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}
