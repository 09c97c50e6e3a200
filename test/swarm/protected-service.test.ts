/**
 * ProtectedService as synthesized: the protected `docker_service`, the global backup service
 * beside its tasks (secrets and configs instead of uploads, CAP_DAC_OVERRIDE instead of
 * CAP_DAC_READ_SEARCH, the node's hostname as restic host), the per-node Docker API proxy, the
 * initializer, and the agent's plan. Deployed on a real swarm by test/e2e/swarm*.test.ts.
 */
import { Aspects, Testing } from 'cdktf';
import { ProtectedService, Quiesce, ServiceMode, StorageTarget, ThreeTwoOneChecks } from '../../src';
import { serviceTaskListPath } from '../../src/docker/proxy-config';
import { AGENT_PLAN_FILE } from '../../src/agent/agent-plan';
import { annotations, app, BUCKET_WITH_INIT_CREDENTIALS, checkedStack, hostStack, postgresService } from '../compliance/stacks';
import { resources, synthJson } from '../support/synth';

function serviceNamed(json: any, name: string): any {
  const found = resources(json, 'docker_service').find((s) => s.name === name);
  if (!found) {
    throw new Error(`no docker_service ${name}`);
  }
  return found;
}

/** The stack with the pinned, dumped postgres service of the compliance tests, synthesized. */
function synthesized(backup: any = {}, props: any = {}) {
  const stack = hostStack(app());
  postgresService(stack, backup, props);
  const json = synthJson(stack);
  return { json, db: serviceNamed(json, 'db'), backup: serviceNamed(json, 'db-backup'), plan: planOf(json) };
}

/** The agent's plan, as the backup service's config holds it (a local; the JSON with its Terraform references). */
function planOf(json: any): any {
  const config = serviceNamed(json, 'db-backup').task_spec.container_spec.configs.find((c: any) => c.file_name === AGENT_PLAN_FILE);
  const id = /docker_config\.([^.]+)\.id/.exec(config.config_id)![1];
  const local = /local\.([^)]+)\)/.exec(json.resource.docker_config[id].data)![1];
  // References stand in for values only Terraform knows: they are no part of what is checked here.
  return JSON.parse(json.locals[local].replace(/\$\{[^}]*\}/g, 'X').replace(/"X"\)[^"]*"\)/g, ''));
}

describe('ProtectedService', () => {
  test('the protected service: replicated, pinned, its volume mounted, restarted on failure', () => {
    const { db } = synthesized();
    expect(db.mode).toEqual({ replicated: { replicas: 1 } });
    expect(db.task_spec.placement.constraints).toEqual(['node.hostname==db-1']);
    expect(db.task_spec.container_spec.mounts).toEqual([{ type: 'volume', source: 'pgdata', target: '/var/lib/postgresql/data' }]);
    expect(db.task_spec.restart_policy).toEqual({ condition: 'any', delay: '5s', window: '60s' });
    expect(db.task_spec.container_spec.stop_grace_period).toBe('10s');
  });

  test('the backup: a global service on the same nodes, the node\'s hostname, read-only data, one capability', () => {
    const { backup } = synthesized();
    const spec = backup.task_spec.container_spec;
    expect(backup.mode).toEqual({ global: true });
    expect(backup.task_spec.placement.constraints).toEqual(['node.hostname==db-1']);
    expect(spec.hostname).toBe('{{.Node.Hostname}}');
    expect(spec.read_only).toBe(true);
    // No seccomp profile on a service: CAP_DAC_READ_SEARCH would open host files by handle.
    expect(spec.cap_drop).toEqual(['ALL']);
    expect(spec.cap_add).toEqual(['CAP_DAC_OVERRIDE']);
    // No freshness healthcheck: swarm would replace the task while backups are stale.
    expect(spec.healthcheck).toEqual({ test: ['NONE'] });
    expect(spec.mounts).toEqual([
      { type: 'volume', source: 'db-backup-state', target: '/backup/agent' },
      { type: 'tmpfs', target: '/tmp', tmpfs_options: { size_bytes: 512 * 1024 * 1024 } },
      { type: 'volume', source: 'pgdata', target: '/backup/sources/pgdata', read_only: true },
      // The repository subfolder only: its 0700 parent stays out of the task's reach.
      { type: 'bind', source: '/mnt/backup-disk/db/repository', target: '/backup/targets/local' },
    ]);
    expect(spec.command).toEqual(['/bin/sh', '/backup/install/bin/backup-agent']);
    expect(spec.args).toEqual(['daemon']);
  });

  test('secrets reach it only as swarm secrets, mode 0400, named after their content; nothing secret in env or labels', () => {
    const { json, backup } = synthesized();
    const spec = backup.task_spec.container_spec;
    expect(spec.env).toEqual({ BACKUP_PLAN: AGENT_PLAN_FILE });
    expect(spec.secrets.map((s: any) => [s.file_name, s.file_mode])).toEqual([['/backup/install/secrets/repository-password', 0o400]]);
    expect(spec.configs.map((c: any) => [c.file_name, c.file_mode])).toEqual([
      ['/backup/install/bin/backup-agent', 0o555],
      [AGENT_PLAN_FILE, 0o444],
    ]);
    const [secret] = resources(json, 'docker_secret');
    expect(secret.name).toMatch(/^db-repository-password-\$\{substr\(sha256\(local\.[^)]+\), 0, 12\)\}$/);
    expect(secret.data).toMatch(/^\$\{base64encode\(local\.[^)]+\)\}$/);
    expect(secret.lifecycle).toEqual({ create_before_destroy: true });
    expect(JSON.stringify(backup.labels)).not.toMatch(/var\.|password/i);
  });

  test('the plan: no fixed restic host (the node\'s hostname), the service\'s task quiesced through the node\'s proxy', () => {
    const { plan } = synthesized();
    expect(plan.host).toBeNull();
    expect(plan.quiesce).toMatchObject({
      mode: 'exec',
      container: null,
      service: 'db',
      taskListPath: serviceTaskListPath('db'),
      dockerApi: 'http://db-backup-docker-api-{node}:2375',
    });
  });

  test('the Docker API proxy: global on the same nodes, a name per node, its allowlist for the service\'s tasks', () => {
    const { json } = synthesized();
    const proxy = serviceNamed(json, 'db-backup-docker-api');
    expect(proxy.mode).toEqual({ global: true });
    expect(proxy.task_spec.placement.constraints).toEqual(['node.hostname==db-1']);
    expect(proxy.task_spec.container_spec.hostname).toBe('db-backup-docker-api-{{.Node.Hostname}}');
    expect(proxy.task_spec.container_spec.mounts[0]).toEqual({ type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', read_only: true });
    expect(proxy.endpoint_spec).toEqual({ mode: 'dnsrr' });
    const network = resources(json, 'docker_network').find((n) => n.name === 'db-backup-docker-api');
    expect(network).toMatchObject({ driver: 'overlay', internal: true });
  });

  test('no proxy, no node lookup and no egress network for a crash-consistent service backed up to a local folder', () => {
    const stack = hostStack(app());
    new ProtectedService(stack, 'cache', {
      image: 'redis:7',
      mode: ServiceMode.everyNode(),
      volumes: [{ name: 'cache', containerPath: '/data' }],
      backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/cache' })] },
    });
    const json = synthJson(stack);
    expect(resources(json, 'docker_service').map((s) => s.name).sort()).toEqual(['cache', 'cache-backup']);
    expect(resources(json, 'docker_network')).toEqual([]);
    expect(serviceNamed(json, 'cache-backup').task_spec.networks_advanced).toBeUndefined();
  });

  test('a remote target: the stack\'s attachable overlay egress network, and a one-shot initializer with the init credentials', () => {
    // GIVEN object storage whose agent key may not create a repository
    const bucket = BUCKET_WITH_INIT_CREDENTIALS();
    // WHEN
    const { json, backup } = synthesized({ targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }), bucket] });
    // THEN the backup and the initializer reach it through the overlay egress network
    const egress = resources(json, 'docker_network').find((n) => n.name === 'db-host-backup-egress-swarm');
    expect(egress).toMatchObject({ driver: 'overlay', attachable: true });
    expect(backup.task_spec.networks_advanced).toHaveLength(2);
    // AND the initializer runs once, before the backup service, with the init credentials staged
    const init = resources(json, 'docker_container').find((c) => c.name === 'db-backup-init');
    expect(init).toMatchObject({ attach: true, must_run: false, restart: 'no', capabilities: { drop: ['ALL'] } });
    expect(init.upload.map((u: any) => [u.file, u.permissions])).toEqual([
      ['/backup/staging/bin/backup-agent', '0555'],
      ['/backup/staging/secrets/repository-password', '0400'],
      // (the index of the target in agent.json: the init plan keeps it)
      ['/backup/staging/init-secrets/target-2-aws-secret-access-key', '0400'],
      ['/backup/staging/init-plan.json', '0400'],
    ]);
    expect(backup.depends_on).toEqual([expect.stringMatching(/^docker_container\.db_backup_initializer/)]);
    // AND a failed initialisation fails the deploy (the provider records the exit code only)
    expect(init.lifecycle.postcondition).toEqual([{ condition: '${self.exit_code == 0}', error_message: expect.stringContaining('db-backup-init exited with an error') }]);
    // AND the init credentials never reach the backup tasks: not in the service, not in their plan
    expect(JSON.stringify(backup)).not.toMatch(/AKIAINIT|init_key/);
    expect(JSON.stringify(planOf(json))).not.toMatch(/AKIAINIT|init_key/);
  });

  test('a pause: the task gets time to unpause before it is stopped', () => {
    const { backup, plan } = synthesized({ quiesce: Quiesce.pause({ timeoutSeconds: 30 }) });
    expect(backup.task_spec.container_spec.stop_grace_period).toBe('90s');
    expect(plan.quiesce.mode).toBe('pause');
  });
});

describe('ProtectedService and the compliance pack', () => {
  test('the pinned postgres service passes 3-2-1-1-0 with no finding', () => {
    const stack = checkedStack((s) => postgresService(s));
    expect(() => Testing.fullSynth(stack)).not.toThrow();
    expect([...annotations(stack, 'error'), ...annotations(stack, 'warn')]).toEqual([]);
  });

  test('two replicas, one per labelled node: a warning that neither node\'s copy is authoritative, and the synth goes on', () => {
    const stack = checkedStack((s) =>
      postgresService(s, {}, { mode: ServiceMode.replicated(2), placementConstraints: ['node.labels.db==true'], maxReplicasPerNode: 1 }),
    );
    expect(() => Testing.fullSynth(stack)).not.toThrow();
    expect(annotations(stack, 'warn')).toEqual([
      'db-host/db: db-host/db [ReplicatedServiceData]: 2 replicas write 2 node-local copies of pgdata, which diverge: none is authoritative. Each node\'s backup task backs up its node\'s copy under the node\'s name (restic --host), and a restore puts each node\'s copy back on that node. Fix: if the replicas should share one data set, run 1 replica pinned to a node, or use a volume driver that shares the data (e.g. NFS); if each node\'s copy is meant to be its own, acknowledge it: BackupSuppressions.addToConstruct(service, [{ ruleId: "ReplicatedServiceData", reason: "..." }])',
    ]);
  });

  test('a global service needs no pin: each node\'s data is its own', () => {
    const a = app();
    const stack = hostStack(a);
    postgresService(stack, {}, { mode: ServiceMode.everyNode(), placementConstraints: [] });
    Aspects.of(a).add(new ThreeTwoOneChecks({ printSummary: false }));
    expect(() => Testing.fullSynth(stack)).not.toThrow();
  });
});
