/**
 * The applier (test/support/engine/applier.ts) on the real engine: it deploys a cdk.tf.json in
 * kreuzwerker/docker's call order, and Docker's own rules show through it. Stand-in image: a
 * throwaway busybox (Debian's /bin/busybox, its libraries and a few applet links, imported with
 * `docker import`) until test/support/engine/images.ts lands; it stands in for nothing official.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { TerraformVariable } from 'cdktf';
import { applyStack, ApplyError, Deployment } from '../support/engine/applier';
import { DockerApi } from '../support/engine/docker-api';
import { currentEngine, docker, dockerOk } from '../support/engine/docker-engine';
import { dockerStack, synthJson } from '../support/synth';

const IMAGE = 'ccb-applier-busybox:test';
const APPLETS = ['sh', 'cat', 'stat', 'sleep', 'echo', 'ls', 'touch', 'true', 'ip', 'nc', 'httpd'];
const api = () => DockerApi.forTestEngine();
const engine = () => currentEngine();
let tmp: string;
const deployments: Deployment[] = [];
let n = 0;
/** A name no other test (or run of this file) uses. */
const unique = (base: string) => `applier-${base}-${process.pid}-${++n}`;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ccb-applier-'));
  const root = path.join(tmp, 'rootfs');
  const ldd = spawnSync('ldd', ['/bin/busybox'], { encoding: 'utf8' }).stdout;
  const libs = [...ldd.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
  for (const f of ['/bin/busybox', ...libs]) {
    fs.mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
    fs.copyFileSync(fs.realpathSync(f), path.join(root, f));
    fs.chmodSync(path.join(root, f), 0o755);
  }
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(root, 'bin', a));
  for (const d of ['tmp', 'data', 'proc', 'sys', 'dev', 'etc']) fs.mkdirSync(path.join(root, d), { recursive: true });
  const tar = spawnSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 }).stdout;
  dockerOk(engine(), ['import', '--change', 'CMD ["/bin/sh"]', '-', IMAGE], tar);
});

afterEach(async () => {
  for (const d of deployments.splice(0)) await d.destroy({ volumes: true });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function deploy(json: any, options: Parameters<typeof applyStack>[1] = {}): Promise<Deployment> {
  const d = await applyStack(json, options);
  deployments.push(d);
  return d;
}
async function inspect(id: string): Promise<any> {
  return (await api().call('GET', `/containers/${id}/json`)).json();
}
function exec(name: string, ...cmd: string[]): string {
  return dockerOk(engine(), ['exec', name, ...cmd]);
}
const sleeper = (name: string, extra: object = {}) => ({ name, image: IMAGE, entrypoint: ['/bin/sleep'], command: ['3600'], ...extra });

describe('Docker facts, through the provider\'s call order', () => {
  test('fact 1: a read_only container with an upload fails at step 3, even for a file on a writable named volume', async () => {
    const name = unique('ro');
    const volume = unique('ro-data');
    const stack = (readOnly: boolean) => ({
      resource: {
        docker_volume: { data: { name: volume } },
        docker_container: {
          c: sleeper(name, {
            read_only: readOnly,
            mounts: [{ type: 'volume', source: '${docker_volume.data.name}', target: '/data' }],
            upload: [{ file: '/data/agent.conf', content: 'x=1\n' }],
          }),
        },
      },
    });
    const failure = await applyStack(stack(true)).catch((e) => e);
    expect(failure).toBeInstanceOf(ApplyError);
    expect(failure.step).toBe('CopyToContainer /data/agent.conf');
    expect(failure.dockerMessage).toContain('container rootfs is marked read-only');
    expect(docker(engine(), ['inspect', name]).status).not.toBe(0); // what it made is removed again

    // The same container with a writable root deploys, and the file lands on the volume.
    await deploy(stack(false));
    expect(exec(name, 'cat', '/data/agent.conf')).toBe('x=1\n');
  });

  test('fact 2: networks_advanced with one internal network: on that network only, no way out of it', async () => {
    const [name, net, other, web] = [unique('internal'), unique('net'), unique('bridged'), unique('web')];
    const d = await deploy({
      resource: {
        docker_network: { n: { name: net, internal: true } },
        docker_container: {
          c: sleeper(name, { networks_advanced: [{ name: '${docker_network.n.name}', aliases: ['api'] }] }),
          b: sleeper(other, { networks_advanced: [], ports: [] }), // empty lists: as unset (the provider's GetOk)
          web: {
            name: web, image: IMAGE, entrypoint: ['/bin/httpd'], command: ['-f', '-p', '8080', '-h', '/www'],
            upload: [{ file: '/www/index.html', content: 'reachable' }],
            ports: [{ internal: 8080 }], // published on a random port of the engine's host side
          },
        },
      },
    });
    const c = await inspect(d.containerId(name));
    expect(Object.keys(c.NetworkSettings.Networks)).toEqual([net]);
    expect(c.NetworkSettings.Networks[net].Aliases).toContain('api');
    // Engine 20.10 still gives it a default route, but only into the internal bridge (its gateway
    // address), where Docker's isolation rules drop whatever would leave the network.
    const gateway = (await api().call('GET', `/networks/${net}`)).json().IPAM.Config[0].Gateway;
    expect(exec(name, 'ip', 'route')).toContain(`default via ${gateway} dev eth0`);
    expect(exec(name, 'ip', '-o', 'link').match(/^\d+: eth\d+/gm)).toHaveLength(1);
    // (nc, not wget: the throwaway image's busybox wget crashes without the files NSS wants.)
    const ip = (await inspect(d.containerId(web))).NetworkSettings.Networks.bridge.IPAddress;
    const published = (await inspect(d.containerId(web))).NetworkSettings.Ports['8080/tcp'][0].HostPort;
    const get = (from: string, to: string) => docker(engine(), ['exec', from, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${to}`]).stdout;
    expect(get(other, `${ip} 8080`)).toContain('reachable'); // from the default bridge: yes
    expect(get(name, `${ip} 8080`)).not.toContain('reachable'); // from the internal network: no
    const bridgeGateway = (await inspect(d.containerId(other))).NetworkSettings.Networks.bridge.Gateway;
    expect(get(other, `${bridgeGateway} ${published}`)).toContain('reachable'); // the published port works...
    expect(get(name, `${gateway} ${published}`)).not.toContain('reachable'); // ...but not from the internal network
    expect(Object.keys((await inspect(d.containerId(other))).NetworkSettings.Networks)).toEqual(['bridge']);
  });
});

describe('the applier', () => {
  test('uploads land with the provider\'s modes, root-owned, escapes undone, long paths kept', async () => {
    const name = unique('uploads');
    const long = `/data/${'deep/'.repeat(25)}file.txt`;
    await deploy({
      variable: { greeting: { type: 'string' } },
      resource: {
        docker_container: {
          c: sleeper(name, {
            upload: [
              { file: '/etc/plain', content: 'echo "$${HOME}" %%{ if } ${var.greeting}\n' },
              { file: '/usr/local/bin/tool', content: '#!/bin/sh\n', executable: true },
              { file: '/etc/secret', content: 's3cret', executable: true, permissions: '0600' },
              { file: '/etc/binary', content_base64: Buffer.from([0, 1, 2, 255]).toString('base64') },
              { file: long, content: 'long' },
            ],
          }),
        },
      },
    }, { variables: { greeting: 'hello' } });
    const stat = (f: string) => exec(name, 'stat', '-c', '%a %u:%g', f).trim();
    expect(stat('/etc/plain')).toBe('644 0:0');
    expect(stat('/usr/local/bin/tool')).toBe('744 0:0');
    expect(stat('/etc/secret')).toBe('600 0:0'); // permissions wins over executable
    expect(exec(name, 'cat', '/etc/plain')).toBe('echo "${HOME}" %{ if } hello\n');
    expect(Buffer.from(dockerOk(engine(), ['exec', name, 'cat', '/etc/binary']), 'latin1')).toHaveLength(4);
    expect(exec(name, 'cat', long)).toBe('long');
  });

  test('resolves var (sensitive too), local, remote state and escapes; maps healthcheck, labels, binds as the provider does', async () => {
    const name = unique('config');
    const hostDir = fs.mkdtempSync(path.join(tmp, 'disk-'));
    const d = await deploy({
      variable: { pw: { type: 'string', sensitive: true } },
      locals: { tag: 'v-${var.pw}' },
      data: { terraform_remote_state: { 'cross-stack-reference-input-storage': { backend: 'local', workspace: '${terraform.workspace}' } } },
      resource: {
        docker_container: {
          c: sleeper(name, {
            env: ['PW=${var.pw}', 'TAG=${local.tag}', 'BUCKET=${data.terraform_remote_state.cross-stack-reference-input-storage.outputs.bucket}', 'LIT=$${NOT_A_VAR}'],
            labels: [{ label: 'role', value: 'sidecar' }],
            healthcheck: { test: ['CMD', '/bin/true'], interval: '1m30s', timeout: '10s', start_period: '120s', retries: 3 },
            volumes: [{ host_path: '/mnt/backup-disk/db', container_path: '/target' }],
            capabilities: { drop: ['ALL'] },
            security_opts: ['no-new-privileges:true'],
            tmpfs: { '/tmp': 'rw,size=8m' },
            restart: 'unless-stopped',
            hostname: 'fixed-host',
          }),
        },
      },
    }, { variables: { pw: 'p@ss' }, remoteState: { storage: { bucket: 'b-123' } }, hostPaths: { '/mnt/backup-disk': hostDir } });
    const c = await inspect(d.containerId(name));
    expect(c.Config.Env).toEqual(expect.arrayContaining(['PW=p@ss', 'TAG=v-p@ss', 'BUCKET=b-123', 'LIT=${NOT_A_VAR}']));
    expect(c.Config.Labels).toEqual({ role: 'sidecar' });
    expect(c.Config.Healthcheck).toEqual({ Test: ['CMD', '/bin/true'], Interval: 90e9, Timeout: 10e9, StartPeriod: 120e9, Retries: 3 });
    expect(c.HostConfig.Binds).toEqual([`${hostDir}/db:/target:rw`]);
    expect(c.HostConfig.CapDrop).toEqual(['ALL']);
    expect(c.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(c.HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    expect(c.Config.Hostname).toBe('fixed-host');
    exec(name, 'touch', '/target/written-by-container');
    expect(fs.existsSync(path.join(hostDir, 'db', 'written-by-container'))).toBe(true);
  });

  test('orders by references and depends_on; attach waits for the one-shot, whose failing exit code does not fail the apply', async () => {
    const [app, init, vol] = [unique('app'), unique('init'), unique('shared')];
    const d = await deploy({
      resource: {
        docker_container: {
          // Declared first, but depends on the init container and (by reference) on the volume.
          app: sleeper(app, {
            depends_on: ['docker_container.init'],
            entrypoint: ['/bin/sh', '-c'],
            command: ['cat /shared/ready && exec sleep 3600'],
            mounts: [{ type: 'volume', source: '${docker_volume.shared.name}', target: '/shared' }],
          }),
          init: {
            name: init, image: IMAGE, attach: true, must_run: false,
            entrypoint: ['/bin/sh', '-c'], command: ['sleep 2; echo ready > /shared/ready; exit 3'],
            mounts: [{ type: 'volume', source: '${docker_volume.shared.name}', target: '/shared' }],
          },
        },
        docker_volume: { shared: { name: vol, lifecycle: { prevent_destroy: true } } },
      },
    });
    expect(d.order).toEqual(['docker_volume.shared', 'docker_container.init', 'docker_container.app']);
    expect(d.exitCode(init)).toBe(3);
    const [i, a] = [await inspect(d.containerId(init)), await inspect(d.containerId(app))];
    expect(Date.parse(i.State.FinishedAt)).toBeLessThanOrEqual(Date.parse(a.State.StartedAt));
    expect(a.State.Running).toBe(true);
  });

  test('a postcondition on the exit code (the installers\' `${self.exit_code == 0}`) fails the apply with its message and the logs, and what was made is removed', async () => {
    const [name, vol] = [unique('post'), unique('post-vol')];
    const oneShot = (command: string) => ({
      name, image: IMAGE, attach: true, must_run: false, entrypoint: ['/bin/sh', '-c'], command: [command],
      lifecycle: { postcondition: [{ condition: '${self.exit_code == 0}', error_message: 'the initializer failed' }] },
    });
    const e = await applyStack({ resource: { docker_container: { c: oneShot('echo no credentials >&2; exit 4') }, docker_volume: { v: { name: vol } } } }).catch((x) => x);
    expect(e).toBeInstanceOf(ApplyError);
    expect([e.address, e.step]).toEqual(['docker_container.c', 'postcondition']);
    expect(e.message).toMatch(/exit_code = 4\): the initializer failed[\s\S]*no credentials/);
    expect(docker(engine(), ['inspect', name]).status).not.toBe(0);
    // Exit 0 passes; another form of condition is refused by name.
    const d = await deploy({ resource: { docker_container: { c: oneShot('exit 0') } } });
    expect(d.exitCode(name)).toBe(0);
    await d.destroy();
    const refused = await applyStack({ resource: { docker_container: { c: { ...oneShot('exit 0'), lifecycle: { postcondition: [{ condition: '${self.exit_code < 1}', error_message: 'x' }] } } } } }).catch((x) => x);
    expect(refused.message).toMatch(/postcondition "\$\{self\.exit_code < 1\}" is not supported/);
    docker(engine(), ['volume', 'rm', vol]);
  });

  test('must_run: a container not running after start fails the apply with its logs, and is removed', async () => {
    const name = unique('crash');
    const e = await applyStack({
      resource: { docker_container: { c: { name, image: IMAGE, entrypoint: ['/bin/sh', '-c'], command: ['echo boom >&2; exit 1'], attach: true } } },
    }).catch((x) => x);
    expect(e).toBeInstanceOf(ApplyError);
    expect(e.step).toBe('must_run');
    expect(e.message).toMatch(/exit code 1[\s\S]*boom/);
    expect(docker(engine(), ['inspect', name]).status).not.toBe(0);
  });

  test('reapply re-creates one container; destroy removes containers and networks and keeps volumes', async () => {
    const [name, net, vol] = [unique('re'), unique('re-net'), unique('re-vol')];
    const d = await applyStack({
      resource: {
        docker_network: { n: { name: net } },
        docker_volume: { v: { name: vol } },
        docker_container: { c: sleeper(name, { network_mode: '${docker_network.n.name}', mounts: [{ type: 'volume', source: vol, target: '/data' }], depends_on: ['docker_volume.v'] }) },
      },
    });
    const before = d.containerId(name);
    await d.reapply('c');
    expect(d.containerId(name)).not.toBe(before);
    expect((await inspect(d.containerId(name))).State.Running).toBe(true);
    await d.destroy();
    expect(docker(engine(), ['inspect', name]).status).not.toBe(0);
    expect(docker(engine(), ['network', 'inspect', net]).status).not.toBe(0);
    expect(dockerOk(engine(), ['volume', 'inspect', '--format', '{{.Name}}', vol]).trim()).toBe(vol);
    dockerOk(engine(), ['volume', 'rm', vol]);
  });

  test.each([
    ['an unknown expression', { env: ['X=${jsonencode(var.x)}'] }, /expression '\$\{jsonencode\(var\.x\)\}' is not supported/],
    ['a template directive', { env: ['X=%{ if true }y%{ endif }'] }, /template directive/],
    ['an unsupported field', { privileged: true }, /field 'privileged' is not supported/],
    ['an unsupported nested field', { mounts: [{ type: 'bind', source: '/x', target: '/y', bind_options: { propagation: 'rslave' } }] }, /field 'mounts\.bind_options' is not supported/],
    ['an unmapped host path', { volumes: [{ host_path: '/etc', container_path: '/host-etc' }] }, /host path '\/etc' is not mapped/],
    ['a variable with no value', { env: ['X=${var.missing}'] }, /undeclared variable 'missing'/],
    ['an operator', { env: ['X=${1 + 2}'] }, /expression '\$\{1 \+ 2\}' is not supported by the test applier/],
    ['a reference it does not resolve', { env: ['X=${docker_image.x.name}'] }, /expression '\$\{docker_image\.x\.name\}' is not supported by the test applier: the reference 'docker_image\.x\.name'/],
    ['a function called with the wrong number of arguments', { env: ['X=${substr("abc", 1)}'] }, /substr\(\) takes 3 argument/],
  ])('refuses %s, naming it', async (_what, extra, message) => {
    const e = await applyStack({ resource: { docker_container: { c: sleeper(unique('refused'), extra) } } }).catch((x) => x);
    expect(e).toBeInstanceOf(ApplyError);
    expect(e.message).toMatch(message);
  });

  test('evaluates base64encode, sha256 and substr, nested, in templates, with escapes, exactly as Terraform 1.11 evaluates the same JSON', async () => {
    // GIVEN one JSON configuration, read by the applier (labels of a volume) and by Terraform (terraform console)
    const locals = {
      text: 'e\u0301\u{1F914}\u{1F1E9}\u{1F1EA}b\u{1F469}\u200D\u{1F469}\u200D\u{1F467} hello world', // a combining accent, a flag, a ZWJ family
      plan: '{"schema":1,"host":"db-host"}',
      quoted: 'a "b" <c> & \u2028',
    };
    const templates = [
      '${base64encode(local.text)}',
      '${sha256(local.text)}',
      'db-plan-${substr(sha256(local.plan), 0, 12)}',
      '${substr(local.text, 1, 2)}|${substr(local.text, 3, 1)}|${substr(local.text, -11, -1)}|${substr(local.text, -2, 0)}',
      '${substr(local.text, 0, 0)}|${substr(local.text, 40, 3)}|${substr(local.text, -100, 2)}|${substr(local.text, "4", 1)}|${substr(local.text, 2, -7)}',
      '${base64encode(substr(local.text, 0, 1))}', // the literal is NFC-normalized first: one character, U+00E9
      'x-${base64encode("${local.plan}\\t\\"q\\" \\u00e9 $${lit}")}-z',
      '$${not-an-expression} %%{ nor-a-directive } ${sha256("")} ${base64encode(1)}',
      '{{.Node.Hostname}}-${substr(sha256("node"), 0, 4)}',
      '{"q":"${trimsuffix(trimprefix(jsonencode(local.quoted), "\\""), "\\"")}"}',
    ];
    const name = unique('functions');
    // WHEN the applier applies them
    await deploy({ locals, resource: { docker_volume: { v: { name, labels: templates.map((t, i) => ({ label: `t${i}`, value: t })) } } } });
    const applied = (await api().call('GET', `/volumes/${name}`)).json().Labels;
    // THEN each is what Terraform makes of the same string
    const dir = fs.mkdtempSync(path.join(tmp, 'tf-console-'));
    fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ locals: { ...locals, ...Object.fromEntries(templates.map((t, i) => [`t${i}`, t])) } }));
    const tf = spawnSync('terraform', ['console'], {
      cwd: dir, encoding: 'utf8', input: `base64encode(jsonencode([${templates.map((_, i) => `local.t${i}`).join(', ')}]))\n`,
      env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1' },
    });
    expect(tf.stderr).toBe('');
    const terraform: string[] = JSON.parse(Buffer.from(JSON.parse(tf.stdout.trim()), 'base64').toString('utf8'));
    expect(templates.map((_, i) => applied[`t${i}`])).toEqual(terraform);
    expect(terraform[2]).toMatch(/^db-plan-[0-9a-f]{12}$/);
  });

  test('refuses resource types and data sources it does not apply', async () => {
    await expect(applyStack({ resource: { docker_image: { i: { name: 'x' } } } })).rejects.toThrow(/resource type 'docker_image' is not supported/);
    await expect(applyStack({ data: { docker_network: { n: { name: 'x' } } } })).rejects.toThrow(/data source 'docker_network' is not supported/);
  });

  test('deploys what cdktf synthesizes with @cdktf/provider-docker (single blocks as objects, sensitive variables)', async () => {
    const stack = dockerStack('applier');
    const [net, vol, name] = [unique('synth-net'), unique('synth-vol'), unique('synth')];
    const secret = new TerraformVariable(stack, 'secret', { type: 'string', sensitive: true });
    const network = new Network(stack, 'net', { name: net, internal: true });
    const volume = new Volume(stack, 'vol', { name: vol });
    new Container(stack, 'c', {
      name, image: 'stand-in/busybox:1@sha256:0000', entrypoint: ['/bin/sleep'], command: ['3600'],
      env: [`SECRET=${secret.stringValue}`],
      capabilities: { drop: ['ALL'] },
      healthcheck: { test: ['CMD', '/bin/true'], interval: '5s' },
      mounts: [{ type: 'volume', source: volume.name, target: '/data' }],
      networksAdvanced: [{ name: network.name }],
      upload: [{ file: '/data/run.sh', content: 'echo $${USER}\n', executable: true }],
    });
    const d = await deploy(synthJson(stack), { variables: { secret: 'xyz' }, images: { 'stand-in/busybox:1@sha256:0000': IMAGE } });
    const c = await inspect(d.containerId(name));
    expect(c.Config.Image).toBe(IMAGE);
    expect(c.Config.Env).toContain('SECRET=xyz');
    expect(Object.keys(c.NetworkSettings.Networks)).toEqual([net]);
    expect(exec(name, 'cat', '/data/run.sh')).toBe('echo ${USER}\n');
  });
});
