/**
 * The artifact is what we test: the sidecar's agent, command, environment and mounts are taken
 * out of the synthesized cdk.tf.json and run on this machine the way Docker would run them
 * (busybox sh, private mount namespace, read-only sources, dropped capabilities), against
 * Debian's restic, after the one-shot installer from the same JSON has put the agent and its
 * secrets on the install volume (the sidecar has no upload: its root is read-only). Then the
 * snapshot is restored and compared file by file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Medium, ProtectedContainer, Retention, Schedule, StorageTarget } from '../../src';
import { describeTree, writeMixedDataSet } from '../support/data-set';
import { SidecarHarness } from '../support/sidecar-harness';
import { DockerContainerResource, SidecarSandboxOptions } from '../support/sidecar-sandbox';
import { dockerStack, synthJson } from '../support/synth';

const PASSWORD = 'a test password, supplied as TF_VAR_restic_password would be';

describe('the synthesized sidecar backs up and restores for real', () => {
  let harness: SidecarHarness;
  let sidecar: DockerContainerResource;
  let hostDirs: Record<string, string>;

  beforeAll(async () => {
    // GIVEN a protected Postgres whose volume is backed up to two local targets
    const stack = dockerStack('db-host');
    new ProtectedContainer(stack, 'db', {
      image: 'postgres:16',
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: {
        schedule: Schedule.daily({ hour: 2 }),
        retention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }),
        targets: [
          StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK }),
          StorageTarget.localPath({ hostPath: '/mnt/nas/db', medium: Medium.NAS, name: 'nas' }),
        ],
      },
    });
    const json = synthJson(stack);
    // Host folders behind its volumes ('pgdata', 'db-backup-state', 'db-backup-install') and
    // host paths ('/mnt/backup-disk/db' and '/mnt/nas/db' for the installer, their repository
    // subfolders for the sidecar)
    harness = SidecarHarness.fromSynth(json, 'db', { workDirPrefix: 'sidecar-e2e-', terraformValues: { 'var.restic_password': PASSWORD }, install: false });
    sidecar = harness.resource;
    hostDirs = harness.hostDirs;
    writeMixedDataSet(hostDirs.pgdata);
    // AND deployed as cdktf deploy does: the installer runs to its end before the sidecar starts
    harness.install();
  });

  test('the sidecar gets nothing uploaded; the installer filled the install volume it mounts read-only', () => {
    expect(sidecar.upload).toBeUndefined();
    expect(sidecar.mounts).toContainEqual({
      type: 'volume',
      source: expect.stringMatching(/^\$\{docker_volume\.db_backup_install_[0-9A-F]+\.name\}$/),
      target: '/backup/install',
      read_only: true,
    });
    expect(fs.readdirSync(path.join(hostDirs['db-backup-install'], 'secrets'))).toEqual(['repository-password']);
    expect(fs.existsSync(path.join(hostDirs['db-backup-install'], 'bin', 'backup-agent'))).toBe(true);
  });

  afterAll(() => harness.cleanup());

  const run = (options: Partial<SidecarSandboxOptions> = {}) => harness.run(options.command ?? [], options);

  test('health is red before the first backup', async () => {
    const result = await run({ healthcheck: true });
    expect(result.code).not.toBe(0);
  });

  test('run backs up the read-only volume to both targets', async () => {
    // WHEN
    const result = await run({ command: ['run'] });
    // THEN
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.code).toBe(0);
    const status = harness.status();
    expect(status.state).toBe('ok');
    expect(status.targets.map((t: any) => [t.name, t.result])).toEqual([
      ['local', 'ok'],
      ['nas', 'ok'],
    ]);
    for (const target of status.targets) {
      expect(target.snapshot_id).toMatch(/^[0-9a-f]{8,64}$/);
    }
    // restic repositories now exist in both host folders
    expect(fs.existsSync(path.join(hostDirs['/mnt/backup-disk/db/repository'], 'config'))).toBe(true);
    expect(fs.existsSync(path.join(hostDirs['/mnt/nas/db/repository'], 'config'))).toBe(true);
  });

  test('health is green after a successful backup (the Docker healthcheck as synthesized)', async () => {
    const result = await run({ healthcheck: true });
    expect(result.code).toBe(0);
  });

  test('the sidecar cannot write to the protected volume', async () => {
    const before = describeTree(hostDirs.pgdata);
    const result = await run({ exec: ['/bin/sh', '-c', 'echo x > /backup/sources/pgdata/intruder'] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Read-only file system/);
    expect(describeTree(hostDirs.pgdata)).toEqual(before);
  });

  test.each([['local'], ['nas']])(
    'a one-off restore container (the runbook: sidecar image and env, Docker default capabilities) restores from %s byte-identical, owners included',
    async (target) => {
      // WHEN
      const result = await run({
        applyCapabilities: false,
        command: ['restore', '--target', target, '--snapshot', 'latest', '--to', `/backup/agent/restore-${target}`],
      });
      // THEN
      expect(result.code).toBe(0);
      const restored = path.join(hostDirs['db-backup-state'], `restore-${target}`, 'backup', 'sources', 'pgdata');
      const original = describeTree(hostDirs.pgdata, { owners: true });
      expect(Object.keys(original).length).toBeGreaterThan(8);
      expect(describeTree(restored, { owners: true })).toEqual(original);
    },
  );

  test('restore inside the hardened sidecar (no CAP_CHOWN) gives back every byte and mode, and says ownership was not restored', async () => {
    // WHEN
    const result = await run({ command: ['restore', '--snapshot', 'latest', '--to', '/backup/agent/restore-in-sidecar'] });
    // THEN
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/WARN .*ownership/);
    const restored = path.join(hostDirs['db-backup-state'], 'restore-in-sidecar', 'backup', 'sources', 'pgdata');
    expect(describeTree(restored)).toEqual(describeTree(hostDirs.pgdata));
  });

  test('snapshots lists the snapshot of each target under the fixed host name', async () => {
    const result = await run({ command: ['snapshots'] });
    expect(result.code).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/\bdb\b/);
  });
});
