/**
 * Docker Swarm on two nodes (swarm.ts startSwarmCluster): two private engines, each in a network
 * and UTS namespace of its own (node-one, the manager; node-two, a worker), joined by one veth
 * pair. What issue 14's ProtectedService relies on, applied through THE applier from a
 * cdk.tf.json synthesized with @cdktf/provider-docker's own classes:
 * - a global service places one task on each node;
 * - named volumes are node-local: the same name holds each node's own data (swarm-facts.md 4.4);
 * - on an internal overlay network, a task reaches another service's task ON ITS OWN NODE by a
 *   per-node name (`hostname = "<prefix>-{{.Node.ID}}"`, swarm-facts.md 3.4/3.5), with dnsrr
 *   because this kernel has no IPVS (4.3).
 * Stand-in image: busybox (images.ts STAND_INS.busybox) for busybox:1.36, imported into both nodes.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Service } from '@cdktf/provider-docker/lib/service';
import { TerraformStack } from 'cdktf';
import { applyStack, Deployment } from '../support/engine/applier';
import { dockerOk } from '../support/engine/docker-engine';
import { execOnOk, serviceTasks, startSwarmCluster, SwarmCluster, taskContainer, waitForServiceGone } from '../support/engine/swarm';
import { dockerStack, synthJson } from '../support/synth';

const IMAGE = 'busybox:1.36';
let running: SwarmCluster | undefined;
const deployments: Deployment[] = [];

beforeAll(async () => {
  running = await startSwarmCluster({ nodes: 2 });
}, 120_000);

afterEach(async () => {
  for (const d of deployments.splice(0)) await d.destroy({ volumes: true });
});

afterAll(async () => {
  if (running) await running.stop(); // unless the last test stopped it
}, 120_000);

async function deploy(stack: TerraformStack): Promise<Deployment> {
  const d = await applyStack(synthJson(stack), { api: swarm().manager.api, images: { [IMAGE]: swarm().images.busybox! } });
  deployments.push(d);
  return d;
}
const [one, two] = ['node-one', 'node-two'];
const swarm = (): SwarmCluster => running ?? (() => { throw new Error('the cluster did not start'); })();

describe('a two-node swarm on this machine', () => {
  test('two nodes, each in network and UTS namespaces of its own, joined by the veth pair alone', async () => {
    const cluster = swarm();
    const nodes = (await cluster.manager.api.call('GET', '/nodes')).json();
    expect(nodes.map((n: any) => [n.Description.Hostname, n.Status.State, n.Spec.Role]).sort()).toEqual([[one, 'ready', 'manager'], [two, 'ready', 'worker']]);
    expect(cluster.nodes.map((n) => [n.hostname, n.address, n.manager])).toEqual([[one, '10.231.0.1', true], [two, '10.231.0.2', false]]);
    const ns = (pid: number | 'self', kind: string) => fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
    const [a, b] = cluster.nodes.map((n) => n.engine.pid);
    for (const kind of ['net', 'uts']) {
      expect(new Set([ns('self', kind), ns(a, kind), ns(b, kind)]).size).toBe(3);
    }
    // each namespace: its own end of the veth (none is left in the host's), no default route: nothing else is reachable
    cluster.nodes.forEach((node, i) => {
      const run = (...cmd: string[]) => execFileSync('nsenter', ['-t', String(node.engine.pid), '-n', ...cmd], { encoding: 'utf8' });
      expect(run('ip', '-o', '-4', 'addr', 'show', 'dev', cluster.veth[i])).toContain(`inet ${node.address}/24`);
      expect(run('ip', 'route')).not.toMatch(/^default/m);
    });
    expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toMatch(new RegExp(cluster.veth.join('|')));
  });

  test('a global service: one task on each node; the same volume name holds each node\'s own data', async () => {
    const cluster = swarm();
    // GIVEN each node's `pgdata` holds that node's data (written through that node's own engine)
    for (const node of cluster.nodes) {
      dockerOk(node.engine, ['run', '--rm', '-v', 'pgdata:/data', cluster.images.busybox!, 'sh', '-c', `echo written-on-${node.hostname} > /data/who`]);
    }
    // WHEN a global service mounts it read-only
    const stack = dockerStack('cluster-global');
    new Service(stack, 'reader', {
      name: 'reader',
      mode: { global: true },
      taskSpec: {
        containerSpec: {
          image: IMAGE, command: ['/bin/sleep', '3600'], hostname: 'reader-{{.Node.Hostname}}',
          mounts: [{ type: 'volume', source: 'pgdata', target: '/data', readOnly: true }],
        },
      },
    });
    const d = await deploy(stack);
    // THEN one task per node, each reading its own node's data
    const tasks = await serviceTasks(cluster.manager.api, 'reader', { desiredRunning: true });
    expect(tasks.map((t) => t.NodeID).sort()).toEqual(cluster.nodes.map((n) => n.nodeId).sort());
    for (const node of cluster.nodes) {
      const task = await taskContainer(node, 'reader');
      expect(execOnOk(node, task, ['cat', '/data/who'])).toBe(`written-on-${node.hostname}\n`);
      expect(execOnOk(node, task, ['hostname']).trim()).toBe(`reader-${node.hostname}`);
    }
    const id = d.serviceId('reader');
    await d.destroy();
    deployments.splice(0);
    await waitForServiceGone(cluster.manager.api, id, { nodes: cluster.nodes }); // the worker's task container too
    for (const node of cluster.nodes) dockerOk(node.engine, ['volume', 'rm', 'pgdata']);
  });

  test('an internal overlay: each client task reaches the proxy task on its own node by the per-node name <prefix>-{{.Node.ID}}', async () => {
    const cluster = swarm();
    const stack = dockerStack('cluster-overlay');
    const net = new Network(stack, 'net', { name: 'cluster-internal', driver: 'overlay', internal: true });
    // The proxy answers with its node's name; a plain HTTP server from busybox.
    new Service(stack, 'proxy', {
      name: 'proxy',
      mode: { global: true },
      endpointSpec: { mode: 'dnsrr' },
      taskSpec: {
        containerSpec: {
          image: IMAGE, hostname: 'proxy-{{.Node.ID}}', env: { NODE: '{{.Node.Hostname}}' },
          command: ['/bin/sh', '-c', 'mkdir -p /tmp/www && echo "proxy on $NODE" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'],
        },
        networksAdvanced: [{ name: net.name }],
      },
    });
    new Service(stack, 'client', {
      name: 'client',
      mode: { global: true },
      endpointSpec: { mode: 'dnsrr' },
      taskSpec: {
        containerSpec: { image: IMAGE, command: ['/bin/sleep', '3600'], env: { PROXY: 'proxy-{{.Node.ID}}' } },
        networksAdvanced: [{ name: net.name }],
      },
    });
    await deploy(stack);
    for (const node of cluster.nodes) {
      const client = await taskContainer(node, 'client');
      expect(execOnOk(node, client, ['sh', '-c', 'echo $PROXY']).trim()).toBe(`proxy-${node.nodeId}`);
      const answer = execOnOk(node, client, ['sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$PROXY" 8080']);
      expect(answer).toContain(`proxy on ${node.hostname}`);
      // internal: the task has no route out of the overlay
      expect(execOnOk(node, client, ['ip', 'route'])).not.toMatch(/^default/m);
    }
  });

  test('stop(): the daemons, their namespaces (and the veth pair in them), folders and mounts are gone', async () => {
    const stopping = swarm();
    const pids = stopping.nodes.map((n) => n.engine.pid);
    const namespaces = pids.flatMap((pid) => ['net', 'uts'].map((kind) => fs.readlinkSync(`/proc/${pid}/ns/${kind}`)));
    const dirs = stopping.nodes.map((n) => n.engine.dir);
    running = undefined;
    await stopping.stop();
    for (const pid of pids) expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    for (const dir of dirs) expect(fs.existsSync(dir)).toBe(false);
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
    for (const dir of dirs) expect(mounts).not.toContain(dir);
    // no process is left in either namespace (a namespace lives as long as a process or a mount holds it)
    const inUse = new Set<string>();
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      for (const kind of ['net', 'uts']) {
        try { inUse.add(fs.readlinkSync(`/proc/${pid}/ns/${kind}`)); } catch { /* gone meanwhile */ }
      }
    }
    expect(namespaces.filter((ns) => inUse.has(ns))).toEqual([]);
  });
});
