/**
 * How the agent and its secrets reach a sidecar whose root is read-only.
 *
 * The docker provider copies every `upload` with `CopyToContainer(id, "/", tar)`, and Docker
 * refuses any copy into a container with a read-only root ("container rootfs is marked
 * read-only"), whatever volume the file's path is on: the copy's destination is `/`. So the
 * uploads go to a one-shot install container with a writable root (no network, no
 * capabilities), which moves them onto the install volume with their final modes (script
 * 0555, secrets 0400) and deletes its staged copies; the provider waits for it to exit
 * (`attach`) before it creates the sidecar, which mounts the install volume read-only.
 */
import { AGENT_INSTALL_DIR, AGENT_SECRETS_DIR, terraformEscape } from './agent-asset';
import { LOCAL_REPOSITORY_FOLDER } from '../targets/local-target';

/** Where the install container receives its uploads (its own writable root). */
export const INSTALL_STAGING_DIR = '/backup/staging';

/** The staged path of a file that the sidecar reads at `installedPath` (under AGENT_INSTALL_DIR). */
export function stagedPath(installedPath: string): string {
  if (!installedPath.startsWith(`${AGENT_INSTALL_DIR}/`)) {
    throw new Error(`${installedPath} is not under ${AGENT_INSTALL_DIR}`);
  }
  return `${INSTALL_STAGING_DIR}/${installedPath.slice(AGENT_INSTALL_DIR.length + 1)}`;
}

/**
 * Where the install container mounts each local target's host folder (`<dir>/<target name>`),
 * to keep it root-owned and 0700; the sidecar mounts only its `repository` subfolder.
 */
export const INSTALL_TARGET_FOLDERS_DIR = '/backup/target-folders';

/** A local target the installer prepares: its name and its folder on the host. */
export interface InstalledLocalTarget {
  readonly name: string;
  readonly hostPath: string;
}

/** What the installer does besides installing the agent. */
export interface InstallScriptOptions {
  /** Initialise the remote repositories with the init credentials (`backup-agent init`). */
  readonly initRepositories: boolean;
  /** The local targets whose host folders it prepares (mounted under INSTALL_TARGET_FOLDERS_DIR). */
  readonly localTargets: InstalledLocalTarget[];
}

/** Where the install container receives the init credentials (never moved to the sidecar). */
export const INIT_SECRETS_DIR = `${INSTALL_STAGING_DIR}/init-secrets`;

/**
 * The plan `backup-agent init` runs with: the repositories to initialise, opened with the
 * agent's own credentials, and the init credentials for `restic init` (never moved to the sidecar).
 */
export const INIT_PLAN_FILE = `${INSTALL_STAGING_DIR}/init-plan.json`;

/**
 * The install container's program (POSIX sh, run with `sh -c`). It builds the new tree next to
 * the old one, swaps them, prepares each local target's host folder (PREPARE_LOCAL_TARGET),
 * optionally initialises the remote repositories (`backup-agent init` with INIT_PLAN_FILE: it
 * opens them with the agent's credentials just installed, and runs `restic init` with the init
 * credentials), and removes every staged file whatever happens, so no secret stays in the
 * stopped container's layer. Root without CAP_DAC_OVERRIDE or CAP_FOWNER may still create,
 * rename and chmod in the folders it owns, which is all this needs. Escaped for Terraform (a
 * host path may hold `${`).
 */
export function installScript(options: InstallScriptOptions): string {
  return terraformEscape([
    'set -eu',
    'umask 077',
    `staging=${INSTALL_STAGING_DIR}`,
    `install=${AGENT_INSTALL_DIR}`,
    'trap \'rm -rf "$staging"\' EXIT',
    'new="$install/.new"',
    'rm -rf "$new"',
    'mkdir -p "$new/bin" "$new/secrets"',
    'cp "$staging/bin/backup-agent" "$new/bin/backup-agent"',
    'chmod 0555 "$new/bin/backup-agent"',
    'cp "$staging/agent.json" "$new/agent.json"',
    'chmod 0444 "$new/agent.json"',
    'secrets=0',
    'for f in "$staging"/secrets/*; do',
    '  [ -f "$f" ] || continue',
    '  cp "$f" "$new/secrets/"',
    '  chmod 0400 "$new/secrets/$(basename "$f")"',
    '  secrets=$((secrets + 1))',
    'done',
    // The paths themselves, not "$install/bin": an empty variable would make that /bin
    // (shellcheck SC2115), and `${install:?}` would be Terraform's to interpolate.
    `rm -rf ${AGENT_INSTALL_DIR}/bin ${AGENT_INSTALL_DIR}/secrets`,
    'mv "$new/bin" "$new/secrets" "$install/"',
    'mv -f "$new/agent.json" "$install/agent.json"',
    'rmdir "$new"',
    'echo "backup agent installed: $secrets secret file(s)"',
    ...(options.localTargets.length > 0 ? [...PREPARE_LOCAL_TARGET, ...options.localTargets.map(prepareCall)] : []),
    ...(options.initRepositories ? [`BACKUP_PLAN=${INIT_PLAN_FILE} /bin/sh "$install/bin/backup-agent" init`] : []),
  ].join('\n'));
}

/**
 * `prepare_local_target FOLDER HOST_PATH`: the target's host folder (mounted at FOLDER) owned
 * by root with mode 0700, and the repository in its `repository` subfolder, which is all the
 * sidecar mounts. The sidecar runs as uid 0 without user-namespace remapping: a file it writes
 * in the repository and marks setuid is a setuid-root program on the host, harmless only
 * while no other host user can reach it, which the 0700 folder above it ensures (the sidecar
 * cannot chmod a folder it does not see). A repository that earlier versions wrote directly in
 * the folder is moved into `repository` (restartable: a move cut short goes on at the next
 * install). A folder owned by another user is refused: without CAP_FOWNER root may not chmod
 * it, and its owner could open it again.
 */
const PREPARE_LOCAL_TARGET = [
  'prepare_local_target() {',
  '  owner=$(stat -c %u "$1")',
  '  if [ "$owner" != 0 ]; then',
  `    echo "install: the local target folder $2 is owned by uid $owner, not root, so its owner could open what the sidecar writes there; fix: chown root:root $2 (the library keeps it 0700)" >&2`,
  '    return 1',
  '  fi',
  '  chmod 0700 "$1"',
  `  repo="$1/${LOCAL_REPOSITORY_FOLDER}"`,
  '  if [ ! -e "$repo" ] && { [ -f "$1/config" ] || [ -d "$1/.moving" ]; }; then',
  '    mkdir -p "$1/.moving"',
  '    for entry in config data index keys locks snapshots; do',
  '      if [ -e "$1/$entry" ]; then mv "$1/$entry" "$1/.moving/"; fi',
  '    done',
  '    mv "$1/.moving" "$repo"',
  `    echo "install: moved the repository found in $2 into $2/${LOCAL_REPOSITORY_FOLDER}"`,
  '  fi',
  '  mkdir -p "$repo"',
  '}',
];

function prepareCall(target: InstalledLocalTarget): string {
  return `prepare_local_target ${INSTALL_TARGET_FOLDERS_DIR}/${target.name} ${shellWord(target.hostPath)}`;
}

/** `word` as one POSIX shell word (single-quoted). */
function shellWord(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/**
 * The program of a swarm service's one-shot initializer (POSIX sh, run with `sh -c`): a plain
 * container on the manager that runs `backup-agent init` with the init plan, the password, the
 * targets' own secrets (which open the repositories) and the init credentials, staged as
 * uploads, and removes them whatever happens. (A service's backup tasks get their agent, plan
 * and secrets as swarm configs and secrets; only the initialisation needs a container.)
 */
export function initScript(): string {
  return [
    'set -eu',
    'umask 077',
    `staging=${INSTALL_STAGING_DIR}`,
    // The password and the targets' secrets go where the init plan names them, and go again on
    // exit with the rest: the stopped container is kept (its exit code is the deploy's), its
    // files with it.
    `trap 'rm -rf "$staging" ${AGENT_SECRETS_DIR}' EXIT`,
    `mkdir -p ${AGENT_SECRETS_DIR}`,
    `mv ${stagedPath(AGENT_SECRETS_DIR)}/* ${AGENT_SECRETS_DIR}/`,
    `BACKUP_PLAN=${INIT_PLAN_FILE} /bin/sh "$staging/bin/backup-agent" init`,
  ].join('\n');
}

/**
 * The lifecycle postcondition of a one-shot container (installer, initializer): the docker
 * provider records an attach container's exit code and does not fail on it, so without this
 * a failed installation or initialisation would be a successful `cdktf deploy`.
 */
export function exitedZero(where: string, containerName: string): { condition: string; errorMessage: string } {
  return {
    condition: '${self.exit_code == 0}',
    errorMessage: `${where}: ${containerName} exited with an error, so the agent is not installed or a repository not initialised. Fix: read \`docker logs ${containerName}\` (credentials, network, bucket), fix the cause and apply again; when it says the init credentials expired (an initializer key works for a limited time after it is made, docs/security.md), renew them with the command it names first.`,
  };
}
