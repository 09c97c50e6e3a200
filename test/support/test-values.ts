/** Values shared by the agent tests and their helpers. */
import * as path from 'path';

/** The agent script as packaged (what the installer uploads, before Terraform escaping). */
export const AGENT_SOURCE_FILE = path.join(__dirname, '..', '..', 'src', 'agent', 'backup-agent.sh');

/** The repository password the tests supply for `var.restic_password` (TF_VAR_restic_password). */
export const TEST_PASSWORD = 'correct horse battery staple';
