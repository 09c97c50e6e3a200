/**
 * The installer keeps a local target's host folder owned by root with mode 0700 and puts the
 * repository in its `repository` subfolder, the only part the sidecar mounts (so a setuid file
 * the sidecar writes can never be reached by another host user; the real-engine proof is in
 * test/e2e/deployed-postgres.test.ts). Run through the sidecar sandbox from the synthesized
 * installer and sidecar, as `cdktf deploy` would.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ProtectedContainer, Retention, StorageTarget } from '../../src';
import { restic, snapshotsOf } from '../support/restic';
import { SidecarHarness } from '../support/sidecar-harness';
import { dockerStack, synthJson } from '../support/synth';
import { TEST_PASSWORD } from '../support/test-values';

const HOST_PATH = '/srv/backup/db/disk';

/** A sidecar with one local target, its folder at `folder` on the host, not installed yet. */
function sidecarWithFolder(folder: string): SidecarHarness {
  const stack = dockerStack('db-host');
  new ProtectedContainer(stack, 'db', {
    image: 'postgres:16',
    volumes: [{ name: 'appdata', containerPath: '/data' }],
    backup: { targets: [StorageTarget.localPath({ hostPath: HOST_PATH, name: 'disk' })], retention: Retention.keepLast(100) },
  });
  return SidecarHarness.fromSynth(synthJson(stack), 'db', {
    workDirPrefix: 'local-target-folder-',
    terraformValues: { 'var.restic_password': TEST_PASSWORD },
    hostDirs: { [HOST_PATH]: folder, [`${HOST_PATH}/repository`]: path.join(folder, 'repository') },
    install: false,
  });
}

describe("a local target's host folder", () => {
  let work: string;
  let folder: string;

  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'target-folder-'));
    folder = path.join(work, 'disk');
  });

  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  test('is made root-owned 0700 by the installer, with the repository inside it where the sidecar backs up', async () => {
    // GIVEN a folder as Docker creates a missing host path: root, 0755
    fs.mkdirSync(folder, { mode: 0o755 });
    fs.chmodSync(folder, 0o755);
    const sidecar = sidecarWithFolder(folder);
    fs.writeFileSync(path.join(sidecar.hostDirs.appdata, 'a.txt'), 'data');
    try {
      // WHEN the installer runs, then a cycle
      sidecar.install();
      const cycle = await sidecar.run(['run']);
      // THEN the folder is root's alone, and the repository is its subfolder
      const stat = fs.statSync(folder);
      expect({ mode: (stat.mode & 0o7777).toString(8), uid: stat.uid }).toEqual({ mode: '700', uid: 0 });
      expect(cycle.code).toBe(0);
      expect(fs.readdirSync(folder)).toEqual(['repository']);
      expect(snapshotsOf(path.join(folder, 'repository'))).toHaveLength(1);
    } finally {
      sidecar.cleanup();
    }
  });

  test('that holds a repository written by an earlier version gets it moved into `repository`, every snapshot kept', async () => {
    // GIVEN a repository with one snapshot directly in the folder (the layout before this change)
    fs.mkdirSync(folder, { mode: 0o755 });
    const data = fs.mkdtempSync(path.join(work, 'data-'));
    fs.writeFileSync(path.join(data, 'old.txt'), 'old');
    expect(restic(folder, ['init']).code).toBe(0);
    expect(restic(folder, ['backup', '--host', 'db', data]).code).toBe(0);
    const before = snapshotsOf(folder).map((s) => s.id);
    const sidecar = sidecarWithFolder(folder);
    fs.writeFileSync(path.join(sidecar.hostDirs.appdata, 'a.txt'), 'data');
    try {
      // WHEN the new installer runs, then a cycle
      const install = sidecar.install();
      const cycle = await sidecar.run(['run']);
      // THEN the old snapshot is in the repository the sidecar now uses, beside the new one
      expect(install.stdout + install.stderr).toContain(`moved the repository found in ${HOST_PATH} into ${HOST_PATH}/repository`);
      expect(cycle.code).toBe(0);
      expect(fs.readdirSync(folder)).toEqual(['repository']);
      const after = snapshotsOf(path.join(folder, 'repository')).map((s) => s.id);
      expect(after).toHaveLength(2);
      expect(after).toEqual(expect.arrayContaining(before));
      expect(restic(path.join(folder, 'repository'), ['check']).code).toBe(0);
    } finally {
      sidecar.cleanup();
    }
  });

  test('a move cut short by an earlier install is finished by the next one', () => {
    // GIVEN a move that stopped after `config` and `data` went into `.moving`
    fs.mkdirSync(folder, { mode: 0o755 });
    const data = fs.mkdtempSync(path.join(work, 'data-'));
    fs.writeFileSync(path.join(data, 'old.txt'), 'old');
    expect(restic(folder, ['init']).code).toBe(0);
    expect(restic(folder, ['backup', data]).code).toBe(0);
    const before = snapshotsOf(folder).map((s) => s.id);
    fs.mkdirSync(path.join(folder, '.moving'));
    for (const entry of ['config', 'data']) fs.renameSync(path.join(folder, entry), path.join(folder, '.moving', entry));
    const sidecar = sidecarWithFolder(folder);
    try {
      // WHEN the installer runs
      sidecar.install();
      // THEN the whole repository is in `repository`, and readable
      expect(fs.readdirSync(folder)).toEqual(['repository']);
      expect(snapshotsOf(path.join(folder, 'repository')).map((s) => s.id)).toEqual(before);
      expect(restic(path.join(folder, 'repository'), ['check']).code).toBe(0);
    } finally {
      sidecar.cleanup();
    }
  });

  test('owned by another user is refused by the installer, with the fix', () => {
    // GIVEN a folder its owner (uid 1000) made, which root without CAP_FOWNER cannot chmod
    fs.mkdirSync(folder, { mode: 0o755 });
    fs.chownSync(folder, 1000, 1000);
    const sidecar = sidecarWithFolder(folder);
    try {
      // WHEN the installer runs THEN it fails, naming the folder, the owner and the fix
      expect(() => sidecar.install()).toThrow(
        `the local target folder ${HOST_PATH} is owned by uid 1000, not root, so its owner could open what the sidecar writes there; fix: chown root:root ${HOST_PATH}`,
      );
      expect((fs.statSync(folder).mode & 0o777).toString(8)).toBe('755');
    } finally {
      sidecar.cleanup();
    }
  });
});
