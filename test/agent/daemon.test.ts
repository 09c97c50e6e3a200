/**
 * The daemon (the sidecar's command): refuses a bad configuration at start, so the container
 * fails visibly instead of missing every backup, and runs a cycle on a minute boundary when
 * the schedule matches.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Schedule, Verification } from '../../src';
import { runSidecar, startSidecar } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';
import { readStatus } from './helpers';

describe('the daemon', () => {
  let fixture: SynthesizedSidecar;

  beforeAll(() => {
    // Structure checks only: reading all data back within 28 days of a cycle every minute would
    // ask restic for 40,320 subsets, more than its limit of 256 (an open problem of the construct).
    fixture = synthesizedSidecar({ targets: ['disk'], backup: { schedule: Schedule.cron('* * * * *'), verification: Verification.structureOnly() } });
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'data.txt'), 'data\n');
  });

  afterAll(() => fixture.cleanup());

  test.each([
    [{ BACKUP_SCHEDULE: '0 25 * * *' }, /ERROR step=config BACKUP_SCHEDULE='0 25 \* \* \*' is not a 5-field cron expression/],
    [{ BACKUP_TARGET_COUNT: '0' }, /ERROR step=config BACKUP_TARGET_COUNT='0' must be the number of storage targets/],
    [{ BACKUP_HOST: '' }, /ERROR step=config BACKUP_HOST is empty/],
    [{ BACKUP_SOURCES: 'relative/path' }, /ERROR step=config BACKUP_SOURCES entry 'relative\/path' is not an absolute path/],
    [{ BACKUP_TARGET_1_NAME: 'bad name' }, /ERROR step=config BACKUP_TARGET_1_NAME='bad name' must be set to a name/],
    [{ BACKUP_RETENTION: '--keep-daily 7 --prune' }, /ERROR step=config BACKUP_RETENTION='--keep-daily 7 --prune' must be restic forget --keep-\* flags/],
    [{ BACKUP_RETENTION: '--keep-daily' }, /ERROR step=config BACKUP_RETENTION='--keep-daily' must be restic forget --keep-\* flags/],
    [{ BACKUP_PRUNE_SCHEDULE: '0 4 * * 8' }, /ERROR step=config BACKUP_PRUNE_SCHEDULE='0 4 \* \* 8' is not a 5-field cron expression/],
    [{ BACKUP_VERIFY_DRILL_SCHEDULE: 'weekly' }, /ERROR step=config BACKUP_VERIFY_DRILL_SCHEDULE='weekly' is not a 5-field cron expression/],
    [{ BACKUP_VERIFY_READ_DATA_SUBSETS: '1/28' }, /ERROR step=config BACKUP_VERIFY_READ_DATA_SUBSETS='1\/28' must be the number of cycles/],
    [{ BACKUP_QUIESCE_MODE: 'freeze' }, /ERROR step=config BACKUP_QUIESCE_MODE='freeze' must be none, stop, pause or exec/],
    [{ BACKUP_QUIESCE_MODE: 'stop', BACKUP_QUIESCE_CONTAINER: 'db' }, /ERROR step=config BACKUP_DOCKER_API='' must be the socket proxy's URL/],
    [
      { BACKUP_QUIESCE_MODE: 'exec', BACKUP_QUIESCE_CONTAINER: 'db', BACKUP_DOCKER_API: 'http://proxy:2375', BACKUP_QUIESCE_COMMAND: 'pg_dumpall' },
      /ERROR step=config BACKUP_QUIESCE_COMMAND='pg_dumpall' must be a JSON array of strings/,
    ],
  ])('exits 2 at start on %p', async (env, message) => {
    const r = await runSidecar(fixture.resource, fixture.sandbox({ env }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('wakes on the next minute boundary and runs a cycle when the schedule matches', async () => {
    // GIVEN the daemon with `* * * * *`
    const sidecar = startSidecar(fixture.resource, fixture.sandbox({ pidNamespace: true, timeoutMs: 110000 }));
    try {
      await sidecar.waitForOutput(/INFO step=daemon started; schedule='\* \* \* \* \*' TZ=UTC host=db/, 10000);
      // WHEN the minute turns (at most 60 s)
      const out = await sidecar.waitForOutput(/INFO step=daemon cycle finished with exit code 0/, 100000);
      // THEN the cycle started on a minute boundary and backed up
      const match = /(\d{4}-\d\d-\d\dT\d\d:\d\d:(\d\d)Z) backup-agent INFO step=daemon schedule matches (\S+); starting a cycle/.exec(out);
      expect(match).not.toBeNull();
      expect(match![3]).toMatch(/:00Z$/);
      expect(readStatus(fixture.stateDir)).toMatchObject({ state: 'ok' });
    } finally {
      await sidecar.kill('SIGTERM');
    }
    const r = await sidecar.result;
    expect(r.code).toBe(0);
    // AND the SIGTERM sent right as the daemon went back to sleep stopped it at once (it once
    // slept on to the next minute: a signal between `sleep &` and recording its PID was lost)
    const stamp = (re: RegExp) => Date.parse(new RegExp(`(\\S+) backup-agent ${re.source}`).exec(r.stderr)![1]);
    const signalled = stamp(/WARN step=signal received SIGTERM/);
    const stopped = stamp(/INFO step=daemon stopped/);
    expect(stopped - signalled).toBeLessThan(10000);
  });
});
