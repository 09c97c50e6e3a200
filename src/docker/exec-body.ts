/**
 * The exact request bodies of the exec quiesce, decided at synth time. The agent sends these
 * bytes unchanged (BACKUP_QUIESCE_EXEC_BODY, BACKUP_QUIESCE_EXEC_START_BODY) and the Docker
 * API proxy refuses any other body on those endpoints (it compares their SHA-256), so a
 * compromised sidecar cannot ask for `"Privileged": true`, another `User`, a TTY or stdin.
 * No cdktf import: plain functions of the command.
 */

/**
 * The body of `POST /containers/NAME/exec`: the command, its output attached, nothing else.
 * No `Privileged`, no `User` (the container's own user), no `Env`, no `WorkingDir`.
 */
export function execCreateBody(command: string[]): string {
  return JSON.stringify({ Cmd: command, AttachStdout: true, AttachStderr: true });
}

/** The body of `POST /exec/ID/start`: attached (the stream ends when the command does), no TTY. */
export const EXEC_START_BODY = '{"Detach":false,"Tty":false}';
