/** Values shared by the agent tests and their helpers. */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { agentScript } from '../../src/agent/agent-asset';

/**
 * The agent script as packaged (what the installer uploads, before Terraform escaping), joined
 * from its parts into a file named by its content, for the tests that run it directly.
 */
export function agentSourceFile(): string {
  const text = agentScript();
  const file = path.join(os.tmpdir(), `ccb-backup-agent-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.sh`);
  if (!fs.existsSync(file)) {
    const partial = `${file}.${process.pid}`;
    fs.writeFileSync(partial, text, { mode: 0o755 });
    fs.renameSync(partial, file);
  }
  return file;
}

/** The repository password the tests supply for `var.restic_password` (TF_VAR_restic_password). */
export const TEST_PASSWORD = 'correct horse battery staple';
