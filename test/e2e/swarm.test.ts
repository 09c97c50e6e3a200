/**
 * The swarm example (examples/swarm, stack swarm-cluster), deployed on a real two-node swarm:
 * node-one (the manager) and node-two, each a private dockerd of its own (swarm.ts), the
 * synthesized cdk.tf.json applied through the manager by THE applier, with the stand-in images
 * of the other e2e tests imported into both nodes (restic, haproxy, postgres, wordpress; see
 * images.ts and database-images.ts) and the S3 stand-ins on the stack's egress overlay. Each
 * node is a host of its own: its own Docker socket and its own /mnt/backup-disk
 * (deployed-host.ts `swarm`).
 *
 * What is asserted is what an operator would see: the initializer exits 0, every task is on
 * the node it must be on, the secrets are 0400 files and nowhere else, a cycle on the database
 * node dumps Postgres through that node's proxy and backs up under the node's name, each web
 * node backs up its own uploads under its own name, a paused service (a `cache` added beside
 * the example) is paused and unpaused by its node's proxy, a compromised backup task gets
 * nothing else from that proxy, a backup task killed mid-cycle is
 * restarted by swarm and its next cycle is complete with nothing lost, and docs/restore.md's
 * "Swarm service" commands, run as written, bring the database's volume back.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Construct } from 'constructs';
import { Medium, ProtectedService, Quiesce, StorageTarget } from '../../src';
import { BackupStorageStack, RETENTION } from '../../examples/postgres/main';
import { DOCKER_API_PROXY_PORT, serviceTaskListPath } from '../../src/docker/proxy-config';
import { DEFAULT_AGENT_IMAGE } from '../../src/docker/backup-sidecar';
import { DEFAULT_DOCKER_API_PROXY_IMAGE } from '../../src/docker/docker-api-proxy';
import { swarmExample } from '../../examples/swarm/main';
import { ensureDatabaseImage } from '../support/engine/database-images';
import { DatabaseContainer, rowCounts, rowCountsOfDump, seedTables, waitForDatabase } from '../support/engine/databases';
import { AGENT, DeployedHost, deployHost, EXAMPLE_REGIONS, FAKE_STORAGE } from '../support/engine/deployed-host';
import { docker, dockerOk } from '../support/engine/docker-engine';
import { execOnOk, startSwarmCluster, SwarmCluster, SwarmNode, taskContainer, taskContainers, until, waitForServiceTasks } from '../support/engine/swarm';
import { plantSetuidProbe, runAsUnprivileged, runReachableCopyAsUnprivileged, UNPRIVILEGED_UID } from '../support/engine/probes/setuid';
import { rawRequest } from '../support/proxy-requests';
import { forNames, RUNBOOK_SWARM, runbookShell } from '../support/runbook';

const STORAGE = FAKE_STORAGE;
const POSTGRES_PASSWORD = 'postgres-superuser-password';
const DUMP = '/var/lib/postgresql/data/dump.sql';
const UPLOADS = '/var/www/html/wp-content/uploads';
const BALLAST = '/var/lib/postgresql/data/ballast.bin';
const CACHE_IMAGE = 'busybox:1.36';

let cluster: SwarmCluster;
let host: DeployedHost;
let one: SwarmNode;
let two: SwarmNode;

beforeAll(async () => {
  cluster = await startSwarmCluster({ nodes: 2, images: ['restic', 'haproxy', 'busybox'] });
  [one, two] = cluster.nodes;
  const [postgres, wordpress] = await Promise.all([
    Promise.all(cluster.nodes.map((n) => ensureDatabaseImage('postgres', n.engine))),
    Promise.all(cluster.nodes.map((n) => ensureDatabaseImage('wordpress', n.engine))),
  ]);
  // Both nodes serve the web tier (the example places it on nodes labelled web=true).
  for (const node of cluster.nodes) {
    const spec = (await cluster.manager.api.call('GET', `/nodes/${node.nodeId}`)).json();
    await cluster.manager.api.call('POST', `/nodes/${node.nodeId}/update?version=${spec.Version.Index}`, {
      body: { ...spec.Spec, Labels: { ...spec.Spec.Labels, web: 'true' } },
    });
  }
  host = await deployHost({
    swarm: cluster,
    build: (app) => {
      const example = swarmExample(app, { databaseNode: one.hostname });
      cacheService(example.cluster, example.storage);
      return { ...example };
    },
    hostStack: 'swarm-cluster',
    storageStack: 'swarm-storage',
    storage: STORAGE,
    variables: { postgres_password: POSTGRES_PASSWORD },
    images: {
      [DEFAULT_AGENT_IMAGE]: cluster.images.restic!,
      [DEFAULT_DOCKER_API_PROXY_IMAGE]: cluster.images.haproxy!,
      'postgres:16': postgres[0],
      'wordpress:6.7-apache': wordpress[0],
      [CACHE_IMAGE]: cluster.images.busybox!,
    },
    s3: EXAMPLE_REGIONS,
  });
  await waitForDatabase(one.engine, await database());
}, 900000);

afterAll(async () => {
  try {
    // A restore job the runbook test left behind holds the backup service's secrets.
    host?.docker(['service', 'rm', 'db-restore'], { allowFail: true });
    await host?.destroy();
  } finally {
    await cluster?.stop();
  }
}, 180000);

/**
 * Beside the example, a service quiesced by pausing its task: `cache` on node-two, writing its
 * volume every second, backed up to node-two's disk and the bucket.
 */
function cacheService(scope: Construct, storage: BackupStorageStack): void {
  new ProtectedService(scope, 'cache', {
    image: CACHE_IMAGE,
    command: ['/bin/sh', '-c', 'while true; do date > /data/now; sleep 1; done'],
    placementConstraints: ['node.hostname==node-two'],
    volumes: [{ name: 'cachedata', containerPath: '/data' }],
    backup: {
      quiesce: Quiesce.pause({ timeoutSeconds: 30 }),
      retention: RETENTION,
      password: storage.escrow.repositoryPassword,
      // 3-2-1-1-0 like the example's (the rules refuse less at synth)
      targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/cache', medium: Medium.DISK }), StorageTarget.s3(storage.vault)],
    },
  });
}

/** The database's task on node-one, as databases.ts addresses a container. */
async function database(): Promise<DatabaseContainer> {
  return { kind: 'postgres', container: await taskContainer(one, 'db') };
}

/** The nodes each service's running tasks are on, by hostname. */
async function placement(service: string): Promise<string[]> {
  const tasks = await waitForServiceTasks(cluster.manager.api, service);
  return tasks.map((t) => cluster.node(t.NodeID).hostname).sort();
}

/** The snapshots of one target as the task's agent lists them: id, host, time. */
function snapshots(task: { run: (args: string[]) => { stdout: string } }, target: string): Array<{ id: string; hostname: string; time: string }> {
  const out = task.run(['snapshots', '--target', target, '--', '--json']).stdout;
  return JSON.parse(out.slice(out.indexOf('['))).map((x: any) => ({ id: x.id, hostname: x.hostname, time: x.time }));
}

describe('the swarm example on a real two-node swarm', () => {
  test('deployed: the initializer exited 0, and every task is on the node it must be on', async () => {
    for (const init of ['db-backup-init', 'web-backup-init']) {
      expectExit0(init, host.deployment.exitCode(init), () => host.docker(['logs', init]).stderr);
    }
    expect(await placement('db')).toEqual([one.hostname]);
    expect(await placement('db-backup')).toEqual([one.hostname]);
    expect(await placement('db-backup-docker-api')).toEqual([one.hostname]);
    expect(await placement('web')).toEqual([one.hostname, two.hostname]);
    expect(await placement('web-backup')).toEqual([one.hostname, two.hostname]);
    for (const service of ['cache', 'cache-backup', 'cache-backup-docker-api']) {
      expect(await placement(service)).toEqual([two.hostname]);
    }
  });

  test('the secrets are 0400 files in the task, and neither in its environment nor in the service spec', async () => {
    const task = await host.task('db', one.hostname);
    const secrets = execOnOk(one, task.container, ['sh', '-c', 'stat -c "%a %u %n" /backup/install/secrets/*']).trim().split('\n');
    // the repository password, the agent's S3 key, and the replica's (the drill reads the offsite copy)
    expect(secrets.length).toBe(3);
    for (const line of secrets) {
      expect(line).toMatch(/^400 0 /);
    }
    // The plan holds no secret (names of secret files only): a config, readable, not writable.
    expect(execOnOk(one, task.container, ['stat', '-c', '%a %u', '/backup/install/agent.json']).trim()).toBe('444 0');
    const password = execOnOk(one, task.container, ['sh', '-c', 'cat /backup/install/secrets/*']);
    expect(password).toContain(STORAGE.password);
    const environment = execOnOk(one, task.container, ['cat', '/proc/1/environ']);
    const spec = host.docker(['service', 'inspect', 'db-backup', 'db', 'web-backup']).stdout;
    for (const secret of [STORAGE.password, STORAGE.secretAccessKey, POSTGRES_PASSWORD]) {
      expect(environment).not.toContain(secret);
      if (secret !== POSTGRES_PASSWORD) expect(spec).not.toContain(secret); // the app's own env holds its password
    }
    // The hardening a task can have: read-only root, DAC_OVERRIDE (bit 1) alone, the node's name.
    const status = execOnOk(one, task.container, ['cat', '/proc/1/status']);
    expect(status).toMatch(/^CapEff:\s+0000000000000002$/m);
    expect(execOnOk(one, task.container, ['hostname']).trim()).toBe(one.hostname);
    expect(task.inspect().HostConfig.ReadonlyRootfs).toBe(true);
  });

  let seeded: Record<string, number>;

  test('a cycle on the database node dumps Postgres through that node\'s proxy and backs up under the node\'s name', async () => {
    const db = await database();
    seeded = seedTables(one.engine, db);
    const task = await host.task('db', one.hostname);
    task.markDue('drill');
    host.replicate('db');
    const run = task.run(['run'], { allowFail: true });
    expectExit0('the cycle', run.code, () => run.stderr);
    const s = task.status();
    expect(s.state).toBe('ok');
    expect(s.host).toBe(one.hostname);
    expect(s.targets.map((t: any) => [t.name, t.result])).toEqual([['local', 'ok'], ['s3', 'ok']]);
    expect(s.quiesce).toMatchObject({ mode: 'exec', result: 'ok' });
    for (const target of ['local', 's3']) {
      expect(new Set(snapshots(task, target).map((x) => x.hostname))).toEqual(new Set([one.hostname]));
    }
    // The dump is on the volume of node-one's task.
    expect(execOnOk(one, db.container, ['head', '-c', '200', DUMP])).toMatch(/PostgreSQL database cluster dump/);
    expect(host.docker(['service', 'ps', '--format', '{{.Node}} {{.CurrentState}}', 'db']).stdout).toMatch(/^node-one Running/);
  }, 300000);

  test('a setuid-root program that a compromised backup task writes in its local target gives an unprivileged user of the node nothing', async () => {
    // GIVEN node-one's backup disk as a host has it (any user may traverse it), its target
    // folder prepared as the README says (root, 0700, the repository inside)
    fs.chmodSync(host.backupDisk, 0o755);
    fs.chmodSync(path.join(host.backupDisk, one.hostname), 0o755);
    const task = await host.task('db', one.hostname);
    // WHEN the task (uid 0, CAP_DAC_OVERRIDE) writes a program into its repository and marks it setuid
    const planted = plantSetuidProbe((args, o) => dockerOk(one.engine, args, o.input), task.container, '/backup/targets/local');
    // THEN on the node it is a setuid-root program that user 65534 cannot reach, while a
    // reachable copy would have run as root
    const onNode = path.join(host.backupDisk, one.hostname, 'db', 'repository', path.basename(planted));
    const stat = fs.statSync(onNode);
    expect({ setuid: (stat.mode & 0o4000) !== 0, uid: stat.uid }).toEqual({ setuid: true, uid: 0 });
    const run = runAsUnprivileged(onNode);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/Permission denied/);
    expect(runReachableCopyAsUnprivileged(onNode).output).toBe(`uid=${UNPRIVILEGED_UID} euid=0`);
    fs.rmSync(onNode);
  });

  test('each web node backs up its own uploads, under its own name, to its own disk and to S3', async () => {
    for (const node of cluster.nodes) {
      const web = await taskContainer(node, 'web');
      execOnOk(node, web, ['sh', '-c', `mkdir -p ${UPLOADS}/2026 && echo "uploaded on ${node.hostname}" > ${UPLOADS}/2026/${node.hostname}.txt`]);
      const run = (await host.task('web', node.hostname)).run(['run'], { allowFail: true });
      expectExit0(`the cycle on ${node.hostname}`, run.code, () => run.stderr);
    }
    for (const node of cluster.nodes) {
      const task = await host.task('web', node.hostname);
      expect(task.status().state).toBe('ok');
      // Its own disk holds its own history; the bucket holds both nodes', each under its name.
      expect(snapshots(task, 'local').map((x) => x.hostname)).toEqual([node.hostname]);
      expect(new Set(snapshots(task, 's3').map((x) => x.hostname))).toEqual(new Set([one.hostname, two.hostname]));
      const listed = task.run(['restore', '--target', 'local', '--snapshot', 'latest', '--to', '/tmp/r', '--', '--include', '/backup/sources/uploads']);
      expect(listed.code).toBe(0);
      const restored = execOnOk(node, task.container, ['sh', '-c', 'cat /tmp/r/backup/sources/uploads/2026/*.txt; rm -rf /tmp/r']);
      expect(restored).toBe(`uploaded on ${node.hostname}\n`);
    }
  }, 300000);

  test('Quiesce.pause on a service: the node\'s proxy pauses the task on node-two for the backup and unpauses it', async () => {
    const task = await host.task('cache', two.hostname);
    const cache = await taskContainer(two, 'cache');
    const since = Math.floor(Date.now() / 1000);
    const run = task.run(['run'], { allowFail: true });
    expectExit0('the cycle of cache', run.code, () => run.stderr);
    expect(task.status().quiesce).toMatchObject({ mode: 'pause', result: 'ok', release: 'ok' });
    // The engine of node-two saw the task paused, then unpaused; it runs on.
    const events = docker(two.engine, ['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1),
      '--filter', `container=${cache}`, '--filter', 'event=pause', '--filter', 'event=unpause', '--format', '{{.Action}}']);
    expect(events.stdout.trim().split('\n')).toEqual(['pause', 'unpause']);
    const state = JSON.parse(dockerOk(two.engine, ['inspect', cache]))[0].State;
    expect([state.Running, state.Paused]).toEqual([true, false]);
  }, 300000);

  test('a compromised backup task gets nothing else from its node\'s proxy: no other task, no list, no manager call', async () => {
    const task = await host.task('db', one.hostname);
    const web = JSON.parse(dockerOk(one.engine, ['inspect', await taskContainer(one, 'web')]))[0].Name.slice(1);
    const send = (method: string, target: string, body?: string) => {
      const bytes = rawRequest({ name: target, method, target, body, headers: body === undefined ? [] : ['Content-Type: application/json'] });
      const r = docker(one.engine, ['exec', '-i', task.container, 'nc', '-w', '5', `db-backup-docker-api-${one.hostname}`, String(DOCKER_API_PROXY_PORT)], bytes);
      return Number(/^HTTP\/1\.[01] (\d{3})/.exec(r.stdout)?.[1] ?? 0);
    };
    // Its own service's task list passes (the agent's one query)...
    expect(send('GET', serviceTaskListPath('db'))).toBe(200);
    // ...and nothing else: another service's task on the same node, the full list, swarm's manager API.
    expect({
      pauseWeb: send('POST', `/containers/${web}/pause`, ''),
      execInWeb: send('POST', `/containers/${web}/exec`, '{"Cmd":["id"]}'),
      listAll: send('GET', '/containers/json?all=1'),
      webTasks: send('GET', serviceTaskListPath('web')),
      services: send('GET', '/services'),
      secrets: send('GET', '/secrets'),
    }).toEqual({ pauseWeb: 403, execInWeb: 403, listAll: 403, webTasks: 403, services: 403, secrets: 403 });
    expect(JSON.parse(dockerOk(one.engine, ['inspect', web]))[0].State.Paused).toBe(false);
  });

  test('a backup task killed mid-cycle is restarted by swarm; the next cycle is complete and nothing is lost', async () => {
    const before = await host.task('db', one.hostname);
    const kept = { local: snapshots(before, 'local'), s3: snapshots(before, 's3') };
    // Enough new data that the backup runs for a few seconds.
    const db = await database();
    execOnOk(one, db.container, ['sh', '-c', `head -c 157286400 /dev/urandom > ${BALLAST}`]);
    const cycle = new Promise<number | null>((resolve) => {
      const child = spawn('docker', ['-H', one.engine.dockerHost, 'exec', before.container, '/bin/sh', AGENT, 'run'], { stdio: 'ignore' });
      child.on('close', resolve);
    });
    await until(() => /restic\b.*\sbackup\s/.test(execOnOk(one, before.container, ['ps', '-o', 'args'])), 120000, 'restic backup running in the task', 250);
    host.docker(['kill', '--signal', 'KILL', before.container]); // node-one is the manager, host.docker's engine
    await cycle;
    // Swarm starts a new task (restart delay 5 s) with a new container.
    await until(async () => (await taskContainers(one, 'db-backup')).some((c) => c !== before.container), 60000, 'a new db-backup task on node-one', 250);
    const after = await host.task('db', one.hostname);
    expect(after.container).not.toBe(before.container);
    after.markDue('check');
    const run = after.run(['run'], { allowFail: true });
    expectExit0('the cycle after the restart', run.code, () => run.stderr);
    const s = after.status();
    expect(s.state).toBe('ok');
    expect(s.targets.map((t: any) => [t.name, t.result])).toEqual([['local', 'ok'], ['s3', 'ok']]);
    expect(s.verification.targets.map((t: any) => [t.name, t.result])).toEqual([['local', 'ok'], ['s3', 'ok']]);
    for (const target of ['local', 's3'] as const) {
      const now = snapshots(after, target).map((x) => x.time);
      const newest = kept[target].map((x) => x.time).sort().pop()!;
      expect({ target, kept: now.some((t) => t >= newest) }).toEqual({ target, kept: true });
    }
    expect(await placement('db')).toEqual([one.hostname]);
    // Without the ballast again, for the restore below.
    execOnOk(one, db.container, ['rm', BALLAST]);
    const again = after.run(['run'], { allowFail: true });
    expectExit0('the cycle without the ballast', again.code, () => again.stderr);
  }, 300000);

  test('docs/restore.md "Swarm service", run as written on the manager: the volume comes back, the dump byte-identical, the rows all there', async () => {
    const task = await host.task('db', one.hostname);
    const last: string = task.status().targets.find((t: any) => t.name === 'local').snapshot_id;
    // The dump as the last cycle wrote it (only a quiesce step writes it): what must come back.
    const db = await database();
    const dumpDigest = sha256(execOnOk(one, db.container, ['cat', DUMP]));
    // Damage: a table dropped.
    execOnOk(one, db.container, ['psql', '-U', 'postgres', '-c', 'DROP TABLE orders']);
    const names = { node: one.hostname };
    const shell = runbookShell(cluster.manager, names);
    const run = (line: string) => shell.run(forNames(line, names));
    for (const line of RUNBOOK_SWARM.stop) run(line);
    await until(async () => (await taskContainers(one, 'db')).length === 0 && (await taskContainers(one, 'db-backup')).length === 0, 60000, 'db and db-backup stopped on node-one', 250);
    run(RUNBOOK_SWARM.image);
    run(RUNBOOK_SWARM.fromBackup);
    const listed = run(RUNBOOK_SWARM.listJob);
    expect(listed.status).toBe(0);
    const logs = run(RUNBOOK_SWARM.logs);
    expect(logs.stdout).toContain(last.slice(0, 8));
    run(RUNBOOK_SWARM.removeJob);
    shell.run(`SNAPSHOT=${last.slice(0, 8)}`);
    run(RUNBOOK_SWARM.restoreJob);
    const restored = run(RUNBOOK_SWARM.logs);
    expect(restored.stderr).toMatch(/restored snapshot/);
    expect(restored.stdout + restored.stderr).not.toMatch(/WARN.*owner/);
    run(RUNBOOK_SWARM.removeJob);
    for (const line of RUNBOOK_SWARM.start) run(line);
    shell.cleanup();

    // The service started again on the restored volume: Postgres recovers, the rows are there.
    const back = await database();
    await waitForDatabase(one.engine, back);
    expect(sha256(execOnOk(one, back.container, ['cat', DUMP]))).toBe(dumpDigest);
    expect(rowCounts(one.engine, back)).toEqual(seeded);
    expect(execOnOk(one, back.container, ['stat', '-c', '%a %u', '/var/lib/postgresql/data']).trim()).toBe('700 999');
    expect(await placement('db-backup')).toEqual([one.hostname]);

    // The restored dump, loaded into a fresh PostgreSQL on node-one, has the rows the backup had.
    const image = host.docker(['service', 'inspect', 'db', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}']).stdout.trim();
    expect(await rowCountsOfDump(one.engine, { kind: 'postgres', image, volume: 'pgdata' })).toEqual(seeded);
  }, 600000);
});

/** Fails with the output (read only then) unless `code` is 0. */
function expectExit0(what: string, code: number | null | undefined, output: () => string): void {
  if (code !== 0) throw new Error(`${what} exited ${code}:\n${output().slice(-3000)}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

