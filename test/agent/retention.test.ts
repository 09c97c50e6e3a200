/**
 * Retention and prune, from the sidecar as synthesized: `restic forget` after each complete
 * backup by the policy, for this host's snapshots with the plan's tags, grouped by host; never
 * the snapshot just made, even when the policy would select it; `restic prune` on its own
 * schedule, deferred while another process holds a lock and done by the next cycle.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Retention, Schedule, Verification } from '../../src';
import { TEST_PASSWORD } from '../support/test-values';
import { pseudoRandomBytes } from '../support/data-set';
import { PlanPatch } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';
import { restic, snapshotsOf } from '../support/restic';

const TAGS = ['--tag', 'cdktf-container-backup', '--tag', 'db'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A snapshot made by hand on the host (restic as an operator would run it). */
function handMade(repository: string, dir: string, args: string[]): string {
  const r = restic(repository, ['backup', '--json', ...args, dir]);
  if (r.code !== 0) {
    throw new Error(`restic backup failed: ${r.stderr}`);
  }
  // restic 0.14 reports the short id: return the full one.
  const short: string = JSON.parse(r.stdout.trim().split('\n').pop()!).snapshot_id;
  return snapshotsOf(repository).find((s) => s.id.startsWith(short))!.id;
}

function packCount(repository: string): number {
  return fs.readdirSync(path.join(repository, 'data')).reduce((n, d) => n + fs.readdirSync(path.join(repository, 'data', d)).length, 0);
}

describe('retention', () => {
  let sidecar: SynthesizedSidecar;
  let repo: string;
  let scratch: string;
  const agent = (command: string[], plan?: PlanPatch) => sidecar.run({ command, plan });

  beforeAll(() => {
    // GIVEN a sidecar that keeps the last 2 snapshots
    sidecar = synthesizedSidecar({ backup: { retention: Retention.keepLast(2) } });
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'table.dat'), 'rows\n'.repeat(2000));
    repo = sidecar.targetDirs.local;
    scratch = path.join(sidecar.workDir, 'hand');
    fs.mkdirSync(scratch);
  });

  afterAll(() => sidecar.cleanup());

  test('forgets what the policy says, grouping by host (not paths), and never touches other hosts\' or hand-tagged snapshots', async () => {
    // GIVEN a repository with this host's snapshots of other paths (an older layout), another
    // host's snapshot and one of this host with other tags
    expect(sidecar.plan.retention).toEqual(['--keep-last', '2']);
    expect((await agent(['run'])).code).toBe(0); // creates the repository
    const write = (seed: number) => fs.writeFileSync(path.join(scratch, 'unique.bin'), pseudoRandomBytes(200 * 1024, seed));
    write(1);
    const old1 = handMade(repo, scratch, ['--host', 'db', ...TAGS, '--time', '2020-01-01 00:00:00']);
    write(2);
    const old2 = handMade(repo, scratch, ['--host', 'db', ...TAGS, '--time', '2020-01-02 00:00:00']);
    const other = handMade(repo, scratch, ['--host', 'web', ...TAGS, '--time', '2020-01-01 00:00:00']);
    const manual = handMade(repo, scratch, ['--host', 'db', '--tag', 'before-upgrade', '--time', '2020-01-01 00:00:00']);
    // WHEN a cycle runs
    const r = await agent(['run']);
    // THEN this host's group keeps the 2 newest: the two cycles' snapshots
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/INFO step=retention target=local forgot 2 snapshots, kept 2/);
    const ids = snapshotsOf(repo).map((s: any) => s.id);
    expect(ids).not.toContain(old1);
    expect(ids).not.toContain(old2);
    expect(ids).toEqual(expect.arrayContaining([other, manual]));
    expect(ids).toHaveLength(4);
    expect(sidecar.status().targets[0].retention).toEqual({
      result: 'ok',
      at: expect.any(String),
      epoch: expect.any(Number),
      error: null,
      removed: 2,
      kept: 2,
      protected: 0,
    });
  });

  test('never removes the snapshot just made, even when the policy (computed on a future-dated snapshot) selects it', async () => {
    // GIVEN a snapshot of this host dated in 2035 (a clock that ran ahead), and a policy that
    // keeps only the newest snapshot by time
    const future = handMade(repo, scratch, ['--host', 'db', ...TAGS, '--time', '2035-01-01 00:00:00']);
    // WHEN a cycle runs
    const r = await agent(['run'], { retention: ['--keep-last', '1'] });
    // THEN the fresh snapshot survives, with a warning; everything else of the group goes
    expect(r.code).toBe(0);
    const fresh = sidecar.status().targets[0].snapshot_id;
    expect(r.stderr).toMatch(new RegExp(`WARN step=retention target=local the policy would remove snapshot ${fresh.slice(0, 8)}, the one this cycle just made .*keeping it`));
    const mine = snapshotsOf(repo).filter((s: any) => s.hostname === 'db' && (s.tags ?? []).includes('cdktf-container-backup'));
    expect(mine.map((s: any) => s.id).sort()).toEqual([fresh, future].sort());
    expect(sidecar.status().targets[0].retention).toMatchObject({ result: 'ok', kept: 2, protected: 1 });
  });

  test('prune removes the data no snapshot references any more', async () => {
    const before = packCount(repo);
    // WHEN
    const r = await agent(['prune']);
    // THEN
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/INFO step=prune target=local done in \d+s/);
    expect(packCount(repo)).toBeLessThan(before);
    expect(restic(repo, ['check']).code).toBe(0);
    expect(sidecar.status().prune).toMatchObject({
      schedule: '0 4 * * 0',
      due: [],
      targets: [{ name: 'local', result: 'ok', error: null }],
    });
  });

  test('a prune that finds the repository locked by another process is deferred, stays due, and the next cycle does it', async () => {
    // GIVEN a prune due, and a restic backup on the host holding a lock on the repository
    fs.mkdirSync(path.join(sidecar.stateDir, 'due'), { recursive: true });
    fs.writeFileSync(path.join(sidecar.stateDir, 'due', 'prune.local'), '');
    const holder: ChildProcess = spawn('restic', ['-r', repo, '--no-cache', 'backup', '--stdin', '--stdin-filename', 'stream'], {
      env: { PATH: process.env.PATH, RESTIC_PASSWORD: TEST_PASSWORD, HOME: '/tmp' },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    try {
      for (let i = 0; i < 100 && restic(repo, ['list', 'locks', '--no-lock']).stdout === ''; i++) {
        await sleep(100);
      }
      // WHEN the due work runs (what the daemon starts at the prune slot)
      const r = await agent(['due']);
      // THEN nothing failed: the prune waits for the next cycle
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/WARN step=prune target=local the repository is locked by another process \(.*\); deferred to the next cycle/);
      expect(sidecar.status().prune).toMatchObject({ due: ['local'], targets: [{ name: 'local', result: 'deferred' }] });
      expect(fs.existsSync(path.join(sidecar.stateDir, 'due', 'prune.local'))).toBe(true);
    } finally {
      holder.kill('SIGINT'); // restic removes its lock
      await new Promise((r) => holder.once('exit', r));
    }
    // WHEN the next cycle runs
    const next = await agent(['run']);
    // THEN it prunes after its backup and retention, and the prune is no longer due
    expect(next.code).toBe(0);
    const order = ['step=backup target=local started', 'step=retention target=local', 'step=prune target=local done'];
    const at = order.map((line) => next.stderr.indexOf(line));
    expect(at.every((p) => p >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(sidecar.status().prune).toMatchObject({ due: [], targets: [{ name: 'local', result: 'ok' }] });
    expect(fs.existsSync(path.join(sidecar.stateDir, 'due', 'prune.local'))).toBe(false);
  });
});

describe('the daemon at prune, check and drill slots', () => {
  let sidecar: SynthesizedSidecar;

  beforeAll(() => {
    // GIVEN backups on 1 January only, prune, check and restore drill every minute
    sidecar = synthesizedSidecar({
      backup: {
        schedule: Schedule.cron('0 0 1 1 *'),
        pruneSchedule: Schedule.cron('* * * * *'),
        verification: Verification.readBack({ checkSchedule: Schedule.cron('* * * * *'), restoreDrill: Schedule.cron('* * * * *') }),
      },
    });
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'table.dat'), 'rows\n'.repeat(100));
  });

  afterAll(() => sidecar.cleanup());

  test('marks prune, check and drill due when their schedules match and runs prune and check without a backup; the drill waits for the next backup', async () => {
    // GIVEN one snapshot
    expect((await sidecar.run(['run'])).code).toBe(0);
    // WHEN the daemon passes a minute boundary
    const daemon = sidecar.start({ pidNamespace: true, timeoutMs: 110000 });
    let out: string;
    try {
      await daemon.waitForOutput(
        /INFO step=daemon started; schedule='0 0 1 1 \*' TZ=UTC host=db prune='\* \* \* \* \*' check='\* \* \* \* \*' drill='\* \* \* \* \*' retention='after every backup' quiesce=none/,
        10000,
      );
      out = await daemon.waitForOutput(/INFO step=daemon due work finished with exit code \d+/, 100000);
    } finally {
      await daemon.kill('SIGTERM');
    }
    await daemon.result;
    // THEN prune and check ran, and the drill waits: it compares with checksums taken at backup time
    expect(out).toMatch(/INFO step=daemon prune schedule matches \S+; prune due on every target/);
    expect(out).toMatch(/INFO step=daemon check schedule matches \S+; check due on every target/);
    expect(out).toMatch(/INFO step=daemon drill schedule matches \S+; restore drill due after the next backup/);
    expect(out).not.toMatch(/step=daemon schedule matches/);
    expect(out).toMatch(/INFO step=prune target=local done/);
    expect(out).toMatch(/INFO step=check target=local no errors found/);
    expect(out).toMatch(/INFO step=drill due; it runs after the next backup, against the checksums taken then/);
    expect(out).toMatch(/INFO step=daemon due work finished with exit code 0/);
    const status = sidecar.status();
    expect(status.prune).toMatchObject({ schedule: '* * * * *', due: [], targets: [{ name: 'local', result: 'ok' }] });
    expect(status.verification.targets).toMatchObject([{ name: 'local', result: 'ok' }]);
    expect(fs.readdirSync(path.join(sidecar.stateDir, 'due'))).toEqual(['drill']);
    // WHEN the next backup cycle runs
    const next = await sidecar.run(['run']);
    // THEN it records the checksums, and the drill compares the restored snapshot with them
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/INFO step=manifest sha256 of 1 files recorded/);
    expect(next.stderr).toMatch(/INFO step=drill target=local snapshot [0-9a-f]{8}: all 1 files match the manifest/);
    expect(sidecar.status().verification.drill).toMatchObject({ result: 'ok', files_compared: 1, mismatches: 0 });
    expect(fs.readdirSync(path.join(sidecar.stateDir, 'due'))).toEqual([]);
  });
});
