/**
 * The agent's own cron matcher (`backup-agent cron-match "EXPR" EPOCH`, exit 0 match, 1 no
 * match, 2 invalid), run inside the sidecar sandbox under busybox sh and under dash, with
 * busybox `date` doing the calendar work.
 */
import { AGENT_SCRIPT_PATH } from '../../src/agent/agent-asset';
import { runSidecar, shellQuote } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';

const at = (iso: string) => Date.parse(iso) / 1000;

// [expression, time, TZ, expected exit code]
const CASES: Array<[string, string, string, 0 | 1 | 2]> = [
  // plain numbers, and a non-match one minute later
  ['0 2 * * *', '2026-11-26T02:00:00Z', 'UTC', 0],
  ['0 2 * * *', '2026-11-26T02:01:00Z', 'UTC', 1],
  ['05 08 * * *', '2026-11-26T08:05:00Z', 'UTC', 0], // leading zeros are decimal, not octal
  // steps
  ['*/15 * * * *', '2026-11-26T02:45:00Z', 'UTC', 0],
  ['*/15 * * * *', '2026-11-26T02:50:00Z', 'UTC', 1],
  ['5/20 * * * *', '2026-11-26T02:45:00Z', 'UTC', 0], // a/n: from a to the end, every n
  ['5/20 * * * *', '2026-11-26T02:15:00Z', 'UTC', 1],
  // ranges with steps, on weekdays (2026-11-30 is a Monday, 2026-11-28 a Saturday)
  ['0 9-17/2 * * 1-5', '2026-11-30T11:00:00Z', 'UTC', 0],
  ['0 9-17/2 * * 1-5', '2026-11-30T12:00:00Z', 'UTC', 1],
  ['0 9-17/2 * * 1-5', '2026-11-28T11:00:00Z', 'UTC', 1],
  // lists
  ['30 1,13 * * *', '2026-11-26T13:30:00Z', 'UTC', 0],
  ['30 1,13 * * *', '2026-11-26T14:30:00Z', 'UTC', 1],
  ['0,30 0-6/3,22 * * *', '2026-11-26T22:30:00Z', 'UTC', 0],
  // day of week 0-7: 7 is Sunday too (2026-11-29 is a Sunday)
  ['0 0 * * 7', '2026-11-29T00:00:00Z', 'UTC', 0],
  ['0 0 * * 0', '2026-11-29T00:00:00Z', 'UTC', 0],
  ['0 0 * * 5-7', '2026-11-29T00:00:00Z', 'UTC', 0],
  ['0 0 * * 7', '2026-11-28T00:00:00Z', 'UTC', 1],
  // months and days of month
  ['0 0 1 * *', '2026-12-01T00:00:00Z', 'UTC', 0],
  ['0 0 1 1 *', '2027-01-01T00:00:00Z', 'UTC', 0],
  ['0 0 1 1 *', '2026-12-01T00:00:00Z', 'UTC', 1],
  // both day fields restricted: either matches (Vixie cron); 2026-11-27 is a Friday
  ['0 0 13 * 5', '2026-11-27T00:00:00Z', 'UTC', 0],
  ['0 0 13 * 5', '2026-12-13T00:00:00Z', 'UTC', 0],
  ['0 0 13 * 5', '2026-11-28T00:00:00Z', 'UTC', 1],
  // one restricted, the other `*`: both must match
  ['0 0 13 * *', '2026-11-27T00:00:00Z', 'UTC', 1],
  // evaluated in TZ: 02:00 in Berlin is 01:00 UTC in November
  ['0 2 * * *', '2026-11-26T01:00:00Z', 'Europe/Berlin', 0],
  ['0 2 * * *', '2026-11-26T02:00:00Z', 'Europe/Berlin', 1],
  // invalid expressions
  ['60 * * * *', '2026-11-26T02:00:00Z', 'UTC', 2],
  ['* * * *', '2026-11-26T02:00:00Z', 'UTC', 2],
  ['*/0 * * * *', '2026-11-26T02:00:00Z', 'UTC', 2],
  ['5-1 * * * *', '2026-11-26T02:00:00Z', 'UTC', 2],
  ['1-x * * * *', '2026-11-26T02:00:00Z', 'UTC', 2],
  ['0 0 * * 8', '2026-11-26T02:00:00Z', 'UTC', 2],
  ['1,,2 * * * *', '2026-11-26T02:00:00Z', 'UTC', 2],
  ['@daily', '2026-11-26T02:00:00Z', 'UTC', 2],
];

describe.each(['busybox', 'dash'] as const)('cron-match under %s sh', (shell) => {
  let fixture: SynthesizedSidecar;
  const codes = new Map<number, number>();

  beforeAll(async () => {
    fixture = synthesizedSidecar();
    // One sandbox for all cases: each line runs the installed agent and prints its exit code.
    const script = CASES.map(
      ([expr, time, tz], i) =>
        `TZ=${shellQuote(tz)} sh ${AGENT_SCRIPT_PATH} cron-match ${shellQuote(expr)} ${at(time)} >/dev/null 2>&1; echo "${i} $?"`,
    ).join('\n');
    const r = await runSidecar(fixture.resource, fixture.sandbox({ shell, exec: ['/bin/sh', '-c', script] }));
    expect(r.code).toBe(0);
    for (const line of r.stdout.trim().split('\n')) {
      const [i, code] = line.split(' ').map(Number);
      codes.set(i, code);
    }
  });

  afterAll(() => fixture.cleanup());

  test.each(CASES.map((c, i) => [...c, i] as const))('%p at %s (%s) exits %p', (_expr, _time, _tz, expected, i) => {
    expect(codes.get(i)).toBe(expected);
  });

  test('the sandbox really ran this shell as /bin/sh', async () => {
    const r = await runSidecar(fixture.resource, fixture.sandbox({ shell, exec: ['/bin/sh', '-c', 'readlink /bin/sh'] }));
    expect(r.stdout.trim()).toBe(shell === 'dash' ? '/usr/bin/dash' : '/usr/bin/busybox');
  });
});
