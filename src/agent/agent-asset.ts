import * as fs from 'fs';
import * as path from 'path';
import { AGENT_CONSTANTS_PART, agentConstantsPart } from './agent-constants';

// The paths live in agent-constants.ts (which the plan and the joined script both import);
// exported here too, where the constructs have always found them.
export { AGENT_INSTALL_DIR, AGENT_SCRIPT_PATH, AGENT_SECRETS_DIR, AGENT_STATE_DIR, SOURCE_ROOT } from './agent-constants';

/**
 * The agent is written as parts, one concern per file (`src/agent/parts/NN-name.sh`), and
 * shipped in the npm package next to the compiled code. They are joined in file-name order
 * into the one script the sidecar runs. The same relative path reaches the folder from
 * `src/agent` (tests, ts-node) and from `lib/agent` (the published package).
 */
export const AGENT_PARTS_DIR = path.join(__dirname, '..', '..', 'src', 'agent', 'parts');

let cached: string | undefined;

/** The agent's parts, in the order they are joined. */
export function agentParts(): string[] {
  return fs.readdirSync(AGENT_PARTS_DIR).filter((f) => f.endsWith('.sh')).sort();
}

/** The agent script: its parts joined, a blank line between two parts. */
export function agentScript(): string {
  cached ??= joinAgentParts(agentParts().map((f) => fs.readFileSync(path.join(AGENT_PARTS_DIR, f), 'utf8')));
  return cached;
}

/**
 * The script from the texts of its parts, in order: the generated part of the constants
 * (agent-constants.ts, `AGENT_CONSTANTS_PART`) right after the first one (the header: shebang,
 * `set -u`, exit codes), then the others, a blank line between two parts.
 */
export function joinAgentParts(texts: string[]): string {
  return [...texts.slice(0, 1), agentConstantsPart(), ...texts.slice(1)].join('\n');
}

/** The parts as the script joins them (name and text), the generated one included. */
export function joinedParts(): Array<{ readonly name: string; readonly text: string }> {
  const files = agentParts().map((name) => ({ name, text: fs.readFileSync(path.join(AGENT_PARTS_DIR, name), 'utf8') }));
  return [...files.slice(0, 1), { name: AGENT_CONSTANTS_PART, text: agentConstantsPart() }, ...files.slice(1)];
}

/**
 * Escapes text so that Terraform reads it literally. Terraform interpolates `${...}` and
 * runs `%{...}` directives in every string of the JSON configuration, file content included;
 * `$${` and `%%{` are its escapes for the literal sequences.
 */
export function terraformEscape(text: string): string {
  // A replacer function, because in a replacement string `$$` itself means one `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/**
 * Escapes a user-supplied string for Terraform but keeps the cdktf tokens in it (encoded as
 * `${TfToken[...]}`), which Terraform must resolve. Use it for literal values such as commands
 * and environment values: a `${HOME}` there is the application's, not Terraform's.
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, () => '$${').replace(/%\{/g, () => '%%{');
}
