/**
 * The agent's schedule matcher in the sidecar as synthesized: each expression expanded by the
 * TypeScript model into the plan's schedule (`planSchedule`), flattened by the agent's own plan
 * loader (its jq `sets`), and matched by the installed agent (`backup-agent cron-match-batch`)
 * in the sidecar sandbox under busybox sh and under dash, busybox `date` doing the calendar
 * work in the time zone given (the plan's timeZone becomes the agent's TZ). Parsing is the
 * model's alone (src/policy/cron.ts): an invalid expression fails synth and never reaches the
 * agent; test/policy/cron-agreement.test.ts compares the two matchers on 10,000+ expressions
 * in UTC.
 */
import { spawnSync } from 'child_process';
import { agentScript, AGENT_SCRIPT_PATH } from '../../src/agent/agent-asset';
import { planSchedule } from '../../src/agent/agent-plan';
import { Schedule } from '../../src';
import { shellQuote } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';

const at = (iso: string) => Date.parse(iso) / 1000;

// [expression, time, TZ, expected answer: 0 fires, 1 does not]
const CASES: Array<[string, string, string, 0 | 1]> = [
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
];

// Refused by the model at synth: the agent never sees them.
const INVALID = [
  '60 * * * *',
  '* * * *',
  '*/0 * * * *',
  '5-1 * * * *',
  '1-x * * * *',
  '0 0 * * 8',
  '1,,2 * * * *',
  '@daily',
];

/** Each expression's schedule as the agent's plan loader flattens it (its jq `sets`). */
function agentSets(expressions: string[]): string[] {
  const def = /def sets:[\s\S]*? end;/.exec(agentScript());
  if (!def) {
    throw new Error('no `def sets` in the agent script');
  }
  const r = spawnSync('jq', ['-r', `${def[0]} .[] | sets`], { input: JSON.stringify(expressions.map((e) => planSchedule(e))), encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`jq failed: ${r.stderr}`);
  }
  return r.stdout.trimEnd().split('\n');
}

describe.each(['busybox', 'dash'] as const)('the installed agent matching schedules under %s sh', (shell) => {
  let fixture: SynthesizedSidecar;
  const answers = new Map<number, number>();

  beforeAll(async () => {
    fixture = synthesizedSidecar();
    // One sandbox for all cases: each line feeds one schedule and minute to the installed agent,
    // in the case's time zone, and prints the case and the agent's answer.
    const sets = agentSets(CASES.map(([expr]) => expr));
    const script = CASES.map(
      ([, time, tz], i) =>
        `printf '%s\\t%s\\n' ${shellQuote(sets[i])} ${at(time)} | TZ=${shellQuote(tz)} sh ${AGENT_SCRIPT_PATH} cron-match-batch | sed 's/^/${i} /'`,
    ).join('\n');
    const r = await fixture.run({ shell, exec: ['/bin/sh', '-c', script] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const line of r.stdout.trim().split('\n')) {
      const [i, answer] = line.split(' ').map(Number);
      answers.set(i, answer);
    }
  });

  afterAll(() => fixture.cleanup());

  test.each(CASES.map((c, i) => [...c, i] as const))('%p at %s (%s) gives %p', (_expr, _time, _tz, expected, i) => {
    expect(answers.get(i)).toBe(expected);
  });

  test('the sandbox really ran this shell as /bin/sh', async () => {
    const r = await fixture.run({ shell, exec: ['/bin/sh', '-c', 'readlink /bin/sh'] });
    expect(r.stdout.trim()).toBe(shell === 'dash' ? '/usr/bin/dash' : '/usr/bin/busybox');
  });
});

test.each(INVALID)('%p is refused at synth, before any agent sees it', (expr) => {
  expect(() => Schedule.cron(expr)).toThrow();
});
