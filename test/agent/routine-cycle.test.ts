/**
 * A routine cycle does the least work that keeps the guarantees (issue 13): per target one
 * `restic backup` and, when retention runs, one `restic forget`; no `check` (it has its own
 * schedule), no checksums of the data (only for a due restore drill), no `unlock` or `cat
 * config` (only when the backup reports the need); the targets run at the same time. Counted
 * with a recording `restic` on the sidecar's PATH, never timed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Retention, Schedule } from '../../src';
import { pseudoRandomBytes } from '../support/data-set';
import { RECORDER_PATH, ResticCall, installRecorder, recordedCalls } from '../support/restic-recorder';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';

/** Per target (by repository), the subcommands in call order. */
function perTarget(calls: ResticCall[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const call of calls) {
    const repository = call.env.RESTIC_REPOSITORY;
    (out[repository] ??= []).push(call.args.find((a) => !a.startsWith('-'))!);
  }
  return out;
}

describe.each([
  ['after every backup (the default)', {}, ['backup', 'forget']],
  // restic 0.14 reports 8 digits of the snapshot id: without forget in the cycle, the full id
  // is the name of the snapshot's file in a local repository (restic >= 0.15 reports it)
  ['on a retention schedule not due this cycle', { schedule: Schedule.hourly(), retentionSchedule: Schedule.daily({ hour: 1 }) }, ['backup']],
])('a routine incremental cycle, retention %s', (_name, backup, expected) => {
  let sidecar: SynthesizedSidecar;
  let calls: ResticCall[];

  beforeAll(async () => {
    // GIVEN two local targets with a first, full backup
    sidecar = synthesizedSidecar({ targets: ['local', 'nas'], backup: { retention: Retention.keepLast(10), ...backup } });
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'random.bin'), pseudoRandomBytes(2 * 1024 * 1024, 3));
    expect((await sidecar.run(['run'])).code).toBe(0);
    // WHEN a file changes and the next cycle runs, its restic calls recorded
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'changed.txt'), 'a change\n');
    installRecorder(sidecar.stateDir);
    const r = await sidecar.run(['run'], { path: RECORDER_PATH });
    expect(r.stderr).not.toMatch(/ (ERROR|WARN) /);
    expect(r.code).toBe(0);
    calls = recordedCalls(sidecar.stateDir);
  });

  afterAll(() => sidecar.cleanup());

  test(`makes at most 2 restic calls per target: ${expected.join(', ')}`, () => {
    const targets = sidecar.plan.targets.map((t: any) => t.repository);
    expect(perTarget(calls)).toEqual(Object.fromEntries(targets.map((repository: string) => [repository, expected])));
    expect(calls.every((c) => c.code === 0)).toBe(true);
  });

  test('backs the targets up at the same time', () => {
    const [a, b] = calls.filter((c) => c.args.includes('backup'));
    expect(a.started < b.ended && b.started < a.ended).toBe(true);
  });

  test('records no checksums of the data (no restore drill is due), and the status has every full snapshot id', () => {
    const status = sidecar.status();
    expect(status.targets.map((t: any) => [t.name, t.result, t.manifest])).toEqual([
      ['local', 'ok', null],
      ['nas', 'ok', null],
    ]);
    for (const t of status.targets) {
      expect(t.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(fs.existsSync(path.join(sidecar.stateDir, 'manifests'))).toBe(false);
  });
});
