/**
 * One target failing must not stop the others: each gets its own restic calls, the status
 * says which failed and why, last_success carries over, and `run` exits non-zero.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Retention } from '../../src';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';
import { snapshotsOf } from '../support/restic';

describe('a target whose repository cannot be written', () => {
  let fixture: SynthesizedSidecar;

  beforeAll(() => {
    // GIVEN a broken target first (its host folder read-only), a good one second
    fixture = synthesizedSidecar({ targets: [{ name: 'broken', readOnly: true }, 'good'] });
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'data.txt'), 'precious\n');
  });

  afterAll(() => fixture.cleanup());

  test('does not stop the next target, and the cycle fails naming it', async () => {
    // WHEN
    const r = await fixture.run(['run']);
    // THEN the good target has its snapshot
    expect(snapshotsOf(fixture.targetDirs.good)).toHaveLength(1);
    // AND run exits 1, the log and the status say which target failed and why
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERROR step=backup target=broken cannot open the repository .* nor initialise it: .*read-only file system/);
    expect(r.stderr).toMatch(/ERROR step=run cycle failed; targets without a complete snapshot: broken/);
    const status = fixture.status();
    expect(status.state).toBe('failed');
    expect(status.last_success_epoch).toBeNull();
    expect(status.targets).toEqual([
      expect.objectContaining({ name: 'broken', result: 'failed', snapshot_id: null, error: expect.stringMatching(/read-only file system/) }),
      expect.objectContaining({ name: 'good', result: 'ok', snapshot_id: expect.stringMatching(/^[0-9a-f]{64}$/), error: null }),
    ]);
    expect(status.targets[1].last_success_epoch).toEqual(expect.any(Number));
    expect(status.targets[0].last_success_epoch).toBeNull();
  });

  test('keeps health red: no cycle has succeeded on every target', async () => {
    const r = await fixture.run({ healthcheck: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('unhealthy: no successful backup cycle yet; last cycle failed (incomplete: broken)\n');
  });
});

describe('a target that breaks after a successful cycle', () => {
  let fixture: SynthesizedSidecar;

  beforeAll(() => {
    fixture = synthesizedSidecar({ targets: ['disk', 'nas'], backup: { retention: Retention.keepLast(100) } });
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'data.txt'), 'version 1\n');
  });

  afterAll(() => fixture.cleanup());

  test('carries last_success over, overall and for that target', async () => {
    // GIVEN a successful first cycle
    const first = await fixture.run({ command: ['run'], env: { BACKUP_NOW_EPOCH: '1795658400' } });
    expect(first.code).toBe(0);
    // AND the nas target's password no longer opens its repository (a botched rotation: a
    // password file of its own on the install volume, where the installer puts secrets)
    fs.writeFileSync(path.join(fixture.installDir, 'secrets', 'nas-password'), 'not the password\n', { mode: 0o400 });
    const nasPassword = (plan: any) => {
      plan.targets[1].passwordFile = '/backup/install/secrets/nas-password';
    };
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'data.txt'), 'version 2\n');
    // WHEN the next cycle runs an hour later
    const second = await fixture.run({ command: ['run'], plan: nasPassword, env: { BACKUP_NOW_EPOCH: '1795662000' } });
    // THEN
    expect(second.code).toBe(1);
    const status = fixture.status();
    expect(status).toMatchObject({
      state: 'failed',
      started_at: '2026-11-26T03:00:00Z',
      last_success_at: '2026-11-26T02:00:00Z',
      last_success_epoch: 1795658400,
    });
    const [disk, nas] = status.targets;
    expect(disk).toMatchObject({ name: 'disk', result: 'ok', last_success_epoch: 1795662000, files_changed: 1 });
    expect(nas).toMatchObject({ name: 'nas', result: 'failed', snapshot_id: null, last_success_epoch: 1795658400 });
    // a wrong password is no missing repository: never initialised over the existing one
    expect(nas.error).toBe('restic exit 1: Fatal: wrong password or no key found');
    expect(snapshotsOf(fixture.targetDirs.disk)).toHaveLength(2);
    expect(snapshotsOf(fixture.targetDirs.nas)).toHaveLength(1);
    // AND health stays green while the last full success is fresh, naming the failure
    const h = await fixture.run({ healthcheck: true, env: { BACKUP_NOW_EPOCH: '1795662000' } });
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^healthy: last successful backup 3600s ago .* last cycle failed \(incomplete: nas\)\n$/);
  });
});

describe('a source volume that is missing', () => {
  let fixture: SynthesizedSidecar;

  beforeAll(() => {
    fixture = synthesizedSidecar({
      targets: ['disk'],
      plan: { sources: ['/backup/sources/appdata', '/backup/sources/not-mounted'] },
    });
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'data.txt'), 'data\n');
  });

  afterAll(() => fixture.cleanup());

  test('gives a partial cycle (exit 3) that does not count as a success', async () => {
    const r = await fixture.run(['run']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/ERROR step=sources \/backup\/sources\/not-mounted does not exist; is its volume mounted\?/);
    const status = fixture.status();
    expect(status.state).toBe('partial');
    expect(status.last_success_epoch).toBeNull();
    expect(status.targets[0]).toMatchObject({ result: 'partial', error: 'sources missing, not backed up: /backup/sources/not-mounted' });
    expect(snapshotsOf(fixture.targetDirs.disk)[0].paths).toEqual(['/backup/sources/appdata']);
  });
});
