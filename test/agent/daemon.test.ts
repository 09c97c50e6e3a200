/**
 * The daemon (the sidecar's command): refuses a plan it cannot read at start, so the container
 * fails visibly instead of missing every backup, and runs a cycle on a minute boundary when
 * the schedule matches.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Schedule, Verification } from '../../src';
import { SidecarSandboxOptions } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';

describe('the daemon', () => {
  let fixture: SynthesizedSidecar;

  beforeAll(() => {
    // Structure checks only: reading all data back within 28 days of a cycle every minute would
    // ask restic for 40,320 subsets, more than its limit of 256 (an open problem of the construct).
    fixture = synthesizedSidecar({ targets: ['disk'], backup: { schedule: Schedule.cron('* * * * *'), verification: Verification.structureOnly() } });
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'data.txt'), 'data\n');
  });

  afterAll(() => fixture.cleanup());

  test.each<[string, Partial<SidecarSandboxOptions>, RegExp]>([
    [
      'a plan that is not there',
      { env: { BACKUP_PLAN: '/backup/agent/no-such-plan.json' } },
      /ERROR step=config cannot read the plan \/backup\/agent\/no-such-plan\.json: .*No such file or directory; the installer writes it/,
    ],
    [
      'a plan that is not JSON',
      { env: { BACKUP_PLAN: '/backup/agent/plan.env' } },
      /ERROR step=config cannot read the plan \/backup\/agent\/plan\.env: parse error: .*; the installer writes it/,
    ],
    [
      'a plan of another schema version',
      { plan: { schemaVersion: 1 } },
      /ERROR step=config the plan \/backup\/agent\/\S+\.json has schema version 1, this agent reads version 3; re-deploy so that the agent and its plan are installed together/,
    ],
    [
      // (the agent has no defaults of its own: it used to wait 15 s)
      'a plan whose webhook has no timeout',
      { plan: { notify: { urlFile: '/backup/install/secrets/notify-url' } } },
      /ERROR step=config cannot read the plan \/backup\/agent\/\S+\.json: jq: error .*the plan has no notify\.timeoutSeconds; the installer writes it/,
    ],
  ])('exits 2 at start on %s', async (_case, options, message) => {
    // (an environment file where the plan should be: what the agent read before the plan)
    fs.mkdirSync(fixture.stateDir, { recursive: true });
    fs.writeFileSync(path.join(fixture.stateDir, 'plan.env'), "BACKUP_SCHEDULE='* * * * *'\nBACKUP_TARGET_COUNT=1\n");
    const r = await fixture.run(options);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/step=daemon/);
  });

  test('wakes on the next minute boundary and runs a cycle when the schedule matches', async () => {
    // GIVEN the daemon with `* * * * *`
    const sidecar = fixture.start({ pidNamespace: true, timeoutMs: 110000 });
    try {
      await sidecar.waitForOutput(/INFO step=daemon started; schedule='\* \* \* \* \*' TZ=UTC host=db/, 10000);
      // WHEN the minute turns (at most 60 s)
      const out = await sidecar.waitForOutput(/INFO step=daemon cycle finished with exit code 0/, 100000);
      // THEN the cycle started on a minute boundary and backed up
      const match = /(\d{4}-\d\d-\d\dT\d\d:\d\d:(\d\d)Z) backup-agent INFO step=daemon schedule matches (\S+); starting a cycle/.exec(out);
      expect(match).not.toBeNull();
      expect(match![3]).toMatch(/:00Z$/);
      expect(fixture.status()).toMatchObject({ state: 'ok' });
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
