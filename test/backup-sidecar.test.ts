import { AGENT_SCRIPT_PATH, agentScript, terraformEscape } from '../src/agent/agent-asset';
import { TerraformStack, TerraformVariable } from 'cdktf';
import { BackupOptions, Medium, ProtectedContainer, Quiesce, Retention, Schedule, StorageTarget, Verification } from '../src';
import { dockerStack, resources, synthJson } from './support/synth';

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
  const json = synthJson(stack);
  const sidecar = resources(json, 'docker_container').find((c) => c.name === 'db-backup');
  const env = Object.fromEntries((sidecar.env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return { json, sidecar, env };
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
    expect(sidecar.security_opts).toEqual(['no-new-privileges:true']);
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

  test('every upload lands on the writable state volume (Docker refuses uploads into a read-only root)', () => {
    const { sidecar } = protectedDb();
    const writable = sidecar.mounts.filter((m: any) => m.type === 'volume' && !m.read_only).map((m: any) => m.target);
    expect(writable).toEqual(['/backup/agent']);
    for (const upload of sidecar.upload) {
      expect(upload.file.startsWith('/backup/agent/')).toBe(true);
    }
  });

  test('uploads the agent from the package, escaped for Terraform', () => {
    const { sidecar } = protectedDb();
    const agent = sidecar.upload.find((u: any) => u.file === AGENT_SCRIPT_PATH);
    expect(agent.executable).toBe(true);
    expect(agent.content).toBe(terraformEscape(agentScript()));
  });

  test('uploads the password from the sensitive variable, never a literal', () => {
    const { json, sidecar } = protectedDb();
    const password = sidecar.upload.find((u: any) => u.file.endsWith('/repository-password'));
    expect(password.content).toBe('${var.restic_password}');
    expect(json.variable.restic_password.sensitive).toBe(true);
  });

  test('each local target is a host-path volume at its repository path', () => {
    const { sidecar, env } = protectedDb();
    expect(sidecar.volumes).toEqual([
      { host_path: '/mnt/backup-disk/db', container_path: '/backup/targets/local' },
      { host_path: '/mnt/nas/db', container_path: '/backup/targets/nas' },
    ]);
    expect(env.BACKUP_TARGET_COUNT).toBe('2');
    expect(env.BACKUP_TARGET_1_REPOSITORY).toBe('/backup/targets/local');
    expect(env.BACKUP_TARGET_2_NAME).toBe('nas');
  });

  test('renders schedule, retention, host and health threshold for the agent', () => {
    const { env } = protectedDb();
    expect(env).toMatchObject({
      BACKUP_HOST: 'db',
      BACKUP_SOURCES: '/backup/sources/pgdata',
      BACKUP_SCHEDULE: '0 3 * * *',
      BACKUP_RETENTION: '--keep-daily 7 --keep-weekly 4',
      BACKUP_MAX_AGE_SECONDS: String(2 * 86400),
      RESTIC_PASSWORD_FILE: '/backup/agent/secrets/repository-password',
    });
  });

  test('the quiesce command reaches the agent as JSON, escaped for Terraform', () => {
    // GIVEN
    const stack = dockerStack();
    new ProtectedContainer(stack, 'app', {
      image: 'alpine:3.20',
      volumes: [{ name: 'appdata', containerPath: '/data' }],
      backup: {
        quiesce: Quiesce.exec(['sh', '-c', 'dump > "${HOME}/x"'], { timeoutSeconds: 30 }),
        targets: [StorageTarget.localPath({ hostPath: '/srv/backup' })],
      },
    });
    // WHEN
    const sidecar = resources(synthJson(stack), 'docker_container').find((c) => c.name === 'app-backup');
    // THEN
    expect(sidecar.env).toContain('BACKUP_QUIESCE_MODE=exec');
    expect(sidecar.env).toContain('BACKUP_QUIESCE_COMMAND=["sh","-c","dump > \\"$${HOME}/x\\""]');
  });
});

describe('BackupSidecar: retention, prune, verification and notification settings for the agent', () => {
  function sidecarOf(backup: Partial<BackupOptions>, setup?: (stack: TerraformStack) => Partial<BackupOptions>) {
    const stack = dockerStack();
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' })], ...backup, ...(setup?.(stack) ?? {}) },
    });
    const json = synthJson(stack);
    const sidecar = resources(json, 'docker_container').find((c) => c.name === 'db-backup');
    const env = Object.fromEntries((sidecar.env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    return { json, sidecar, env };
  }

  test('prune runs weekly on Sunday at 04:00 unless told otherwise', () => {
    expect(sidecarOf({}).env.BACKUP_PRUNE_SCHEDULE).toBe('0 4 * * 0');
    expect(sidecarOf({ pruneSchedule: Schedule.cron('30 5 1 * *') }).env.BACKUP_PRUNE_SCHEDULE).toBe('30 5 1 * *');
  });

  test.each([
    ['daily, all data within 28 days', Schedule.daily(), Verification.standard(), '28', '28', '0 5 * * 0'],
    ['hourly, all data within 7 days', Schedule.hourly(), Verification.readBack({ readAllDataWithinDays: 7 }), '7', '168', '0 5 * * 0'],
    ['weekly, all data within 3 days: every cycle reads everything', Schedule.weekly(), Verification.readBack({ readAllDataWithinDays: 3 }), '3', '1', '0 5 * * 0'],
    ['structure only', Schedule.daily(), Verification.structureOnly(), '0', '0', ''],
  ])('%s: the read-data subsets are derived from the schedule', (_name, schedule, verification, days, subsets, drill) => {
    const { env } = sidecarOf({ schedule, verification });
    expect(env).toMatchObject({
      BACKUP_VERIFY_READ_DATA_DAYS: days,
      BACKUP_VERIFY_READ_DATA_SUBSETS: subsets,
      BACKUP_VERIFY_DRILL_SCHEDULE: drill,
    });
  });

  test('without notifyUrl there is no webhook file and no variable', () => {
    const { sidecar, env } = sidecarOf({});
    expect(env.BACKUP_NOTIFY_URL_FILE).toBeUndefined();
    expect(sidecar.upload.map((u: any) => u.file)).not.toContain('/backup/agent/secrets/notify-url');
  });

  test('notifyUrl from a sensitive variable is uploaded as a file, never put in the environment', () => {
    const { json, sidecar, env } = sidecarOf({}, (stack) => ({
      notifyUrl: new TerraformVariable(stack, 'notify_url', { type: 'string', sensitive: true }).stringValue,
    }));
    expect(env.BACKUP_NOTIFY_URL_FILE).toBe('/backup/agent/secrets/notify-url');
    expect(sidecar.upload.find((u: any) => u.file === '/backup/agent/secrets/notify-url').content).toBe('${var.notify_url}');
    expect((sidecar.env as string[]).join('\n')).not.toContain('var.notify_url');
    expect(json.variable.notify_url.sensitive).toBe(true);
  });

  test('a stop or pause quiesce gives docker stop of the sidecar time to start the container again', () => {
    expect(sidecarOf({ quiesce: Quiesce.stop({ timeoutSeconds: 30 }) }).sidecar.stop_timeout).toBe(90);
    expect(sidecarOf({ quiesce: Quiesce.pause() }).sidecar.stop_timeout).toBe(120);
    expect(sidecarOf({}).sidecar.stop_timeout).toBeUndefined();
  });

  test('the quiesce settings reach the agent with the Docker API proxy URL', () => {
    const { env } = sidecarOf({ quiesce: Quiesce.stop({ timeoutSeconds: 30 }) });
    expect(env).toMatchObject({
      BACKUP_QUIESCE_MODE: 'stop',
      BACKUP_QUIESCE_CONTAINER: 'db',
      BACKUP_QUIESCE_TIMEOUT_SECONDS: '30',
      BACKUP_QUIESCE_ON_ERROR: 'abort',
      BACKUP_DOCKER_API: 'http://db-backup-docker-api:2375',
    });
  });
});
