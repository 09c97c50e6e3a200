/**
 * Fitness of the agent's globals (issue 23): every shell variable is assigned in one part only,
 * its owner, and the other parts read it; the plan's settings are assigned by plan_load alone
 * (read-only after); the constants TypeScript decides arrive in the generated part and are
 * assigned nowhere else. A result that several steps produce passes by return code, or through
 * one named output of the part that owns it (VERIFY_FAILED: 62-drill.sh).
 *
 * The analysis is test/agent/shell-variables.ts (static, per part and function); the first
 * tests check it on small scripts, so that a fitness test passing says something.
 */
import { joinedParts } from '../../src/agent/agent-asset';
import { AGENT_CONSTANTS, AGENT_CONSTANTS_PART } from '../../src/agent/agent-constants';
import { analyseParts, ShellPart, TARGET_SETTINGS, VariableUse } from './shell-variables';

const PLAN_PART = '20-plan.sh';

/** The parts that assign each variable, for the ones assigned in more than one. */
function sharedAssignments(parts: ShellPart[]): string[] {
  const { assigned } = analyseParts(parts);
  return [...assigned.entries()]
    .map(([name, uses]) => [name, [...new Set(uses.map((u) => u.part))]] as const)
    .filter(([, owners]) => owners.length > 1)
    .map(([name, owners]) => `${name} is assigned in ${owners.join(' and ')}`)
    .sort();
}

const where = (uses: VariableUse[]) => uses.map((u) => `${u.part}:${u.line}${u.fn ? ` (${u.fn})` : ''}`).join(', ');

describe('the analysis of the parts (shell-variables.ts)', () => {
  test('finds an assignment in a second part, in a function, a for loop or a read', () => {
    // GIVEN
    const parts = [
      { name: 'a.sh', text: 'RESULT=\'\'\nf() {\n  for ITEM in 1 2; do :; done\n}\n' },
      { name: 'b.sh', text: 'g() {\n  [ -n "$x" ] || RESULT=1\n  read -r ITEM <"$1"\n  { TWO=1 && return; }\n}\nTWO=2\n' },
    ];
    // WHEN / THEN
    expect(sharedAssignments(parts)).toEqual(['ITEM is assigned in a.sh and b.sh', 'RESULT is assigned in a.sh and b.sh']);
    expect(analyseParts(parts).assigned.get('RESULT')!.map((u) => [u.part, u.line, u.fn])).toEqual([['a.sh', 1, ''], ['b.sh', 2, 'g']]);
  });

  test('ignores quoted text, comments, a command\'s environment and a command substitution\'s subshell', () => {
    // GIVEN
    const parts = [
      { name: 'a.sh', text: 'X=1\nY=1\nZ=1\n' },
      {
        name: 'b.sh',
        text: [
          "jq -n 'X=2'",
          'printf "%s" "Y=2" # Z=2',
          'X=3 sort file',
          'v=$(Y=3; echo "$Y")',
          "cat <<'EOF'",
          'Z=3',
          'EOF',
          '',
        ].join('\n'),
      },
    ];
    // WHEN
    const inventory = analyseParts(parts);
    // THEN
    expect(sharedAssignments(parts)).toEqual([]);
    expect([...inventory.commandEnvironment.keys()]).toEqual(['X']);
  });

  test('counts the plan\'s settings as assigned by the jq program of the part that evaluates it', () => {
    const inventory = analyseParts([{ name: 'p.sh', text: "readonly P='\ndef set($n; v): .;\nset(\"HOST\"; .host), set(\"T_\\($t)_NAME\"; .name)\n'\n" }]);
    expect([...inventory.planSettings.entries()]).toEqual([['HOST', 'p.sh'], [TARGET_SETTINGS, 'p.sh']]);
  });
});

describe('the agent\'s globals', () => {
  const parts = joinedParts();
  const inventory = analyseParts(parts);

  test('the generated part is joined in right after the header', () => {
    expect(parts.map((p) => p.name).slice(0, 3)).toEqual(['00-header.sh', AGENT_CONSTANTS_PART, '10-log.sh']);
  });

  test('each variable is assigned in one part only: its owner', () => {
    expect(sharedAssignments(parts)).toEqual([]);
  });

  test('the plan\'s settings are assigned by plan_load alone (its jq program, its eval)', () => {
    const settings = [...inventory.planSettings.keys()];
    expect(settings.length).toBeGreaterThan(40);
    const elsewhere = settings.flatMap((name) =>
      (inventory.assigned.get(name) ?? []).filter((u) => u.part !== PLAN_PART || !['', 'plan_load'].includes(u.fn)).map((u) => `${name} at ${where([u])}`),
    );
    expect(elsewhere).toEqual([]);
  });

  test('the constants from TypeScript are declared readonly in the generated part, and assigned nowhere else', () => {
    const names = AGENT_CONSTANTS.map((c) => c.name);
    expect(inventory.readonlyNames.get(AGENT_CONSTANTS_PART)).toEqual(names);
    const assignedElsewhere = names.flatMap((name) => (inventory.assigned.get(name) ?? []).filter((u) => u.part !== AGENT_CONSTANTS_PART).map((u) => `${name} at ${where([u])}`));
    expect(assignedElsewhere).toEqual([]);
    // and each is read somewhere (shellcheck would call an unread one unused)
    expect(names.filter((name) => (inventory.read.get(name) ?? []).every((u) => u.part === AGENT_CONSTANTS_PART))).toEqual([]);
  });

  test('no part hard-codes a value that the generated part carries', () => {
    const values = AGENT_CONSTANTS.filter((c) => typeof c.value === 'string').map((c) => String(c.value));
    const found = parts
      .filter((p) => p.name !== AGENT_CONSTANTS_PART)
      .flatMap((p) => p.text.split('\n').map((line, i) => ({ p, line, i })))
      .filter(({ line }) => !line.trimStart().startsWith('#') && values.some((v) => line.includes(v)))
      .map(({ p, line, i }) => `${p.name}:${i + 1}: ${line.trim()}`);
    expect(found).toEqual([]);
  });
});
