/**
 * What the TypeScript side and the agent both rely on: the agent's paths in the sidecar and the
 * version of its plan. Decided here once; the constructs and the plan read these constants, and
 * the agent gets the ones it reads as a generated part (`agentConstantsPart`) that agent-asset.ts
 * joins in after the header, so no part of the agent repeats them. A leaf module (no import of
 * the agent's other files), so that the plan and the joined script can both import it.
 */

/** The agent's state folder in the sidecar: a small writable named volume. */
export const AGENT_STATE_DIR = '/backup/agent';
/**
 * The agent and its secrets in the sidecar: a named volume that only the one-shot install
 * container writes, mounted read-only in the sidecar (a compromised agent cannot rewrite the
 * script it restarts with, nor its secrets).
 */
export const AGENT_INSTALL_DIR = '/backup/install';
/** The agent script in the sidecar. */
export const AGENT_SCRIPT_PATH = `${AGENT_INSTALL_DIR}/bin/backup-agent`;
/** The secrets in the sidecar, one file each, mode 0400. */
export const AGENT_SECRETS_DIR = `${AGENT_INSTALL_DIR}/secrets`;
/** Where each protected volume is mounted, read-only: `/backup/sources/<volume>`. */
export const SOURCE_ROOT = '/backup/sources';

/**
 * The plan: everything the agent is told, decided at synth time, as one versioned JSON
 * document (docs/agent-contract.md, with its JSON Schema in docs/agent-plan.schema.json). The
 * agent refuses a plan of another version.
 */
export const AGENT_PLAN_SCHEMA_VERSION = 3;

/** Where the sidecar finds its plan (installed 0444 with the agent, read-only in the sidecar). */
export const AGENT_PLAN_FILE = `${AGENT_INSTALL_DIR}/agent.json`;

/** One constant of the agent: a `readonly` global of the generated part. */
interface AgentConstant {
  /** The shell name (upper case). */
  readonly name: string;
  readonly value: string | number;
  /** What it is, and the TypeScript constant it comes from. */
  readonly doc: string;
}

/** The constants the agent reads, in the order the generated part declares them. */
export const AGENT_CONSTANTS: readonly AgentConstant[] = [
  { name: 'PLAN_SCHEMA_VERSION', value: AGENT_PLAN_SCHEMA_VERSION, doc: 'The version of the plan this agent reads (AGENT_PLAN_SCHEMA_VERSION).' },
  { name: 'PLAN_FILE', value: AGENT_PLAN_FILE, doc: 'The plan in the sidecar, unless BACKUP_PLAN names another file (AGENT_PLAN_FILE).' },
  { name: 'SOURCE_ROOT', value: SOURCE_ROOT, doc: 'Where each protected volume is mounted in the sidecar (SOURCE_ROOT).' },
];

/** The name under which the generated part is counted among the parts (it is no file). */
export const AGENT_CONSTANTS_PART = '01-constants.sh';

/**
 * The generated part: each constant as a `readonly` global, a number as it is, a string
 * single-quoted (a path could hold any character but `'`, which none of them does).
 */
export function agentConstantsPart(): string {
  const lines = [
    '#######################################',
    '# Constants from TypeScript (generated when the parts are joined: src/agent/agent-constants.ts)',
    '#######################################',
  ];
  for (const c of AGENT_CONSTANTS) {
    const text = String(c.value);
    if (!/^[A-Z][A-Z0-9_]*$/.test(c.name) || text.includes("'") || text.includes('\n')) {
      throw new Error(`agent constant ${c.name}: not a shell name, or a value that cannot be single-quoted`);
    }
    lines.push('', `# ${c.doc}`, `readonly ${c.name}=${typeof c.value === 'number' ? text : `'${text}'`}`);
  }
  return `${lines.join('\n')}\n`;
}
