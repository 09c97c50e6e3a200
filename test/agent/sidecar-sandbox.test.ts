/** The sandbox itself: Terraform strings, and Docker's behaviour it reproduces. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AGENT_SCRIPT_PATH, terraformEscape } from '../../src/agent/agent-asset';
import { Quiesce } from '../../src';
import {
  containerArgv,
  DockerContainerResource,
  healthcheckArgv,
  installAgent,
  runSidecar,
} from '../support/sidecar-sandbox';
import { renderTerraformString, terraformUnescape } from '../support/terraform-string';
import { agentPlanOf } from '../support/synth';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';
import { TEST_PASSWORD, agentSourceFile } from '../support/test-values';

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

  test("undoes exactly the library's escaping of the agent script", () => {
    const script = fs.readFileSync(agentSourceFile(), 'utf8');
    const escaped = terraformEscape(script);
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
    entrypoint: ['/bin/sh', '/backup/install/bin/backup-agent'],
    command: ['daemon'],
    healthcheck: [{ test: ['CMD', '/bin/sh', '/backup/install/bin/backup-agent', 'health'] }],
  };

  test('entrypoint + command, or the command replaced', () => {
    expect(containerArgv(resource)).toEqual(['/bin/sh', '/backup/install/bin/backup-agent', 'daemon']);
    expect(containerArgv(resource, { command: ['run'] })).toEqual(['/bin/sh', '/backup/install/bin/backup-agent', 'run']);
  });

  test("without an entrypoint, the image's ENTRYPOINT (restic) runs the command", () => {
    expect(containerArgv({ command: ['daemon'] })).toEqual(['restic', 'daemon']);
  });

  test('healthcheck CMD and CMD-SHELL', () => {
    expect(healthcheckArgv(resource)).toEqual(['/bin/sh', '/backup/install/bin/backup-agent', 'health']);
    expect(healthcheckArgv({ healthcheck: { test: ['CMD-SHELL', 'test -f /x'] } })).toEqual(['/bin/sh', '-c', 'test -f /x']);
  });
});

describe('the sandbox reproduces Docker', () => {
  // A `${...}` of the application's own (the quiesce command) reaches the plan escaped.
  const COMMAND = ['sh', '-c', 'echo "a ${literal} b"'];
  let sidecar: SynthesizedSidecar;

  beforeAll(() => {
    sidecar = synthesizedSidecar({ targets: ['disk'], backup: { quiesce: Quiesce.exec(COMMAND) }, env: { EXTRA: 'from the env hook' } });
  });

  afterAll(() => sidecar.cleanup());

  const sh = (script: string, extra = {}) => sidecar.run({ exec: ['/bin/sh', '-c', script], ...extra });

  test('read-only root, install volume and source volumes fail writes with EROFS; the state volume, tmpfs and targets are writable', async () => {
    const r = await sh(
      'touch /new 2>&1; touch /backup/sources/appdata/new 2>&1; touch /backup/install/new 2>&1; touch /backup/agent/new && echo state-ok; touch /tmp/new && echo tmp-ok; touch /backup/targets/disk/new && echo target-ok',
    );
    expect(r.stdout).toBe(
      'touch: /new: Read-only file system\ntouch: /backup/sources/appdata/new: Read-only file system\n' +
        'touch: /backup/install/new: Read-only file system\nstate-ok\ntmp-ok\ntarget-ok\n',
    );
    expect(fs.existsSync(path.join(sidecar.stateDir, 'new'))).toBe(true);
  });

  test('the environment is exactly the container env, Terraform escapes undone, plus PATH, HOME and HOSTNAME (and the env hook)', async () => {
    // the synthesized env is only where the plan is; an entry with an escaped `${` of its own
    // (as terraformLiteral writes a user's value) shows the escapes undone
    expect(sidecar.resource.env).toEqual(['BACKUP_PLAN=/backup/install/agent.json']);
    const resource = { ...sidecar.resource, env: [...(sidecar.resource.env as string[]), 'LITERAL=echo "a $${literal} b" %%{x}'] };
    const r = await runSidecar(resource, sidecar.sandbox({ exec: ['/bin/sh', '-c', 'env | sort'] }));
    const expected = (resource.env as string[]).map((e) => terraformUnescape(e));
    expect(r.stdout.trim().split('\n').filter((l) => !/^(PWD|SHLVL|_)=/.test(l)).sort()).toEqual(
      [...expected, 'PATH=/bin:/usr/bin', 'HOME=/root', 'HOSTNAME=db-backup', 'EXTRA=from the env hook'].sort(),
    );
    expect(r.stdout).toContain('LITERAL=echo "a ${literal} b" %{x}\n');
    expect(r.stdout).toContain('BACKUP_PLAN=/backup/install/agent.json\n');
  });

  test('the installed plan is the uploaded agent.json, Terraform escapes undone, mode 0444', async () => {
    const upload = sidecar.installer.upload!.find((u) => u.file === '/backup/staging/agent.json')!;
    expect(upload.content).toContain('a $${literal} b');
    const r = await sh('stat -c "%a" "$BACKUP_PLAN"; cat "$BACKUP_PLAN"');
    const [mode, ...json] = r.stdout.split('\n');
    expect(mode).toBe('444');
    const installed = JSON.parse(json.join('\n'));
    expect(installed.quiesce.command).toEqual(COMMAND);
    // as synthesized (escapes undone; a local target has no reference to substitute)
    expect(installed).toEqual(agentPlanOf(sidecar.json, 'db'));
  });

  test('busybox applets shadow GNU coreutils, and capabilities are those of the resource', async () => {
    const r = await sh('for a in date timeout sh; do readlink "$(command -v $a)"; done; grep -E "^Cap(Eff|Bnd)" /proc/self/status; grep NoNewPrivs /proc/self/status');
    expect(r.stdout).toBe(
      '/usr/bin/busybox\n/usr/bin/busybox\n/usr/bin/busybox\nCapEff:\t0000000000000004\nCapBnd:\t0000000000000004\nNoNewPrivs:\t1\n',
    );
  });

  test('the /tmp tmpfs gets Docker defaults (noexec), and the installed files their modes', async () => {
    const r = await sh(`grep " /tmp " /proc/self/mounts; stat -c "%a %n" ${AGENT_SCRIPT_PATH} /backup/install/secrets/repository-password`);
    expect(r.stdout).toMatch(/ \/tmp tmpfs rw,nosuid,nodev,noexec,/);
    expect(r.stdout).toContain('555 /backup/install/bin/backup-agent\n400 /backup/install/secrets/repository-password\n');
  });

  test.each(['/etc/agent.conf', '/backup/agent/agent.conf', '/tmp/agent.conf'])(
    'refuses an upload to %s when the root is read-only, writable volume or not, with Docker\'s message',
    (file) => {
      const resource = { ...sidecar.resource, upload: [{ file, content: 'x' }] };
      expect(() => runSidecar(resource, sidecar.sandbox())).toThrow(/Error response from daemon: container rootfs is marked read-only/);
    },
  );

  test('accepts the same upload into a writable root, with the provider\'s modes (permissions, else 0744 executable, else 0644)', async () => {
    const resource = {
      ...sidecar.resource,
      read_only: false,
      upload: [
        { file: '/backup/agent/plain', content: 'x' },
        { file: '/opt/exec', content: 'x', executable: true },
        { file: '/srv/secret', content: 'x', permissions: '0400' },
      ],
    };
    const r = await runSidecar(resource, sidecar.sandbox({ exec: ['/bin/sh', '-c', 'stat -c "%a %u %n" /backup/agent/plain /opt/exec /srv/secret'] }));
    expect({ stdout: r.stdout, stderr: r.stderr }).toEqual({ stdout: '644 0 /backup/agent/plain\n744 0 /opt/exec\n400 0 /srv/secret\n', stderr: '' });
  });

  test('fails like docker run (125) when a bind source folder is missing', async () => {
    const resource: DockerContainerResource = {
      ...sidecar.resource,
      mounts: [...(sidecar.resource.mounts ?? []), { type: 'bind', source: '/srv/missing', target: '/data' }],
    };
    const missing = path.join(os.tmpdir(), 'sandbox-missing-bind-source');
    const r = await runSidecar(resource, sidecar.sandbox({ hostDirs: { ...sidecar.hostDirs, '/srv/missing': missing }, exec: ['true'] }));
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/sidecar-sandbox: bind source path does not exist: .*sandbox-missing-bind-source/);
  });

  test('a host folder that is itself read-only (readOnlyHostDirs) is read-only in every mount of it', async () => {
    const r = await sh('touch /backup/targets/disk/new 2>&1', { readOnlyHostDirs: ['/srv/backup/db/disk/repository'] });
    expect(r.stdout).toBe('touch: /backup/targets/disk/new: Read-only file system\n');
  });

  test('leaves nothing behind: no scratch folder, no mount', async () => {
    // (its own folder: other test files run sandboxes at the same time)
    const r = await sh('true');
    expect(r.scratchDir).toMatch(/sidecar-sandbox-/);
    expect(fs.existsSync(r.scratchDir)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(r.scratchDir);
  });
});

describe('the installer, run before the sidecar', () => {
  let sidecar: SynthesizedSidecar;

  beforeAll(() => {
    sidecar = synthesizedSidecar({ targets: ['disk'] });
  });

  afterAll(() => sidecar.cleanup());

  test('puts the agent (0555), its plan (0444) and the secrets (0400) on the install volume, from its own uploads', () => {
    const script = path.join(sidecar.installDir, 'bin', 'backup-agent');
    const plan = path.join(sidecar.installDir, 'agent.json');
    const password = path.join(sidecar.installDir, 'secrets', 'repository-password');
    expect(fs.readFileSync(script, 'utf8')).toBe(fs.readFileSync(agentSourceFile(), 'utf8'));
    expect(JSON.parse(fs.readFileSync(plan, 'utf8'))).toEqual(agentPlanOf(sidecar.json, 'db'));
    expect(fs.readFileSync(password, 'utf8')).toBe(TEST_PASSWORD);
    expect((fs.statSync(script).mode & 0o7777).toString(8)).toBe('555');
    expect((fs.statSync(plan).mode & 0o7777).toString(8)).toBe('444');
    expect((fs.statSync(password).mode & 0o7777).toString(8)).toBe('400');
    expect(fs.readdirSync(sidecar.installDir).sort()).toEqual(['agent.json', 'bin', 'secrets']);
    expect(sidecar.resource.upload).toBeUndefined();
  });

  test('runs with its own entrypoint and the resource\'s hardening, and can run again (a re-deploy)', async () => {
    const r = await installAgent(sidecar.installer, { hostDirs: sidecar.hostDirs, terraformValues: sidecar.terraformValues });
    expect(r.argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(r.stdout).toBe('backup agent installed: 1 secret file(s)\n');
    expect(fs.readFileSync(path.join(sidecar.installDir, 'secrets', 'repository-password'), 'utf8')).toBe(TEST_PASSWORD);
  });

  test('fails loudly, with its output, when it exits non-zero', async () => {
    const broken = { ...sidecar.installer, entrypoint: ['/bin/sh', '-c', 'echo "cannot write the volume" >&2; exit 3'] };
    await expect(installAgent(broken, { hostDirs: sidecar.hostDirs, terraformValues: sidecar.terraformValues })).rejects.toThrow(
      /the installer db-backup-install failed \(exit 3\)[\s\S]*cannot write the volume/,
    );
  });

  test('with a read-only root it would get no upload at all: refused with Docker\'s message', async () => {
    const readOnly = { ...sidecar.installer, read_only: true };
    await expect(installAgent(readOnly, { hostDirs: sidecar.hostDirs, terraformValues: sidecar.terraformValues })).rejects.toThrow(
      /container rootfs is marked read-only/,
    );
  });
});
