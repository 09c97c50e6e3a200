/**
 * Two cycles never run at once: the agent's mkdir lock in the state volume makes the second
 * one log and skip (exit 75); a lock left by a dead cycle is taken over.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Retention } from '../../src';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';
import { restic, snapshotsOf } from '../support/restic';

function startTime(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19];
}

describe('the cycle lock', () => {
  let fixture: SynthesizedSidecar;
  let lockDir: string;
  const run = () => fixture.run(['run']);
  const plantLock = (pid: number, start: string, host: string, epoch: number) => {
    fs.mkdirSync(lockDir, { recursive: true });
    fs.writeFileSync(path.join(lockDir, 'owner'), `${pid} ${start} ${host} ${epoch}\n`);
  };
  const now = () => Math.floor(Date.now() / 1000);
  // The sidecar's fixed host name: a lock taken on it is this container's, whatever its PID namespace.
  const host = () => fixture.resource.hostname!;

  beforeAll(() => {
    fixture = synthesizedSidecar({ targets: ['disk', 'nas'], backup: { networkTimeoutSeconds: 120, retention: Retention.keepLast(100) } });
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
    fs.writeFileSync(path.join(fixture.sourceDirs.appdata, 'small.txt'), 'small\n');
    fs.mkdirSync(fixture.stateDir, { recursive: true });
    lockDir = path.join(fixture.stateDir, 'run.lock');
  });

  afterAll(() => fixture.cleanup());

  test('held by a live cycle: the second logs, skips with exit 75, touches nothing', async () => {
    // GIVEN a live process on this host holding the lock
    const holder = spawn('sleep', ['60']);
    try {
      plantLock(holder.pid!, startTime(holder.pid!), host(), now());
      // WHEN
      const r = await run();
      // THEN
      expect(r.code).toBe(75);
      expect(r.stderr).toMatch(new RegExp(`INFO step=lock another cycle is running \\(pid ${holder.pid} on ${host()} since .*\\); skipping this one`));
      expect(fs.existsSync(path.join(fixture.stateDir, 'status.json'))).toBe(false);
      expect(fs.readdirSync(fixture.targetDirs.disk)).toEqual([]);
      expect(fs.existsSync(lockDir)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      fs.rmSync(lockDir, { recursive: true, force: true });
    }
  });

  test('held by a recycled PID (same pid, other start time) is stale and taken over', async () => {
    // GIVEN a lock naming a live PID whose start time differs: not the process that took it
    plantLock(1, '12345', host(), now());
    // WHEN
    const r = await run();
    // THEN
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARN step=lock removing the stale cycle lock of pid 1 on /);
    expect(fs.existsSync(lockDir)).toBe(false);
    expect(snapshotsOf(fixture.targetDirs.disk)).toHaveLength(1);
  });

  test('held by a dead process is taken over', async () => {
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    plantLock(Number(dead.stdout.trim()), '1', host(), now());
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARN step=lock removing the stale cycle lock/);
    expect(fs.existsSync(lockDir)).toBe(false);
  });

  test('held on another host name (a re-created container) counts until a cycle must have ended', async () => {
    // GIVEN a fresh lock from another host name: it may be alive, it is respected
    plantLock(4242, '1', 'old-container-id', now() - 60);
    expect((await run()).code).toBe(75);
    // WHEN it is older than the longest possible cycle (120 s timeout x (12 x 2 targets + 2) + 1 h)
    plantLock(4242, '1', 'old-container-id', now() - 6721);
    const r = await run();
    // THEN it is removed
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARN step=lock removing the stale cycle lock of pid 4242 on old-container-id/);
  });

  test('two cycles started together: one runs, the other skips, nothing is corrupted', async () => {
    const before = snapshotsOf(fixture.targetDirs.disk).length;
    // WHEN two runs start at the same moment (as a manual docker exec during a scheduled cycle)
    const a = fixture.start(['run']);
    const b = fixture.start(['run']);
    const results = await Promise.all([a.result, b.result]);
    // THEN exactly one ran
    expect(results.map((r) => r.code).sort()).toEqual([0, 75]);
    // AND each repository got exactly one more snapshot and checks clean, with no lock left
    for (const target of ['disk', 'nas']) {
      const repo = fixture.targetDirs[target];
      expect(snapshotsOf(repo)).toHaveLength(before + 1);
      const check = restic(repo, ['check']);
      expect(check.stderr).toBe('');
      expect(check.code).toBe(0);
      expect(restic(repo, ['list', 'locks', '--no-lock']).stdout).toBe('');
    }
    // AND the status is whole and describes the cycle that ran
    const status = fixture.status();
    expect(status.state).toBe('ok');
    expect(status.targets.map((t: any) => t.result)).toEqual(['ok', 'ok']);
    expect(fs.existsSync(lockDir)).toBe(false);
    expect(fs.readdirSync(fixture.stateDir).filter((f) => f.startsWith('status.json.tmp'))).toEqual([]);
  });
});
