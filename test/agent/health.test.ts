/**
 * `health` is the Docker healthcheck: it reads status.json only and is green while the last
 * successful cycle is younger than the plan's healthMaxAgeSeconds. Run as the resource's healthcheck.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Schedule, Verification } from '../../src';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';

const MAX_AGE = 7200;

describe('health', () => {
  let fixture: SynthesizedSidecar;
  const health = (env: Record<string, string> = {}) =>
    fixture.run({ healthcheck: true, env });

  beforeAll(() => {
    // Hourly: the construct refuses a health limit shorter than the schedule's longest gap.
    // All data read back within 7 days (168 subsets): the default 28 days would ask restic for
    // 672 subsets, more than its limit of 256.
    fixture = synthesizedSidecar({
      targets: ['local-a'],
      backup: { schedule: Schedule.hourly(), healthMaxAgeSeconds: MAX_AGE, verification: Verification.readBack({ readAllDataWithinDays: 7 }) },
    });
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'data.txt'), 'some data\n');
  });

  afterAll(() => fixture.cleanup());

  test('is red before the first cycle, and says why', async () => {
    const r = await health();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^unhealthy: no backup cycle has finished yet \(\/backup\/agent\/status.json does not exist\)\n$/);
  });

  test('is green after a successful cycle', async () => {
    // GIVEN a cycle that succeeded
    const run = await fixture.run(['run']);
    expect(run.code).toBe(0);
    // WHEN / THEN
    const r = await health();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^healthy: last successful backup \d+s ago at \d{4}-\d\d-\d\dT[\d:]+Z \(limit 7200s\); last cycle ok\n$/);
  });

  test('stays green up to the limit, and turns red one second later', async () => {
    const last = fixture.status().last_success_epoch;
    const atLimit = await health({ BACKUP_NOW_EPOCH: String(last + MAX_AGE) });
    expect(atLimit.code).toBe(0);
    const tooOld = await health({ BACKUP_NOW_EPOCH: String(last + MAX_AGE + 1) });
    expect(tooOld.code).toBe(1);
    expect(tooOld.stdout).toMatch(/^unhealthy: last successful backup 7201s ago at .* older than 7200s; last cycle ok\n$/);
  });

  test('is red with a reason when status.json is not JSON', async () => {
    const file = path.join(fixture.stateDir, 'status.json');
    const good = fs.readFileSync(file);
    try {
      fs.writeFileSync(file, '{"version": 1, "state": ');
      const r = await health();
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('unhealthy: /backup/agent/status.json is not readable JSON\n');
    } finally {
      fs.writeFileSync(file, good);
    }
  });

  test('never touches a repository: it is green even when every target is gone', async () => {
    // GIVEN the repository folder removed after the successful cycle
    fs.rmSync(fixture.targetDirs['local-a'], { recursive: true, force: true });
    fs.mkdirSync(fixture.targetDirs['local-a']);
    // WHEN / THEN health still only reads the status
    const r = await health();
    expect(r.code).toBe(0);
    expect(fs.readdirSync(fixture.targetDirs['local-a'])).toEqual([]);
  });
});
