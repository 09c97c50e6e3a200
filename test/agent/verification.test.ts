/**
 * Verification, so that "0 errors" is a fact: a due check (the check schedule, daily by
 * default; not part of the routine cycle) checks every repository and reads the next slice of
 * its data; a due restore drill makes the next cycle record checksums of the data it backs up,
 * restore its snapshot and compare; replicas are checked read-only. Errors turn health red,
 * naming the target, until a later verification passes. Run from the sidecar as synthesized.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Schedule, Verification } from '../../src';
import { pseudoRandomBytes } from '../support/data-set';
import { PlanPatch } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';
import { restic } from '../support/restic';

/** The largest file in a repository's data/ folder: a data pack (the random file's blobs). */
function largestPack(repository: string): string {
  const packs = fs
    .readdirSync(path.join(repository, 'data'))
    .flatMap((d) => fs.readdirSync(path.join(repository, 'data', d)).map((f) => path.join(repository, 'data', d, f)));
  return packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
}

describe('verification', () => {
  let sidecar: SynthesizedSidecar;
  const agent = (command: string[], plan?: PlanPatch) => sidecar.run({ command, plan });
  const health = () => sidecar.run({ healthcheck: true });

  beforeAll(() => {
    // GIVEN a daily backup to two local targets, all data read back within 3 days
    sidecar = synthesizedSidecar({
      targets: ['local', 'nas'],
      backup: { schedule: Schedule.daily(), verification: Verification.readBack({ readAllDataWithinDays: 3 }) },
    });
    const data = sidecar.sourceDirs.appdata;
    fs.writeFileSync(path.join(data, 'random.bin'), pseudoRandomBytes(300 * 1024, 7));
    fs.writeFileSync(path.join(data, 'table.dat'), 'rows\n'.repeat(5000));
    fs.mkdirSync(path.join(data, 'nested'));
    fs.writeFileSync(path.join(data, 'nested', 'small.txt'), 'small\n');
  });

  afterAll(() => sidecar.cleanup());

  test('a due check of each repository reads the next data subset; verify moves it on, 1/3 … 3/3 and round again', async () => {
    expect(sidecar.plan.verification).toMatchObject({ readAllDataWithinDays: 3, readDataSubsets: 3, checkSchedule: { expression: '0 3 * * *' } });
    // WHEN a cycle runs with the check due (the daemon marks it at 03:00)
    sidecar.markDue('check');
    const r = await agent(['run']);
    // THEN
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/INFO step=check target=local started \(data subset 1\/3\)/);
    expect(r.stderr).toMatch(/INFO step=check target=nas no errors found in \d+s/);
    const status = sidecar.status();
    expect(status.verification).toMatchObject({
      state: 'ok',
      errors: [],
      read_data_days: 3,
      read_data_subsets: 3,
      targets: [
        { name: 'local', result: 'ok', read_data_subset: '1/3', error: null, at: expect.any(String), epoch: expect.any(Number) },
        { name: 'nas', result: 'ok', read_data_subset: '1/3', error: null, at: expect.any(String), epoch: expect.any(Number) },
      ],
      drill: null,
    });
    // AND the check is no longer due
    expect(fs.readdirSync(path.join(sidecar.stateDir, 'due'))).toEqual([]);
    // AND each verify reads the next subset
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      expect((await agent(['verify', '--no-drill'])).code).toBe(0);
      seen.push(sidecar.status().verification.targets[0].read_data_subset);
    }
    expect(seen).toEqual(['2/3', '3/3', '1/3']);
    expect(fs.readFileSync(path.join(sidecar.stateDir, 'verify', 'local.next-subset'), 'utf8')).toBe('2\n');
  });

  test('a due restore drill: the next cycle records the checksums, restores its snapshot of every target and finds every file as recorded', async () => {
    // WHEN a cycle runs with the drill due (the daemon marks it on Sundays at 05:00)
    sidecar.markDue('drill');
    const r = await agent(['run']);
    // THEN
    expect(r.code).toBe(0);
    const status = sidecar.status();
    const files = 3;
    expect(status.verification.drill).toMatchObject({
      result: 'ok',
      files_compared: 2 * files,
      mismatches: 0,
      missing: 0,
      error: null,
      targets: [
        { name: 'local', result: 'ok', snapshot_id: status.targets[0].snapshot_id, files_compared: files, mismatches: 0, mismatched_files: [] },
        { name: 'nas', result: 'ok', snapshot_id: status.targets[1].snapshot_id, files_compared: files, mismatches: 0, mismatched_files: [] },
      ],
    });
    expect(r.stderr).toMatch(/INFO step=drill target=local snapshot [0-9a-f]{8}: all 3 files match the manifest/);
    // AND the scratch restore is gone
    expect(fs.existsSync(path.join(sidecar.stateDir, 'drill', 'local'))).toBe(false);
    expect((await health()).code).toBe(0);
  });

  test('a drill that finds files differing from the manifest (or missing) fails, and health turns red until a drill passes', async () => {
    // GIVEN the manifest of local's latest snapshot says one file had other content, and lists
    // one that the snapshot lacks (a fresh file, so the nas target's manifest stays as it was)
    const short = sidecar.status().targets[0].snapshot_id.slice(0, 8);
    const manifest = path.join(sidecar.stateDir, 'manifests', `${short}.sha256`);
    const good = fs.readFileSync(manifest, 'utf8');
    const bad =
      good.replace(/^[0-9a-f]{64}(?=  backup\/sources\/appdata\/table\.dat$)/m, '0'.repeat(64)) +
      `${'1'.repeat(64)}  backup/sources/appdata/lost.txt\n`;
    expect(bad).not.toBe(good);
    fs.rmSync(manifest);
    fs.writeFileSync(manifest, bad);
    try {
      // WHEN
      const r = await agent(['verify']);
      // THEN
      expect(r.code).toBe(1);
      const drill = sidecar.status().verification.drill;
      expect(drill).toMatchObject({ result: 'failed', files_compared: 7, mismatches: 1, missing: 1 });
      expect(drill.targets[0]).toMatchObject({ name: 'local', result: 'failed', mismatches: 1, missing: 1 });
      expect([...drill.targets[0].mismatched_files].sort()).toEqual(['backup/sources/appdata/lost.txt', 'backup/sources/appdata/table.dat']);
      expect(drill.targets[1]).toMatchObject({ name: 'nas', result: 'ok' });
      const h = await health();
      expect(h.code).toBe(1);
      expect(h.stdout).toMatch(
        new RegExp(`^unhealthy: last verification found errors: restore drill failed: target local: snapshot ${short}: 2 of 4 files do not match the manifest \\(1 differ, 1 missing;`),
      );
    } finally {
      fs.writeFileSync(manifest, good);
    }
    // AND the next drill that passes turns it green again
    expect((await agent(['verify'])).code).toBe(0);
    expect((await health()).code).toBe(0);
  });

  test('a corrupted pack: the due check fails, the status and health name the target, and a repaired repository turns it green', async () => {
    // GIVEN bytes of a data pack of the nas repository overwritten (same size, as bit rot would)
    const pack = largestPack(sidecar.targetDirs.nas);
    const original = fs.readFileSync(pack);
    const rotten = Buffer.from(original);
    rotten.write('BITROT!!', 1000);
    fs.chmodSync(pack, 0o600);
    fs.writeFileSync(pack, rotten);
    // WHEN the next cycle runs with the check due, reading all data (t = 1)
    sidecar.markDue('check');
    const r = await agent(['run'], { verification: { readDataSubsets: 1 } });
    // THEN the backup itself succeeded, but the cycle fails on the check
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERROR step=check target=nas check failed: restic exit 1: Fatal: repository contains errors; Pack ID does not match/);
    expect(r.stderr).toMatch(/ERROR step=run verification found errors: target nas: check failed/);
    const status = sidecar.status();
    expect(status.state).toBe('ok');
    expect(status.verification.state).toBe('failed');
    expect(status.verification.targets).toEqual([
      expect.objectContaining({ name: 'local', result: 'ok', read_data_subset: '1/1' }),
      expect.objectContaining({ name: 'nas', result: 'failed', error: expect.stringMatching(/Pack ID does not match/) }),
    ]);
    expect(status.verification.errors).toEqual([expect.stringMatching(/^target nas: check failed: restic exit 1: .*Pack ID does not match/)]);
    // AND health, reading status.json only, is red and says which target
    const h = await health();
    expect(h.code).toBe(1);
    expect(h.stdout).toMatch(/^unhealthy: last verification found errors: target nas: check failed: restic exit 1: Fatal: repository contains errors; Pack ID does not match, want [0-9a-f]+, got [0-9a-f]+; last successful backup \d+s ago at \S+; last cycle ok\n$/);
    // WHEN the pack is repaired (from another copy) and verified again
    fs.writeFileSync(pack, original);
    const again = await agent(['verify', '--no-drill'], { verification: { readDataSubsets: 1 } });
    // THEN
    expect(again.code).toBe(0);
    expect(sidecar.status().verification).toMatchObject({ state: 'ok', errors: [] });
    expect((await health()).code).toBe(0);
  });

  test('a stale lock (a restic killed on this host) does not block the next verify: unlock goes first', async () => {
    // GIVEN a restic in the sidecar (its fixed host name: restic removes only its own host's
    // stale locks at once) killed with SIGKILL while it held a lock on the local repository
    // (restic 0.14 refuses the exclusive lock of check while any lock exists, stale or not; its
    // own check leaves its lock behind when interrupted)
    const repo = sidecar.targetDirs.local;
    const victim = sidecar.start({
      exec: ['/bin/sh', '-c', 'sleep 600 | restic -r /backup/targets/local backup --stdin --stdin-filename stream'],
      env: { RESTIC_PASSWORD_FILE: sidecar.plan.targets[0].passwordFile },
    });
    for (let i = 0; i < 100 && restic(repo, ['list', 'locks', '--no-lock']).stdout === ''; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    victim.killAll('SIGKILL');
    expect((await victim.result).signal).toBe('SIGKILL');
    expect(restic(repo, ['list', 'locks', '--no-lock']).stdout.trim().split('\n')).toHaveLength(1);
    // WHEN
    const r = await agent(['verify', '--no-drill', '--target', 'local']);
    // THEN the stale lock was removed first and the check ran
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/INFO step=check target=local no errors found/);
    expect(restic(repo, ['list', 'locks', '--no-lock']).stdout).toBe('');
  });

  test('a replica is checked read-only (restic --no-lock check), and a broken one turns health red naming it', async () => {
    // GIVEN a read-only copy of the local repository as its replica (as an Object Lock bucket)
    const replica = path.join(sidecar.stateDir, 'replica-of-local');
    fs.cpSync(sidecar.targetDirs.local, replica, { recursive: true });
    const readOnly = (mode: 'ro' | 'rw') => {
      const walk = (p: string) => {
        const st = fs.statSync(p);
        if (st.isDirectory()) {
          fs.readdirSync(p).forEach((f) => walk(path.join(p, f)));
          fs.chmodSync(p, mode === 'ro' ? 0o555 : 0o755);
        } else {
          fs.chmodSync(p, mode === 'ro' ? 0o444 : 0o644);
        }
      };
      walk(replica);
    };
    readOnly('ro');
    const withReplica = (plan: any) => {
      const local = plan.targets[0];
      local.replicas = [
        {
          name: 'offsite',
          repository: '/backup/agent/replica-of-local',
          passwordFile: local.passwordFile,
          environment: {},
          secretFiles: {},
          caCertificateFile: null,
        },
      ];
    };
    // WHEN
    const r = await agent(['verify', '--no-drill'], withReplica);
    // THEN
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/INFO step=check target=local replica=offsite no errors found/);
    expect(sidecar.status().verification.replicas).toEqual([
      { target: 'local', name: 'offsite', result: 'ok', error: null, at: expect.any(String), epoch: expect.any(Number) },
    ]);
    expect(fs.readdirSync(path.join(replica, 'locks'))).toEqual([]);
    // WHEN a pack of the replica is lost
    readOnly('rw');
    fs.rmSync(largestPack(replica));
    readOnly('ro');
    const broken = await agent(['verify', '--no-drill'], withReplica);
    // THEN
    expect(broken.code).toBe(1);
    const h = await health();
    expect(h.code).toBe(1);
    expect(h.stdout).toMatch(/^unhealthy: last verification found errors: replica offsite of local: check failed: restic exit 1: /);
  });

  test('a file the application changes while the backup runs is left out of the drill\'s comparison, not reported as a mismatch', async () => {
    // GIVEN a restic that holds every backup until the test says go (in the state volume, first
    // on the PATH), and a drill due
    const bin = path.join(sidecar.stateDir, 'held-restic');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(
      path.join(bin, 'restic'),
      '#!/bin/sh\ncase " $* " in *" backup "*) i=0; while [ ! -f /backup/agent/go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done ;; esac\nexec /usr/bin/restic "$@"\n',
      { mode: 0o755 },
    );
    sidecar.markDue('drill');
    const running = sidecar.start({ command: ['run'], path: '/backup/agent/held-restic:/bin:/usr/bin' });
    // WHEN the application writes to a file after the manifest was taken, before restic reads it
    await running.waitForOutput(/INFO step=backup target=nas started/);
    fs.appendFileSync(path.join(sidecar.sourceDirs.appdata, 'table.dat'), 'a row written during the backup\n');
    fs.writeFileSync(path.join(sidecar.stateDir, 'go'), '');
    const r = await running.result;
    fs.rmSync(path.join(sidecar.stateDir, 'go'));
    // THEN the cycle and its drill pass: that file is reported as changed, the others compared
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/INFO step=manifest sha256 of 2 files recorded \(1 changed while the backup ran: not compared by the drill\)/);
    const drill = sidecar.status().verification.drill;
    expect(drill).toMatchObject({ result: 'ok', files_compared: 4, mismatches: 0, missing: 0, changed_during_backup: 2 });
    const short = sidecar.status().targets[0].snapshot_id.slice(0, 8);
    expect(fs.readFileSync(path.join(sidecar.stateDir, 'manifests', `${short}.changed`), 'utf8')).toBe('backup/sources/appdata/table.dat\n');
  });
});
