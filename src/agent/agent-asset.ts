import * as fs from 'fs';
import * as path from 'path';

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
  cached ??= agentParts()
    .map((f) => fs.readFileSync(path.join(AGENT_PARTS_DIR, f), 'utf8'))
    .join('\n');
  return cached;
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
