/**
 * A full cycle through the sidecar sandbox: `run` backs a mixed data set up to two local
 * targets, `restore` brings each snapshot back, and every file, link, mode and owner matches.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Retention } from '../../src';
import { SidecarResult } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';
import { writeMixedDataSet } from '../support/data-set';
import { snapshotsOf } from '../support/restic';
import { fingerprintTree } from './helpers';

describe.each(['busybox', 'dash'] as const)('backup and restore under %s sh', (shell) => {
  let fixture: SynthesizedSidecar;
  let first: SidecarResult;

  beforeAll(async () => {
    // GIVEN a sidecar protecting one volume with a mixed data set, to two local targets
    // (keeping every snapshot: the test counts them)
    fixture = synthesizedSidecar({ targets: ['local-a', 'local-b'], backup: { retention: Retention.keepLast(100) } });
    writeMixedDataSet(fixture.sourceDirs.appdata);
    // AND a restore drill due (the cycles that record the sha256 manifest of the sources)
    fixture.markDue('drill');
    // WHEN one cycle runs
    first = await fixture.run(['run'], { shell });
  });

  afterAll(() => fixture.cleanup());

  test('the cycle succeeds and logs one line per step', () => {
    expect(first.code).toBe(0);
    expect(first.stderr).not.toMatch(/ ERROR /);
    for (const line of first.stderr.trim().split('\n')) {
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ backup-agent (INFO|WARN|ERROR) step=[a-z-]+ /);
    }
  });

  test('each target holds a snapshot with the fixed host and tags', () => {
    const status = fixture.status();
    expect(status).toMatchObject({ version: 1, host: 'db', state: 'ok' });
    expect(status.last_success_epoch).toEqual(expect.any(Number));
    for (const name of ['local-a', 'local-b']) {
      const snapshots = snapshotsOf(fixture.targetDirs[name]);
      expect(snapshots).toHaveLength(1);
      expect(snapshots[0].hostname).toBe('db');
      // the plan's tags, and the cycle's run tag (retention keeps that snapshot whatever the policy says)
      expect(snapshots[0].tags).toEqual(['cdktf-container-backup', 'db', expect.stringMatching(/^run:\d{8}T\d{6}Z-\d+$/)]);
      expect(snapshots[0].paths).toEqual(['/backup/sources/appdata']);
      const entry = status.targets.find((t: any) => t.name === name);
      expect(entry).toMatchObject({ result: 'ok', snapshot_id: snapshots[0].id, error: null });
      expect(entry.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.bytes_added).toBeGreaterThan(2 * 1024 * 1024);
      expect(entry.files_new).toBeGreaterThan(10);
    }
  });

  test.each(['local-a', 'local-b'])('restore from %s with Docker default capabilities gives back everything', async (target) => {
    // WHEN the operator restores the latest snapshot of that target in a container with
    // Docker's default capabilities (docker run with the sidecar's volumes)
    const result = await fixture.run({ shell, capabilities: {}, command: ['restore', '--target', target, '--to', `/backup/agent/restore-${target}`] });
    // THEN every file, folder and link is back: content, size, mode, owner, mtime
    expect(result.stderr).not.toMatch(/ (ERROR|WARN) /);
    expect(result.code).toBe(0);
    const restored = path.join(fixture.stateDir, `restore-${target}`, 'backup', 'sources', 'appdata');
    expect(fingerprintTree(restored)).toEqual(fingerprintTree(fixture.sourceDirs.appdata));
  });

  test('restore inside the sidecar itself restores contents and warns that ownership needs CAP_CHOWN', async () => {
    // WHEN restoring with the sidecar's own capabilities (all dropped but DAC_READ_SEARCH)
    const result = await fixture.run({ shell, command: ['restore', '--snapshot', 'latest', '--to', '/backup/agent/restore-in-sidecar'] });
    // THEN it succeeds with a warning that gives the reason and the fix
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/WARN step=restore target=local-a .*ownership of 5 entries not restored: this container lacks CAP_CHOWN.*--cap-add CHOWN/);
    // AND everything but the foreign owners is identical
    const restored = fingerprintTree(path.join(fixture.stateDir, 'restore-in-sidecar', 'backup', 'sources', 'appdata'));
    const source = fingerprintTree(fixture.sourceDirs.appdata);
    const foreign = Object.keys(source).filter((k) => source[k].uid === 999);
    expect(foreign).toHaveLength(5);
    for (const k of foreign) {
      expect(restored[k]).toEqual({ ...source[k], uid: 0, gid: 0 });
    }
    for (const k of Object.keys(source).filter((key) => !foreign.includes(key))) {
      expect(restored[k]).toEqual(source[k]);
    }
    expect(Object.keys(restored).sort()).toEqual(Object.keys(source).sort());
  });

  test('the manifest recorded at backup time checks the restored files', () => {
    // GIVEN the manifest of the snapshot on local-a
    const status = fixture.status();
    const entry = status.targets.find((t: any) => t.name === 'local-a');
    expect(entry.manifest).toBe(`manifests/${entry.snapshot_id.slice(0, 8)}.sha256`);
    const manifest = path.join(fixture.stateDir, entry.manifest);
    const lines = fs.readFileSync(manifest, 'utf8').trim().split('\n');
    const files = Object.values(fingerprintTree(fixture.sourceDirs.appdata)).filter((e) => e.type === 'file');
    expect(lines).toHaveLength(files.length);
    // WHEN checked in the restore folder (paths are relative to /)
    const check = spawnSync('sha256sum', ['--check', '--strict', manifest], {
      cwd: path.join(fixture.stateDir, 'restore-local-a'),
      encoding: 'utf8',
    });
    // THEN every file is OK
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(check.stdout.trim().split('\n')).toHaveLength(files.length);
  });

  test('a second cycle is incremental: the parent is found, next to nothing is added', async () => {
    const before = fixture.status();
    // WHEN
    const second = await fixture.run(['run'], { shell });
    // THEN
    expect(second.code).toBe(0);
    const status = fixture.status();
    for (const t of status.targets) {
      expect(t.result).toBe('ok');
      expect(t.files_new).toBe(0);
      expect(t.files_changed).toBe(0);
      expect(t.bytes_added).toBeLessThan(64 * 1024);
      expect(t.snapshot_id).not.toBe(before.targets.find((b: any) => b.name === t.name).snapshot_id);
      // no drill due: a routine cycle reads no data for a manifest
      expect(t.manifest).toBeNull();
    }
    expect(snapshotsOf(fixture.targetDirs['local-b'])).toHaveLength(2);
  });
});
