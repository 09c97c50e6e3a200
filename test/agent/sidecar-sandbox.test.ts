/** The sandbox itself: Terraform strings, and Docker's behaviour it reproduces. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { handBuiltSidecar, HandBuiltSidecar, terraformEscapeForFixture } from '../support/hand-built-sidecar-fixture';
import {
  containerArgv,
  DockerContainerResource,
  healthcheckArgv,
  renderTerraformString,
  runSidecar,
  terraformUnescape,
} from '../support/sidecar-sandbox';

describe('terraformUnescape', () => {
  test.each([
    ['$${HOME}', '${HOME}'],
    ['%%{ if x }', '%{ if x }'],
    ['a $$ b $$$${x}', 'a $$ b $$${x}'],
    ['echo "$${a:-$${b}}" %%{x} $$', 'echo "${a:-${b}}" %{x} $$'],
    ['no escapes, $x and ${x} stay', 'no escapes, $x and ${x} stay'],
  ])('%p -> %p', (input, expected) => {
    expect(terraformUnescape(input)).toBe(expected);
  });

  test('undoes exactly the fixture escaping of the agent script', () => {
    const script = fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'agent', 'backup-agent.sh'), 'utf8');
    const escaped = terraformEscapeForFixture(script);
    expect(escaped).not.toMatch(/(^|[^$])\$\{/);
    expect(terraformUnescape(escaped)).toBe(script);
  });
});

describe('renderTerraformString', () => {
  test('substitutes references and undoes escapes', () => {
    expect(renderTerraformString('pw=${var.password} lit=$${var.password}', { 'var.password': 's3cret' })).toBe('pw=s3cret lit=${var.password}');
  });

  test('refuses a reference without a value: Terraform would have interpolated it', () => {
    expect(() => renderTerraformString('echo "${HOME}"', {}, 'upload[0].content')).toThrow(
      /Terraform would interpolate \$\{HOME\} in upload\[0\]\.content; pass its value in terraformValues\['HOME'\] \(or the text was not escaped/,
    );
  });

  test('refuses an unescaped template directive', () => {
    expect(() => renderTerraformString('printf "%{x}"')).toThrow(/template directive %\{x\}.*escape it as %%\{/);
  });
});

describe('argv the container runs', () => {
  const resource: DockerContainerResource = {
    entrypoint: ['/bin/sh', '/backup/agent/bin/backup-agent'],
    command: ['daemon'],
    healthcheck: [{ test: ['CMD', '/bin/sh', '/backup/agent/bin/backup-agent', 'health'] }],
  };

  test('entrypoint + command, or the command replaced', () => {
    expect(containerArgv(resource)).toEqual(['/bin/sh', '/backup/agent/bin/backup-agent', 'daemon']);
    expect(containerArgv(resource, { command: ['run'] })).toEqual(['/bin/sh', '/backup/agent/bin/backup-agent', 'run']);
  });

  test("without an entrypoint, the image's ENTRYPOINT (restic) runs the command", () => {
    expect(containerArgv({ command: ['daemon'] })).toEqual(['restic', 'daemon']);
  });

  test('healthcheck CMD and CMD-SHELL', () => {
    expect(healthcheckArgv(resource)).toEqual(['/bin/sh', '/backup/agent/bin/backup-agent', 'health']);
    expect(healthcheckArgv({ healthcheck: { test: ['CMD-SHELL', 'test -f /x'] } })).toEqual(['/bin/sh', '-c', 'test -f /x']);
  });
});

describe('the sandbox reproduces Docker', () => {
  let fixture: HandBuiltSidecar;

  beforeAll(() => {
    fixture = handBuiltSidecar({ targets: [{ name: 'disk' }], env: { WITH_DOLLAR: 'a ${literal} b' } });
  });

  afterAll(() => fixture.cleanup());

  const sh = (script: string, extra = {}) => runSidecar(fixture.resource, fixture.sandbox({ exec: ['/bin/sh', '-c', script], ...extra }));

  test('read-only root and read-only source volumes fail writes with EROFS; volumes and tmpfs are writable', async () => {
    const r = await sh(
      'touch /new 2>&1; touch /backup/sources/appdata/new 2>&1; touch /backup/agent/new && echo state-ok; touch /tmp/new && echo tmp-ok; touch /backup/targets/disk/new && echo target-ok',
    );
    expect(r.stdout).toBe(
      'touch: /new: Read-only file system\ntouch: /backup/sources/appdata/new: Read-only file system\nstate-ok\ntmp-ok\ntarget-ok\n',
    );
    expect(fs.existsSync(path.join(fixture.stateDir, 'new'))).toBe(true);
  });

  test('the environment is exactly the container env, plus PATH and HOME', async () => {
    const r = await sh('env | sort');
    const expected = (fixture.resource.env as string[]).map((e) => terraformUnescape(e));
    expect(r.stdout.trim().split('\n').filter((l) => !/^(PWD|SHLVL|_)=/.test(l)).sort()).toEqual(
      [...expected, 'PATH=/bin:/usr/bin', 'HOME=/root'].sort(),
    );
    expect(r.stdout).toContain('WITH_DOLLAR=a ${literal} b\n');
  });

  test('busybox applets shadow GNU coreutils, and capabilities are those of the resource', async () => {
    const r = await sh('for a in date timeout sh; do readlink "$(command -v $a)"; done; grep -E "^Cap(Eff|Bnd)" /proc/self/status; grep NoNewPrivs /proc/self/status');
    expect(r.stdout).toBe(
      '/usr/bin/busybox\n/usr/bin/busybox\n/usr/bin/busybox\nCapEff:\t0000000000000004\nCapBnd:\t0000000000000004\nNoNewPrivs:\t1\n',
    );
  });

  test('the /tmp tmpfs gets Docker defaults (noexec) and the uploads their modes', async () => {
    const r = await sh('grep " /tmp " /proc/self/mounts; stat -c "%a %n" /backup/agent/bin/backup-agent /backup/agent/secrets/repository-password');
    expect(r.stdout).toMatch(/ \/tmp tmpfs rw,nosuid,nodev,noexec,/);
    expect(r.stdout).toContain('744 /backup/agent/bin/backup-agent\n644 /backup/agent/secrets/repository-password\n');
  });

  test('refuses an upload outside any volume when the root is read-only, as Docker does', () => {
    const resource = { ...fixture.resource, upload: [{ file: '/etc/agent.conf', content: 'x' }] };
    expect(() => runSidecar(resource, fixture.sandbox())).toThrow(/container rootfs is marked read-only/);
  });

  test('fails like docker run (125) when a bind source folder is missing', async () => {
    const resource: DockerContainerResource = {
      ...fixture.resource,
      mounts: [...(fixture.resource.mounts ?? []), { type: 'bind', source: '/srv/missing', target: '/data' }],
    };
    const missing = path.join(os.tmpdir(), 'sandbox-missing-bind-source');
    const r = await runSidecar(resource, fixture.sandbox({ hostDirs: { ...fixture.hostDirs, '/srv/missing': missing }, exec: ['true'] }));
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/sidecar-sandbox: bind source path does not exist: .*sandbox-missing-bind-source/);
  });

  test('leaves nothing behind: no scratch folder, no mount', async () => {
    const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('sidecar-sandbox-'));
    await sh('true');
    expect(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('sidecar-sandbox-'))).toEqual(before);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('sidecar-sandbox-');
  });
});
