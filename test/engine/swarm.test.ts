/**
 * Docker Swarm on one node, through THE applier (test/support/engine/applier.ts): a cdk.tf.json
 * synthesized here with @cdktf/provider-docker's own Service, Secret, Config, Network and Volume
 * classes is applied in kreuzwerker/docker's call order on a swarm manager, and the task shows
 * what it got. The service is the shape issue 14's backup service takes (swarm-facts.md 2.2,
 * 2.5): global, read-only root, cap_drop ALL + DAC_OVERRIDE, the data volume read-only, the
 * repository password as a 0400 secret, the plan as a config, `{{.Node.Hostname}}` as hostname,
 * on an internal overlay network with dnsrr (no IPVS here, swarm-facts.md 4.3); secret and
 * config names carry a hash of their content, as Terraform computes it.
 *
 * Engine: this file's own (startEngine with a hostname, then initSwarm: `docker swarm init
 * --advertise-addr 127.0.0.1`), not the run's shared one: swarm mode adds the ingress network
 * and docker_gwbridge to a daemon, which the other files do not expect. Stand-in image: busybox
 * (images.ts STAND_INS.busybox: Debian's busybox, its applets, no bash) for busybox:1.36.
 */
import { createHash } from 'crypto';
import { Config } from '@cdktf/provider-docker/lib/config';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Secret } from '@cdktf/provider-docker/lib/secret';
import { Service, ServiceConfig } from '@cdktf/provider-docker/lib/service';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { Fn, TerraformLocal, TerraformStack } from 'cdktf';
import { applyStack, ApplyError, Deployment } from '../support/engine/applier';
import { dockerOk, RunningEngine, startEngine, stopEngine } from '../support/engine/docker-engine';
import { ensureImage } from '../support/engine/images';
import { execOn, execOnOk, initSwarm, serviceTasks, SwarmNode, SwarmTask, taskContainer, until } from '../support/engine/swarm';
import { dockerStack, synthJson } from '../support/synth';

const IMAGE = 'busybox:1.36';
const PASSWORD = 'the repository password';
const PLAN = '{"schema":1,"host":"db-host","note":"café"}';
let engine: RunningEngine;
let node: SwarmNode;
let images: Record<string, string>;
const deployments: Deployment[] = [];

beforeAll(async () => {
  engine = await startEngine({ hostname: 'ccb-swarm-one', current: false, dirPrefix: 'ccb-swarm-' });
  [node, images] = await Promise.all([initSwarm(engine), ensureImage('busybox', engine).then((tag) => ({ [IMAGE]: tag }))]);
}, 120_000);

afterEach(async () => {
  for (const d of deployments.splice(0)) await d.destroy({ volumes: true });
});

afterAll(async () => {
  if (engine) await stopEngine(engine);
}, 120_000);

async function deploy(stack: TerraformStack, options: Parameters<typeof applyStack>[1] = {}): Promise<Deployment> {
  const d = await applyStack(synthJson(stack), { api: node.api, images, ...options });
  deployments.push(d);
  return d;
}
const api = <T = any>(path: string): Promise<T> => node.api.call('GET', path).then((r) => r.json());
const sleeper = (extra: Partial<ServiceConfig['taskSpec']['containerSpec']> = {}) => ({ image: IMAGE, command: ['/bin/sleep', '3600'], ...extra });

/** The backup-service shape of issue 14, with its secret, config, volume and network. */
function backupStack(): TerraformStack {
  const stack = dockerStack('swarm-one');
  const plan = new TerraformLocal(stack, 'plan', PLAN);
  const password = new Secret(stack, 'password', {
    name: `restic-pw-${Fn.substr(Fn.sha256(PASSWORD), 0, 12)}`,
    data: Fn.base64encode(PASSWORD),
    labels: [{ label: 'ccb.role', value: 'repository-password' }],
    lifecycle: { createBeforeDestroy: true },
  });
  const config = new Config(stack, 'plan-config', { name: `db-plan-${Fn.substr(Fn.sha256(plan.asString), 0, 12)}`, data: Fn.base64encode(plan.asString) });
  const data = new Volume(stack, 'data', { name: 'swarm-one-data' });
  const net = new Network(stack, 'net', { name: 'swarm-one-backup', driver: 'overlay', internal: true, attachable: true });
  new Service(stack, 'backup', {
    name: 'db-backup',
    labels: [{ label: 'ccb.protects', value: 'db' }],
    mode: { global: true },
    taskSpec: {
      containerSpec: sleeper({
        hostname: '{{.Node.Hostname}}',
        env: { PLAN: '/etc/backup/plan.json', NODE_ID: '{{.Node.ID}}' },
        readOnly: true,
        capDrop: ['ALL'],
        capAdd: ['DAC_OVERRIDE'],
        mounts: [
          { type: 'volume', source: data.name, target: '/data', readOnly: true, volumeOptions: { noCopy: true } },
          { type: 'tmpfs', target: '/tmp', tmpfsOptions: { sizeBytes: 8 * 1024 * 1024, mode: 0o1777 } },
        ],
        secrets: [{ secretId: password.id, secretName: password.name, fileName: '/run/secrets/restic-pw', fileMode: 0o400 }],
        configs: [{ configId: config.id, configName: config.name, fileName: '/etc/backup/plan.json' }],
        // swarm reports a task with a healthcheck running only once a check passed: keep it short
        healthcheck: { test: ['CMD', '/bin/true'], interval: '1s' },
      }),
      restartPolicy: { condition: 'any', delay: '2s' },
      networksAdvanced: [{ name: net.name, aliases: ['backup'] }],
      logDriver: { name: 'json-file', options: { 'max-size': '1m' } },
    },
    endpointSpec: { mode: 'dnsrr' },
  });
  return stack;
}

describe('a swarm service through the applier (one node)', () => {
  test('secret, config, volume and overlay network first; the task gets a 0400 secret, the config, a read-only volume and root, its node\'s hostname', async () => {
    // GIVEN the data volume holds a row, written right after the applier made it
    const d = await deploy(backupStack(), {
      afterApply: (address) => {
        if (address === 'docker_volume.data') {
          dockerOk(engine, ['run', '--rm', '-v', 'swarm-one-data:/data', images[IMAGE], 'sh', '-c', 'echo row-1 > /data/row']);
        }
      },
    });

    // THEN the order: what the service references before it
    expect(d.order.indexOf('docker_service.backup')).toBe(d.order.length - 1);
    // names hashed as Terraform hashes (sha256 hex of the UTF-8 text, the first 12 characters)
    const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 12);
    const secrets = await api<any[]>('/secrets');
    expect(secrets.map((s) => [s.Spec.Name, s.Spec.Labels])).toEqual([[`restic-pw-${sha(PASSWORD)}`, { 'ccb.role': 'repository-password' }]]);
    const configs = await api<any[]>('/configs');
    expect(configs.map((c) => c.Spec.Name)).toEqual([`db-plan-${sha(PLAN)}`]);
    expect(Buffer.from(configs[0].Spec.Data, 'base64').toString('utf8')).toBe(PLAN); // the config's data is readable through the API

    // the task, on this node
    const task = await taskContainer(node, 'db-backup');
    const sh = (script: string) => execOn(node, task, ['sh', '-c', script]);
    expect(execOnOk(node, task, ['stat', '-c', '%a %u:%g', '/run/secrets/restic-pw']).trim()).toBe('400 0:0');
    expect(execOnOk(node, task, ['cat', '/run/secrets/restic-pw'])).toBe(PASSWORD);
    expect(execOnOk(node, task, ['stat', '-c', '%a %u:%g', '/etc/backup/plan.json']).trim()).toBe('444 0:0'); // file_mode's default 0o444
    expect(execOnOk(node, task, ['cat', '/etc/backup/plan.json'])).toBe(PLAN);
    expect(execOnOk(node, task, ['cat', '/data/row'])).toBe('row-1\n');
    expect(sh('touch /data/x').stderr).toMatch(/Read-only file system/);
    expect(sh('touch /x').stderr).toMatch(/Read-only file system/);
    expect(sh('touch /tmp/x && stat -c %a /tmp').stdout.trim()).toBe('1777');
    expect(execOnOk(node, task, ['hostname']).trim()).toBe('ccb-swarm-one'); // {{.Node.Hostname}}, resolved by swarm
    expect(sh('echo $NODE_ID').stdout.trim()).toBe(node.nodeId);
    expect(sh('grep -E "^Cap(Eff|Bnd)" /proc/1/status').stdout).toMatch(/CapEff:\s+0000000000000002\nCapBnd:\s+0000000000000002/);

    // and the spec as the engine stored it: the provider's mapping, its zero values included
    const spec = (await api(`/services/${d.serviceId('db-backup')}`)).Spec;
    expect(spec.Labels).toEqual({ 'ccb.protects': 'db' });
    expect(spec.Mode).toEqual({ Global: {} });
    expect(spec.EndpointSpec).toEqual({ Mode: 'dnsrr' });
    const c = spec.TaskTemplate.ContainerSpec;
    expect(c.Image).toBe(images[IMAGE]);
    expect(c.Env).toEqual(['NODE_ID={{.Node.ID}}', 'PLAN=/etc/backup/plan.json']);
    expect(c.StopGracePeriod).toBe(0); // unset: the provider sends 0, not the engine's 10 s default
    expect(c.Secrets[0].File).toEqual({ Name: '/run/secrets/restic-pw', UID: '0', GID: '0', Mode: 256 });
    expect(c.Mounts[0]).toEqual({ Type: 'volume', Source: 'swarm-one-data', Target: '/data', ReadOnly: true, VolumeOptions: { NoCopy: true, DriverConfig: {} } });
    expect(c.Healthcheck).toEqual({ Test: ['CMD', '/bin/true'], Interval: 1e9 });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({ Condition: 'any', Delay: 2e9, MaxAttempts: 0, Window: 0 }); // window unset: 0, sent
    expect(spec.TaskTemplate.LogDriver).toEqual({ Name: 'json-file', Options: { 'max-size': '1m' } });
    const net = (await api<any[]>('/networks')).find((n) => n.Name === 'swarm-one-backup');
    expect([net.Driver, net.Internal, net.Attachable]).toEqual(['overlay', true, true]);
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: net.Id, Aliases: ['backup'] }]);

    // WHEN destroyed: the service and its tasks first, then the rest
    await d.destroy({ volumes: true });
    deployments.splice(0);
    expect(await api('/services')).toEqual([]);
    expect(await api('/secrets')).toEqual([]);
    expect(await api('/configs')).toEqual([]);
    expect((await api<any[]>('/networks')).map((n) => n.Name)).not.toContain('swarm-one-backup');
    expect((await api<any>('/volumes')).Volumes ?? []).toEqual([]);
  });

  test('the provider\'s zero values: a restart_policy without delay is sent with Delay 0 (the engine default: 5 s); a secret reference without secret_name is refused by the engine', async () => {
    const stack = dockerStack('swarm-zero');
    const secret = new Secret(stack, 's', { name: 'zero-secret', data: Fn.base64encode('x') });
    new Service(stack, 'svc', { name: 'zero', taskSpec: { containerSpec: sleeper(), restartPolicy: { condition: 'on-failure' } } });
    const d = await deploy(stack);
    expect((await api(`/services/${d.serviceId('zero')}`)).Spec.TaskTemplate.RestartPolicy).toEqual({ Condition: 'on-failure', Delay: 0, MaxAttempts: 0, Window: 0 });

    new Service(stack, 'with-secret', { name: 'no-secret-name', taskSpec: { containerSpec: sleeper({ secrets: [{ secretId: secret.id, fileName: 'pw' }] }) } });
    await d.destroy();
    deployments.splice(0);
    const e = await applyStack(synthJson(stack), { api: node.api, images }).catch((x) => x);
    expect(e).toBeInstanceOf(ApplyError);
    expect([e.address, e.step, e.dockerMessage]).toEqual(['docker_service.with-secret', 'ServiceCreate', 'rpc error: code = InvalidArgument desc = malformed secret reference']);
    expect(await api('/secrets')).toEqual([]);
  });

  test('swarm acts on a healthcheck: a task that turns unhealthy is shut down as failed and replaced (why a backup task has no freshness healthcheck)', async () => {
    const stack = dockerStack('swarm-health');
    // Healthy while /tmp/ok exists; created at start, so the first probe passes.
    new Service(stack, 'svc', {
      name: 'health',
      taskSpec: {
        containerSpec: sleeper({
          command: ['/bin/sh', '-c', 'touch /tmp/ok && exec sleep 3600'],
          healthcheck: { test: ['CMD', 'test', '-e', '/tmp/ok'], interval: '1s', timeout: '1s', retries: 1 },
        }),
        restartPolicy: { condition: 'any', delay: '1s' },
      },
    });
    const d = await deploy(stack);
    const first = await taskContainer(node, 'health');
    // WHEN the probe starts failing
    execOnOk(node, first, ['rm', '/tmp/ok']);
    // THEN swarm shuts the task down as failed and starts another
    let all: SwarmTask[] = [];
    await until(async () => {
      all = await serviceTasks(node.api, d.serviceId('health'));
      return all.some((t) => t.Status.State === 'failed') && all.some((t) => t.Status.State === 'running' && t.Status.ContainerStatus?.ContainerID !== first);
    }, 30000, 'a failed task and its replacement', 250);
    expect(all.find((t) => t.Status.State === 'failed')!.Status.Err).toMatch(/unhealthy/);
  });

  test('a paused task is not probed: a pause 4 times its healthcheck\'s interval × retries fails no probe, swarm keeps the task, and it is healthy again after the unpause', async () => {
    const stack = dockerStack('swarm-paused');
    new Service(stack, 'svc', {
      name: 'paused',
      taskSpec: {
        containerSpec: sleeper({ healthcheck: { test: ['CMD', '/bin/true'], interval: '1s', timeout: '1s', retries: 2 } }),
        restartPolicy: { condition: 'any', delay: '1s' },
      },
    });
    const d = await deploy(stack);
    const first = await taskContainer(node, 'paused');
    const health = () => JSON.parse(dockerOk(engine, ['inspect', first]))[0].State.Health;
    await until(() => health().Status === 'healthy', 15000, 'the task healthy', 250);
    // WHEN the task is paused (as Quiesce.pause does) for 8 s
    dockerOk(engine, ['pause', first]);
    await new Promise((r) => setTimeout(r, 8000));
    const during = health();
    dockerOk(engine, ['unpause', first]);
    // THEN the engine stopped probing it (no failure counted; inspect says "unhealthy" while
    // paused, without a failed probe), swarm kept its one task, and the next probe passes
    expect(during.FailingStreak).toBe(0);
    expect(during.Log.every((l: any) => l.ExitCode === 0)).toBe(true);
    await until(() => health().Status === 'healthy', 5000, 'the task healthy again', 250);
    const tasks = await serviceTasks(node.api, d.serviceId('paused'));
    expect(tasks.map((t) => [t.Status.State, t.Status.ContainerStatus?.ContainerID])).toEqual([['running', first]]);
  });

  test('converge_config: a replicated service whose image no node has does not converge; the apply fails and removes it', async () => {
    const stack = dockerStack('swarm-converge');
    new Service(stack, 'never', {
      name: 'never-runs',
      mode: { replicated: { replicas: 1 } },
      convergeConfig: { timeout: '3s' },
      taskSpec: { containerSpec: { image: 'ccb-no-such-image', command: ['true'] } },
    });
    const e = await applyStack(synthJson(stack), { api: node.api, images }).catch((x) => x);
    expect(e).toBeInstanceOf(ApplyError);
    expect(e.message).toMatch(/did not converge after 3s/);
    expect(await api('/services')).toEqual([]);
  });

  test.each([
    ['a field it does not implement', { taskSpec: { containerSpec: { ...sleeper(), sysctl: { 'net.core.somaxconn': '1024' } } } }, /field 'task_spec\.container_spec\.sysctl' is not supported/],
    ['a nested block it does not implement', { taskSpec: { containerSpec: sleeper(), resources: { limits: { memoryBytes: 1 << 26 } } } }, /field 'task_spec\.resources' is not supported/],
    ['a service-level block it does not implement', { updateConfig: { parallelism: 1 }, taskSpec: { containerSpec: sleeper() } }, /field 'update_config' is not supported/],
    ['a function it does not evaluate', { taskSpec: { containerSpec: sleeper({ hostname: Fn.md5('x') }) } }, /expression '\$\{md5\("x"\)\}' is not supported by the test applier: the function md5\(\)/],
    ['converge_config on a global service', { mode: { global: true }, convergeConfig: {}, taskSpec: { containerSpec: sleeper() } }, /conflicts with converge_config/],
  ])('refuses %s, naming it', async (_what, config, message) => {
    const stack = dockerStack('swarm-refused');
    new Service(stack, 'svc', { name: 'refused', ...(config as any) });
    const e = await applyStack(synthJson(stack), { api: node.api, images }).catch((x) => x);
    expect(e).toBeInstanceOf(ApplyError);
    expect(e.message).toMatch(message);
    expect(await api('/services')).toEqual([]);
  });

  test('refuses secret data that is not standard base64, as the provider\'s validator does', async () => {
    const stack = dockerStack('swarm-b64');
    new Secret(stack, 's', { name: 'not-base64', data: 'cGFzc3dvcmQ' }); // unpadded
    await expect(applyStack(synthJson(stack), { api: node.api })).rejects.toThrow(/data is not standard base64/);
    expect(await api('/secrets')).toEqual([]);
  });
});
