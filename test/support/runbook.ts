/**
 * docs/restore.md's commands, verbatim: one table for every test that walks the runbook (the
 * real-engine e2e tests), so a test fails when the runbook no longer holds a command it runs
 * and the two cannot drift apart. `runbookShell` runs them as an operator would, one line at a
 * time in one shell session (variables kept), with the docker CLI against the tests' engine.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const RUNBOOK_TEXT = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'restore.md'), 'utf8');

export const RUNBOOK = {
  stop: 'docker stop db db-backup',
  start: 'docker start db db-backup',
  image: `IMAGE=$(docker inspect --format '{{.Config.Image}}' db-backup)`,
  envFile: `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' db-backup > db-backup.env`,
  list: 'docker run --rm --volumes-from db-backup --env-file db-backup.env --network db-host-backup-egress --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent snapshots --target "$TARGET"',
  createAside: 'docker volume create pgdata-damaged',
  keepAside: `docker run --rm -v pgdata:/from:ro -v pgdata-damaged:/to --entrypoint /bin/sh "$IMAGE" -c 'cp -a /from/. /to/'`,
  empty: `docker run --rm -v pgdata:/data --entrypoint /bin/sh "$IMAGE" -c 'find /data -mindepth 1 -maxdepth 1 -exec rm -rf {} +'`,
  restore:
    'docker run --rm --volumes-from db-backup --env-file db-backup.env --network db-host-backup-egress -v pgdata:/restore/backup/sources/pgdata --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent restore --target "$TARGET" --snapshot "$SNAPSHOT" --to /restore -- --include /backup/sources/pgdata --verify',
  checkManifest: `docker run --rm --volumes-from db-backup -v pgdata:/restore/backup/sources/pgdata:ro --entrypoint /bin/sh "$IMAGE" -c "cd /restore && grep '  backup/sources/pgdata/' /backup/agent/manifests/$SNAPSHOT.sha256 | sha256sum -c -"`,
  removeEnvFile: 'rm db-backup.env',
  // Single file: look at an old version (inside the sidecar), or put it back (one-off container)
  listInSidecar: 'docker exec db-backup /bin/sh /backup/install/bin/backup-agent snapshots --target "$TARGET"',
  restoreFileInSidecar:
    'docker exec db-backup /bin/sh /backup/install/bin/backup-agent restore --target "$TARGET" --snapshot "$SNAPSHOT" --to /backup/agent/restore -- --include /backup/sources/pgdata/postgresql.conf',
  copyOut: 'docker cp db-backup:/backup/agent/restore/backup/sources/pgdata/postgresql.conf ./postgresql.conf',
  cleanSidecar: 'docker exec db-backup rm -rf /backup/agent/restore',
  restoreFileInPlace:
    'docker run --rm --volumes-from db-backup --env-file db-backup.env --network db-host-backup-egress -v pgdata:/restore/backup/sources/pgdata --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent restore --target "$TARGET" --snapshot "$SNAPSHOT" --to /restore -- --include /backup/sources/pgdata/postgresql.conf',
} as const;

/**
 * Runbook lines a test cannot run with the docker CLI, checked against the runbook all the
 * same: the test carries them out itself and says how (`cdktf deploy db-host` is THE applier
 * on the tests' engine; the escrow read is modelled, there is no AWS here).
 */
export const RUNBOOK_MODELLED = {
  deploy: 'cdktf deploy db-host',
  readEscrow: '--with-decryption --query Parameter.Value --output text > restic-password',
  hostLostTarget: 'with the surviving target, `TARGET=s3`',
} as const;

/** Whether the runbook holds `command` (as a line of its own, or inside a line). */
export function inRunbook(command: string): boolean {
  return RUNBOOK_TEXT.split('\n').some((l) => l.trim() === command) || RUNBOOK_TEXT.includes(command);
}

/** One command's outcome. */
export interface ShellResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** An operator's shell: runs runbook lines one at a time, keeping `NAME=value` assignments. */
export interface RunbookShell {
  /** Runs one line (which must be in the runbook unless it is a plain assignment); throws on a non-zero exit. */
  run(line: string, options?: { allowFail?: boolean }): ShellResult;
  /** The shell's working folder (where db-backup.env lands). */
  readonly dir: string;
  cleanup(): void;
}

/** The runbook is written for container `db` and volume `pgdata`; another pair is substituted. */
export interface RunbookNames {
  /** @default 'db' */
  readonly container?: string;
  /** @default 'pgdata' */
  readonly volume?: string;
  /** The Docker-host stack (its egress network is `<stack>-backup-egress`). @default 'db-host' */
  readonly stack?: string;
}

/** A runbook command for another container and volume than the runbook's `db` and `pgdata`. */
export function forNames(command: string, names: RunbookNames = {}): string {
  const c = names.container ?? 'db';
  const v = names.volume ?? 'pgdata';
  return command
    .replace(/\bdb-backup\b/g, `${c}-backup`)
    .replace(/^docker (stop|start) db /, `docker $1 ${c} `)
    .replace(/\bpgdata\b/g, v)
    .replace(/\bdb-host-backup-egress\b/g, `${names.stack ?? 'db-host'}-backup-egress`);
}

/** A shell whose `docker` talks to the engine at `dockerHost`. */
export function runbookShell(target: { engine: { dockerHost: string } }, names: RunbookNames = {}): RunbookShell {
  const written = new Map(Object.values(RUNBOOK).map((command) => [forNames(command, names), command]));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-'));
  const vars: Record<string, string> = {};
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, DOCKER_HOST: target.engine.dockerHost, LC_ALL: 'C' };
  return {
    dir,
    run: (line, options = {}) => {
      const assignment = /^([A-Z_]+)=(.*)$/.exec(line);
      if (!(assignment && /^[\w.-]+$/.test(assignment[2])) && !inRunbook(written.get(line) ?? line)) {
        throw new Error(`not in docs/restore.md: ${line}`);
      }
      const script = assignment ? `${line}\nprintf '%s' "$${assignment[1]}"` : line;
      const r = spawnSync('sh', ['-c', script], { cwd: dir, env: { ...env, ...vars }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0 && !options.allowFail) {
        throw new Error(`runbook line failed (${r.status}): ${line}\n${r.stdout}\n${r.stderr}`);
      }
      if (assignment && r.status === 0) {
        vars[assignment[1]] = r.stdout;
      }
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
