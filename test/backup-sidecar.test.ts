import { AGENT_SCRIPT_PATH, agentScript, terraformEscape } from '../src/agent/agent-asset';
import { INSTALL_STAGING_DIR, stagedPath } from '../src/agent/agent-install';
import { AGENT_PLAN_FILE } from '../src/agent/agent-plan';
import { AGENT_SCRIPT_LOCAL, SECCOMP_PROFILE_LOCAL } from '../src/docker/backup-sidecar';
import { TerraformStack } from 'cdktf';
import { BackupOptions, Medium, ProtectedContainer, Quiesce, Retention, Schedule, StorageTarget, Verification } from '../src';
import { dbStack, dockerStack, sensitiveVariable, synthJson, synthesizedDb } from './support/synth';
import { containerNamed } from './support/sidecar-harness';

function protectedDb() {
  const stack = dockerStack();
  new ProtectedContainer(stack, 'db', {
    image: 'postgres:16',
    volumes: [
      { name: 'pgdata', containerPath: '/var/lib/postgresql/data' },
      { name: 'pgcache', containerPath: '/cache', backup: false },
    ],
    backup: {
      schedule: Schedule.daily({ hour: 3 }),
      retention: Retention.gfs({ daily: 7, weekly: 4 }),
      targets: [
        StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK }),
        StorageTarget.localPath({ hostPath: '/mnt/nas/db/', medium: Medium.NAS, name: 'nas' }),
      ],
    },
  });
  return synthesizedDb(stack);
}

describe('BackupSidecar', () => {
  test('mounts every backed-up volume read-only and nothing else of the container', () => {
    // WHEN
    const { sidecar } = protectedDb();
    // THEN
    const sources = sidecar.mounts.filter((m: any) => m.target.startsWith('/backup/sources/'));
    expect(sources).toEqual([{ type: 'volume', source: 'pgdata', target: '/backup/sources/pgdata', read_only: true }]);
  });

  test('runs the pinned restic image with the agent as entrypoint', () => {
    const { sidecar } = protectedDb();
    expect(sidecar.image).toMatch(/^restic\/restic:[0-9.]+@sha256:[0-9a-f]{64}$/);
    expect(sidecar.entrypoint).toEqual(['/bin/sh', AGENT_SCRIPT_PATH]);
    expect(sidecar.command).toEqual(['daemon']);
  });

  test('is hardened: capabilities, no-new-privileges, read-only root, tmpfs, restart policy', () => {
    const { sidecar } = protectedDb();
    expect(sidecar.capabilities).toEqual({ drop: ['ALL'], add: ['DAC_READ_SEARCH'] });
    // the seccomp profile: Docker's default without open_by_handle_at, once per stack (b388375)
    expect(sidecar.security_opts).toEqual(['no-new-privileges:true', 'seccomp=${local.cdktf_container_backup_sidecar_seccomp}']);
    expect(sidecar.read_only).toBe(true);
    expect(Object.keys(sidecar.tmpfs)).toEqual(['/tmp']);
    expect(sidecar.restart).toBe('unless-stopped');
    expect(sidecar.privileged).toBeUndefined();
  });

  test('never mounts the Docker socket', () => {
    const { json } = protectedDb();
    expect(JSON.stringify(json)).not.toContain('docker.sock');
  });

  test('declares a healthcheck that runs the agent health command', () => {
    const { sidecar } = protectedDb();
    expect(sidecar.healthcheck.test).toEqual(['CMD', '/bin/sh', AGENT_SCRIPT_PATH, 'health']);
  });

  test('has no upload at all (Docker refuses any upload into a read-only root) and a fixed hostname', () => {
    const { sidecar } = protectedDb();
    expect(sidecar.upload).toBeUndefined();
    expect(sidecar.read_only).toBe(true);
    expect(sidecar.hostname).toBe('db-backup');
  });

  test('writes only to its state volume; the agent and its secrets come from the install volume, mounted read-only', () => {
    const { json, sidecar, installer } = protectedDb();
    const writable = sidecar.mounts.filter((m: any) => m.type === 'volume' && !m.read_only).map((m: any) => m.target);
    expect(writable).toEqual(['/backup/agent']);
    const volumeName = (ref: string) => json.resource.docker_volume[/^\$\{docker_volume\.([^.]+)\.name\}$/.exec(ref)![1]].name;
    const install = sidecar.mounts.find((m: any) => m.target === '/backup/install');
    expect(install).toMatchObject({ type: 'volume', read_only: true });
    expect(volumeName(install.source)).toBe('db-backup-install');
    // the installer writes that same volume
    expect(installer.mounts).toHaveLength(1);
    expect(installer.mounts[0]).toMatchObject({ type: 'volume', source: install.source, target: '/backup/install' });
    expect(installer.mounts[0].read_only).toBeUndefined();
  });

  test('the installer is a one-shot container: attached, not kept running, no network, no capability, no-new-privileges, writable root', () => {
    const { installer } = protectedDb();
    expect(installer).toMatchObject({
      name: 'db-backup-install',
      attach: true,
      must_run: false,
      restart: 'no',
      network_mode: 'none',
      read_only: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(installer.capabilities.add).toBeUndefined();
    expect(installer.security_opts).toContain('no-new-privileges:true');
    expect(installer.networks_advanced).toBeUndefined();
    expect(installer.entrypoint.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    // its uploads are staged in its own root, never on the install volume directly
    for (const upload of installer.upload) {
      expect(upload.file.startsWith(`${INSTALL_STAGING_DIR}/`)).toBe(true);
    }
    // a failed install is a failed deploy: the provider records the exit code and would not fail on it
    expect(installer.lifecycle.postcondition).toEqual([{ condition: '${self.exit_code == 0}', error_message: expect.stringMatching(/^host\/db\/backup: db-backup-install exited with an error.*Fix: read `docker logs db-backup-install`/) }]);
  });

  test('the sidecar is created after the installer and re-created with it (replace_triggered_by: a bare address)', () => {
    const { json, sidecar } = protectedDb();
    const [installerId] = Object.entries<any>(json.resource.docker_container).find(([, c]) => c.name === 'db-backup-install')!;
    expect(sidecar.depends_on).toContain(`docker_container.${installerId}`);
    // Terraform refuses an interpolation here ("Expected the start of an expression"): no ${...}
    expect(sidecar.lifecycle.replace_triggered_by).toEqual([`docker_container.${installerId}`]);
    expect(sidecar.lifecycle.replace_triggered_by[0]).toMatch(/^docker_container\.[A-Za-z0-9_-]+$/);
  });

  test('uploads the agent from the package to the installer, mode 0555, from one local of the stack (escaped for Terraform)', () => {
    const { installer, json } = protectedDb();
    const agent = installer.upload.find((u: any) => u.file === stagedPath(AGENT_SCRIPT_PATH));
    expect(agent.permissions).toBe('0555');
    expect(agent.content).toBe(`\${local.${AGENT_SCRIPT_LOCAL}}`);
    expect(json.locals[AGENT_SCRIPT_LOCAL]).toBe(terraformEscape(agentScript()));
  });

  test('two sidecars of a stack share one copy of the agent script and of the seccomp profile', () => {
    const stack = dockerStack();
    for (const name of ['db', 'cache']) {
      new ProtectedContainer(stack, name, {
        image: 'postgres:16',
        volumes: [{ name: `${name}-data`, containerPath: '/data' }],
        backup: { targets: [StorageTarget.localPath({ hostPath: `/mnt/backup-disk/${name}` })] },
      });
    }
    const json = synthJson(stack);
    expect(Object.keys(json.locals).sort()).toEqual([AGENT_SCRIPT_LOCAL, SECCOMP_PROFILE_LOCAL].sort());
    const text = JSON.stringify(json);
    expect(text.split('backup-agent: the restic backup agent').length - 1).toBe(1);
    for (const name of ['db', 'cache']) {
      const installer = containerNamed(json, `${name}-backup-install`);
      expect(installer.upload.find((u: any) => u.file === stagedPath(AGENT_SCRIPT_PATH)).content).toBe(`\${local.${AGENT_SCRIPT_LOCAL}}`);
    }
  });

  test('uploads the plan to the installer, mode 0444; the only variable the sidecar gets is where it is', () => {
    const { sidecar, installer } = protectedDb();
    expect(AGENT_PLAN_FILE).toBe('/backup/install/agent.json');
    const plan = installer.upload.find((u: any) => u.file === stagedPath(AGENT_PLAN_FILE));
    expect(plan.file).toBe('/backup/staging/agent.json');
    expect(plan.permissions).toBe('0444');
    expect(sidecar.env).toEqual(['BACKUP_PLAN=/backup/install/agent.json']);
    // no init credentials here: no init plan either
    expect(installer.upload.map((u: any) => u.file)).not.toContain('/backup/staging/init-plan.json');
  });

  test('uploads the password from the sensitive variable to the installer, never a literal, mode 0400', () => {
    const { json, installer } = protectedDb();
    const password = installer.upload.find((u: any) => u.file.endsWith('/repository-password'));
    expect(password.file).toBe('/backup/staging/secrets/repository-password');
    expect(password.content).toBe('${var.restic_password}');
    expect(password.permissions).toBe('0400');
    expect(json.variable.restic_password.sensitive).toBe(true);
  });

  test("each local target's repository subfolder is a host-path volume at its repository path; the installer alone mounts the folder above it", () => {
    // WHEN
    const { sidecar, installer, plan } = protectedDb();
    // THEN: the sidecar never sees the target folder, which the installer keeps root-owned 0700
    expect(sidecar.volumes).toEqual([
      { host_path: '/mnt/backup-disk/db/repository', container_path: '/backup/targets/local' },
      { host_path: '/mnt/nas/db/repository', container_path: '/backup/targets/nas' },
    ]);
    expect(installer.volumes).toEqual([
      { host_path: '/mnt/backup-disk/db', container_path: '/backup/target-folders/local' },
      { host_path: '/mnt/nas/db', container_path: '/backup/target-folders/nas' },
    ]);
    expect(installer.entrypoint[2]).toContain("prepare_local_target /backup/target-folders/local '/mnt/backup-disk/db'");
    expect(installer.entrypoint[2]).toContain("prepare_local_target /backup/target-folders/nas '/mnt/nas/db'");
    expect(plan.targets).toHaveLength(2);
    expect(plan.targets[0].repository).toBe('/backup/targets/local');
    expect(plan.targets[1].name).toBe('nas');
  });

  test('renders schedule, retention, host and health threshold for the agent', () => {
    const { plan } = protectedDb();
    expect(plan).toMatchObject({
      host: 'db',
      sources: ['/backup/sources/pgdata'],
      schedule: { expression: '0 3 * * *', minutes: [0], hours: [3] },
      retention: ['--keep-daily', '7', '--keep-weekly', '4'],
      healthMaxAgeSeconds: 2 * 86400,
    });
    for (const target of plan.targets) {
      expect(target.passwordFile).toBe('/backup/install/secrets/repository-password');
    }
  });

  test('the quiesce command reaches the agent as JSON, escaped for Terraform', () => {
    // WHEN
    const { installer, plan } = synthesizedDb(dbStack({ quiesce: Quiesce.exec(['sh', '-c', 'dump > "${HOME}/x"'], { timeoutSeconds: 30 }) }));
    // THEN
    const upload = installer.upload.find((u: any) => u.file === '/backup/staging/agent.json');
    expect(upload.content).toContain('"dump > \\"$${HOME}/x\\""');
    expect(upload.content).not.toMatch(/(^|[^$])\$\{HOME\}/);
    expect(plan.quiesce.mode).toBe('exec');
    expect(plan.quiesce.command).toEqual(['sh', '-c', 'dump > "${HOME}/x"']);
    expect(JSON.parse(plan.quiesce.execBody).Cmd).toEqual(['sh', '-c', 'dump > "${HOME}/x"']);
  });
});

describe('BackupSidecar: retention, prune, verification and notification settings for the agent', () => {
  function sidecarOf(backup: Partial<BackupOptions>, setup?: (stack: TerraformStack) => Partial<BackupOptions>) {
    return synthesizedDb(dbStack(backup, setup));
  }

  test('prune runs weekly on Sunday at 04:00 unless told otherwise', () => {
    expect(sidecarOf({}).plan.pruneSchedule).toMatchObject({ expression: '0 4 * * 0', minutes: [0], hours: [4], daysOfWeek: [0] });
    expect(sidecarOf({ pruneSchedule: Schedule.cron('30 5 1 * *') }).plan.pruneSchedule).toMatchObject({
      expression: '30 5 1 * *',
      minutes: [30],
      hours: [5],
      daysOfMonth: [1],
    });
  });

  test.each([
    ['daily, all data within 28 days', Schedule.daily(), Verification.standard(), 28, 28, '0 3 * * *', '0 5 * * 0'],
    ['hourly backups, daily checks, all data within 7 days', Schedule.hourly(), Verification.readBack({ readAllDataWithinDays: 7 }), 7, 7, '0 3 * * *', '0 5 * * 0'],
    [
      'hourly checks, all data within 7 days',
      Schedule.daily(),
      Verification.readBack({ readAllDataWithinDays: 7, checkSchedule: Schedule.hourly() }),
      7,
      168,
      '0 * * * *',
      '0 5 * * 0',
    ],
    [
      'weekly checks, all data within 3 days: every check reads everything',
      Schedule.weekly(),
      Verification.readBack({ readAllDataWithinDays: 3, checkSchedule: Schedule.weekly() }),
      3,
      1,
      '0 2 * * 0',
      '0 5 * * 0',
    ],
    ['structure only', Schedule.daily(), Verification.structureOnly(), null, 0, '0 3 * * *', null],
  ])('%s: the check schedule and the read-data subsets derived from it', (_name, schedule, verification, days, subsets, check, drill) => {
    const { plan } = sidecarOf({ schedule, verification });
    expect(plan.verification.readAllDataWithinDays).toBe(days);
    expect(plan.verification.readDataSubsets).toBe(subsets);
    expect(plan.verification.checkSchedule.expression).toBe(check);
    // the drill's schedule, or null for none
    const drillSchedule = plan.verification.drillSchedule;
    expect(drillSchedule === null ? null : drillSchedule.expression).toBe(drill);
  });

  test('retention runs after every complete backup unless it has a schedule', () => {
    expect(sidecarOf({}).plan.retentionSchedule).toBeNull();
    expect(sidecarOf({ schedule: Schedule.hourly(), retentionSchedule: Schedule.daily({ hour: 1 }) }).plan.retentionSchedule).toMatchObject({
      expression: '0 1 * * *',
      hours: [1],
    });
  });

  test('targets are backed up in parallel, at most 4 (or targetConcurrency) at a time', () => {
    const two = [StorageTarget.localPath({ hostPath: '/srv/a' }), StorageTarget.localPath({ hostPath: '/srv/b', name: 'b' })];
    expect(sidecarOf({ targets: two }).plan.targetConcurrency).toBe(2);
    expect(sidecarOf({ targets: two, targetConcurrency: 1 }).plan.targetConcurrency).toBe(1);
  });

  test('without notifyUrl there is no webhook file and no variable', () => {
    const { installer, plan } = sidecarOf({});
    expect(plan.notify).toBeNull();
    expect(installer.upload.map((u: any) => u.file)).not.toContain('/backup/staging/secrets/notify-url');
  });

  test('notifyUrl from a sensitive variable is uploaded as a file (mode 0400), never put in the environment', () => {
    const { json, sidecar, installer, plan } = sidecarOf({}, (stack) => ({ notifyUrl: sensitiveVariable(stack, 'notify_url') }));
    expect(plan.notify.urlFile).toBe('/backup/install/secrets/notify-url');
    const upload = installer.upload.find((u: any) => u.file === '/backup/staging/secrets/notify-url');
    expect(upload.content).toBe('${var.notify_url}');
    expect(upload.permissions).toBe('0400');
    expect(sidecar.env).toEqual(['BACKUP_PLAN=/backup/install/agent.json']);
    expect(installer.upload.find((u: any) => u.file === '/backup/staging/agent.json').content).not.toContain('var.notify_url');
    expect(json.variable.notify_url.sensitive).toBe(true);
  });

  test('a stop or pause quiesce gives docker stop of the sidecar time to start the container again', () => {
    expect(sidecarOf({ quiesce: Quiesce.stop({ timeoutSeconds: 30 }) }).sidecar.stop_timeout).toBe(90);
    expect(sidecarOf({ quiesce: Quiesce.pause() }).sidecar.stop_timeout).toBe(120);
    // restic releases its lock on SIGTERM: 60 s, as a backup service task gets (model/sidecar-runtime.ts)
    expect(sidecarOf({}).sidecar.stop_timeout).toBe(60);
  });

  test('the quiesce settings reach the agent with the Docker API proxy URL', () => {
    const { plan } = sidecarOf({ quiesce: Quiesce.stop({ timeoutSeconds: 30 }) });
    expect(plan.quiesce).toMatchObject({
      mode: 'stop',
      container: 'db',
      timeoutSeconds: 30,
      onError: 'abort',
      dockerApi: 'http://db-backup-docker-api:2375',
    });
  });
});

describe('BackupSidecar: the networks the sidecar joins', () => {
  function synth(backup: Partial<BackupOptions>, setup?: (stack: TerraformStack) => Partial<BackupOptions>) {
    const { json, sidecar } = synthesizedDb(dbStack(backup, setup, 'db-host'));
    // the networks_advanced entries, by the network resources' own attributes
    const networks = (sidecar.networks_advanced ?? []).map((n: any) => {
      const id = /^\$\{docker_network\.([^.]+)\.name\}$/.exec(n.name)![1];
      return json.resource.docker_network[id];
    });
    return { sidecar, networks };
  }
  const egress = expect.objectContaining({ name: 'db-host-backup-egress' });
  const proxy = expect.objectContaining({ name: 'db-backup-docker-api', internal: true });
  test('only local targets and no quiesce: no network at all', () => {
    const { sidecar } = synth({});
    expect(sidecar.network_mode).toBe('none');
    expect(sidecar.networks_advanced).toBeUndefined();
  });

  test("a remote target adds the stack's egress network (a plain bridge, not internal)", () => {
    const { sidecar, networks } = synth({}, (stack) => ({
      targets: [
        StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }),
        StorageTarget.s3Compatible({
          endpoint: 'https://s3.example.net',
          bucket: 'backups',
          accessKeyId: 'AKIAEXAMPLE',
          secretAccessKey: sensitiveVariable(stack, 's3_secret'),
          name: 's3',
        }),
      ],
    }));
    expect(sidecar.network_mode).toBeUndefined();
    expect(networks).toEqual([egress]);
    expect(networks[0].internal).toBeUndefined();
  });

  test('a REST server target adds the egress network too', () => {
    const { sidecar, networks } = synth({ targets: [StorageTarget.restServer({ url: 'https://backup.example.net:8000', name: 'rest' })] });
    expect(sidecar.network_mode).toBeUndefined();
    expect(networks).toEqual([egress]);
  });

  test('a webhook adds the egress network', () => {
    const { sidecar, networks } = synth({}, (stack) => ({ notifyUrl: sensitiveVariable(stack, 'notify_url') }));
    expect(sidecar.network_mode).toBeUndefined();
    expect(networks).toEqual([egress]);
  });

  test("a quiesce adds the Docker API proxy's internal network, and no route out", () => {
    const { sidecar, networks } = synth({ quiesce: Quiesce.stop({ timeoutSeconds: 30 }) });
    expect(sidecar.network_mode).toBeUndefined();
    expect(networks).toEqual([proxy]);
  });

  test('a remote target and a quiesce: the egress network and the proxy network', () => {
    const { networks } = synth({ quiesce: Quiesce.stop({ timeoutSeconds: 30 }), targets: [StorageTarget.restServer({ url: 'https://backup.example.net:8000', name: 'rest' })] });
    expect(networks).toEqual([egress, proxy]);
  });
});
