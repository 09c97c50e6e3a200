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
  // Was history forged? (a disk target)
  audit: 'docker run --rm --volumes-from db-backup --env-file db-backup.env --network db-host-backup-egress --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent audit --target "$TARGET"',
  // Single file: look at an old version (inside the sidecar), or put it back (one-off container)
  listInSidecar: 'docker exec db-backup /bin/sh /backup/install/bin/backup-agent snapshots --target "$TARGET"',
  restoreFileInSidecar:
    'docker exec db-backup /bin/sh /backup/install/bin/backup-agent restore --target "$TARGET" --snapshot "$SNAPSHOT" --to /backup/agent/restore -- --include /backup/sources/pgdata/postgresql.conf',
  copyOut: 'docker cp db-backup:/backup/agent/restore/backup/sources/pgdata/postgresql.conf ./postgresql.conf',
  cleanSidecar: 'docker exec db-backup rm -rf /backup/agent/restore',
  restoreFileInPlace:
    'docker run --rm --volumes-from db-backup --env-file db-backup.env --network db-host-backup-egress -v pgdata:/restore/backup/sources/pgdata --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent restore --target "$TARGET" --snapshot "$SNAPSHOT" --to /restore -- --include /backup/sources/pgdata/postgresql.conf',
} as const;

/** The "Swarm service" section's commands (run on a manager), in the order it gives them. */
export const RUNBOOK_SWARM = {
  stop: [
    'SERVICE=db NODE=db-1 VOLUME=pgdata TARGET=local',
    'docker service scale "$SERVICE=0"',
    'docker service update --detach --constraint-add "node.hostname!=$NODE" "$SERVICE-backup"',
  ],
  image: `IMAGE=$(docker service inspect "$SERVICE-backup" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')`,
  fromBackup:
    `FROM_BACKUP=$(docker service inspect "$SERVICE-backup" --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}} --secret source={{.SecretName}},target={{.File.Name}},mode=0400{{end}}{{range .Spec.TaskTemplate.ContainerSpec.Configs}} --config source={{.ConfigName}},target={{.File.Name}},mode=0555{{end}}{{range .Spec.TaskTemplate.ContainerSpec.Mounts}}{{if eq .Type "bind"}} --mount type=bind,src={{.Source}},dst={{.Target}}{{end}}{{end}}{{range .Spec.TaskTemplate.Networks}} --network {{.Target}}{{end}}')`,
  listJob:
    `docker service create --quiet --name "$SERVICE-restore" --mode replicated-job --restart-condition none --constraint "node.hostname==$NODE" --hostname '{{.Node.Hostname}}' --env BACKUP_PLAN=/backup/install/agent.json $FROM_BACKUP --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent snapshots --target "$TARGET" -- --host "$NODE"`,
  logs: 'docker service logs --raw "$SERVICE-restore"',
  removeJob: 'docker service rm "$SERVICE-restore"',
  restoreJob:
    `docker service create --quiet --name "$SERVICE-restore" --mode replicated-job --restart-condition none --constraint "node.hostname==$NODE" --hostname '{{.Node.Hostname}}' --env BACKUP_PLAN=/backup/install/agent.json $FROM_BACKUP --mount "type=volume,src=$VOLUME,dst=/restore/backup/sources/$VOLUME" --entrypoint /bin/sh "$IMAGE" -c 'find "/restore/backup/sources/$0" -mindepth 1 -maxdepth 1 -exec rm -rf {} + && /bin/sh /backup/install/bin/backup-agent restore --target "$1" --snapshot "$2" --to /restore -- --include "/backup/sources/$0" --verify' "$VOLUME" "$TARGET" "$SNAPSHOT"`,
  start: [
    'docker service update --detach --constraint-rm "node.hostname!=$NODE" "$SERVICE-backup"',
    'docker service scale "$SERVICE=1"',
  ],
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
  /**
   * Runs one line (which must be in the runbook unless it is a plain assignment); throws on a
   * non-zero exit, or when it runs longer than `timeoutMs` (default 5 minutes: a runbook line
   * that waits forever, such as a swarm job no node can take, fails the test instead of
   * hanging it).
   */
  run(line: string, options?: { allowFail?: boolean; timeoutMs?: number }): ShellResult;
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
  /** The swarm node the "Swarm service" section restores on. @default 'db-1' */
  readonly node?: string;
}

/** A runbook command for another container and volume than the runbook's `db` and `pgdata`. */
export function forNames(command: string, names: RunbookNames = {}): string {
  const c = names.container ?? 'db';
  const v = names.volume ?? 'pgdata';
  return command
    .replace(/\bdb-backup\b/g, `${c}-backup`)
    .replace(/^docker (stop|start) db /, `docker $1 ${c} `)
    .replace(/\bpgdata\b/g, v)
    .replace(/\bdb-host-backup-egress\b/g, `${names.stack ?? 'db-host'}-backup-egress`)
    .replace(/\bNODE=db-1\b/g, `NODE=${names.node ?? 'db-1'}`);
}

/** A shell whose `docker` talks to the engine at `dockerHost`. */
export function runbookShell(target: { engine: { dockerHost: string } }, names: RunbookNames = {}): RunbookShell {
  const commands = [...Object.values(RUNBOOK), ...Object.values(RUNBOOK_SWARM).flat()];
  const written = new Map(commands.map((command) => [forNames(command, names), command]));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-'));
  const vars: Record<string, string> = {};
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, DOCKER_HOST: target.engine.dockerHost, LC_ALL: 'C' };
  return {
    dir,
    run: (line, options = {}) => {
      // `A=x B=y`: plain assignments (of words), kept for the lines after; one alone (a value
      // the test chose, such as SNAPSHOT=<id>) need not be in the runbook.
      const plain = /^[A-Z_]+=[\w.-]+( [A-Z_]+=[\w.-]+)*$/.test(line) ? line.split(' ').map((a) => a.slice(0, a.indexOf('='))) : undefined;
      const assignment = /^([A-Z_]+)=(.*)$/.exec(line);
      const assigned = plain ?? (assignment ? [assignment[1]] : []);
      if (!(plain?.length === 1) && !inRunbook(written.get(line) ?? line)) {
        throw new Error(`not in docs/restore.md: ${line}`);
      }
      // Each assigned value printed after the line, NUL-separated, to be kept.
      const script = assigned.length > 0 ? `${line}\nprintf '%s\\0' ${assigned.map((n) => `"$${n}"`).join(' ')}` : line;
      const r = spawnSync('sh', ['-c', script], { cwd: dir, env: { ...env, ...vars }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 300000, killSignal: 'SIGKILL' });
      if (r.error) {
        throw new Error(`runbook line did not finish (${r.error.message}): ${line}\n${r.stdout}\n${r.stderr}`);
      }
      if (r.status !== 0 && !options.allowFail) {
        throw new Error(`runbook line failed (${r.status}): ${line}\n${r.stdout}\n${r.stderr}`);
      }
      if (assigned.length > 0 && r.status === 0) {
        const values = r.stdout.split('\0').slice(0, assigned.length);
        assigned.forEach((n, i) => { vars[n] = values[i]; });
        // What was assigned is the line's output: the value, or the values one per line.
        return { status: r.status, stdout: values.join('\n'), stderr: r.stderr };
      }
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
