/**
 * examples/wordpress (stack wordpress-host) deployed on a real Docker Engine, as
 * deployed-postgres.test.ts does for the default example: MariaDB dumped through the Docker
 * API proxy (`mariadb-dump`) and the WordPress files volume backed up as it is, each by its
 * own sidecar, to the local disk and to S3. Stand-ins: mariadb:11.4 -> Debian's MariaDB 10.11;
 * wordpress:6.7-apache -> busybox httpd serving a WordPress-shaped tree owned by www-data
 * (not WordPress: what matters here is a volume of files owned by uid 33); restic, HAProxy and
 * S3 as in the default example's test.
 *
 * Restores use docs/restore.md's "Volume corrupted" commands with the container and volume
 * names of this example in place of `db` and `pgdata` (runbook.ts `forNames`).
 */
import { wordpressExample } from '../../examples/wordpress/main';
import { ensureDatabaseImage } from '../support/engine/database-images';
import { DatabaseContainer, rowCountsOfDump, seedTables, waitForDatabase } from '../support/engine/databases';
import { deployAroundTheFile, DeployedHost, EXAMPLE_REGIONS, standInImages } from '../support/engine/deployed-host';
import { forNames, RUNBOOK, runbookShell } from '../support/runbook';

const ROOT_PASSWORD = 'mariadb-root-password-for-the-test';
const DB: DatabaseContainer = { kind: 'mariadb', container: 'wordpress-db', rootPassword: ROOT_PASSWORD, database: 'wordpress' };

let host: DeployedHost;

deployAroundTheFile(async () => ({
  build: (app) => ({ ...wordpressExample(app) }),
  hostStack: 'wordpress-host',
  storageStack: 'wordpress-storage',
  storage: {
    bucket: 'wordpress-vault-test',
    replicaBucket: 'wordpress-vault-replica-test',
    accessKeyId: 'AKIATESTWORDPRESS001',
    secretAccessKey: 'test-secret-access-key-of-the-wordpress-agents',
    password: 'the wordpress repository password, as escrowed',
  },
  variables: { mariadb_root_password: ROOT_PASSWORD, wordpress_db_password: 'wordpress-user-password' },
  images: await standInImages({
    'mariadb:11.4': () => ensureDatabaseImage('mariadb'),
    'wordpress:6.7-apache': () => ensureDatabaseImage('wordpress'),
  }),
  s3: EXAMPLE_REGIONS,
}), async (deployed) => {
  host = deployed;
  await waitForDatabase(host.engine, DB);
});

/** status.json of the sidecar of protected container `name`. */
function status(name: string): any {
  return host.sidecar(name).status();
}

function fileTree(volume: string): string {
  // Path, owner, mode and sha256 of every file: what "byte-identical, owners included" means here.
  return host.docker([
    'run', '--rm', '--network', 'none', '-v', `${volume}:/v:ro`, '--entrypoint', '/bin/sh', host.inspect('wordpress-backup').Config.Image, '-c',
    'cd /v && find . -type f | sort | while read -r f; do printf "%s %s " "$f" "$(stat -c "%u:%g %a" "$f")"; sha256sum < "$f"; done',
  ]).stdout;
}

/** A table dropped: the damage the restore undoes. */
function runSqlDamage(): void {
  host.docker(['exec', '-e', `MYSQL_PWD=${ROOT_PASSWORD}`, 'wordpress-db', 'mariadb', '-uroot', 'wordpress', '-e', 'DROP TABLE events']);
}

describe('the WordPress example on a real Docker Engine', () => {
  let seeded: Record<string, number>;
  let filesBefore: string;

  test('both installers exited 0; MariaDB is dumped through the proxy and both sidecars back up to both targets', () => {
    expect(host.deployment.exitCode('wordpress-db-backup-install')).toBe(0);
    expect(host.deployment.exitCode('wordpress-backup-install')).toBe(0);
    seeded = seedTables(host.engine, DB);
    for (const name of ['wordpress-db', 'wordpress']) {
      const sidecar = host.sidecar(name).container;
      // (the weekly restore drill due: the cycle records the manifest the runbook checks; the
      // repository the installer made replicated offsite meanwhile: the drill checks it too)
      host.sidecar(name).markDue('drill');
      host.replicate(name);
      const run = host.sidecar(name).run(['run'], { allowFail: true });
      expect({ sidecar, status: run.code, stderr: run.stderr.slice(-2000) }).toMatchObject({ sidecar, status: 0 });
      expect(status(name).targets.map((t: any) => [t.name, t.result])).toEqual([['local', 'ok'], ['s3', 'ok']]);
    }
    expect(status('wordpress-db').quiesce).toMatchObject({ mode: 'exec', result: 'ok' });
    expect(host.docker(['exec', 'wordpress-db', 'head', '-c', '300', '/var/lib/mysql/dump.sql']).stdout).toMatch(/MariaDB dump/);
    expect(host.inspect('wordpress-db').State.Running).toBe(true);
    expect(host.inspect('wordpress').State.Running).toBe(true);
    filesBefore = fileTree('wordpress-files');
    expect(filesBefore).toMatch(/\.\/wp-config\.php 33:33 /);
  });

  test("Docker's own healthcheck turns both sidecars healthy", async () => {
    await host.waitForHealth('wordpress-db-backup', 'healthy', 180000);
    await host.waitForHealth('wordpress-backup', 'healthy', 180000);
  }, 400000);

  test('the files volume, damaged, comes back byte-identical with its owners through the runbook', () => {
    const snapshot: string = status('wordpress').targets.find((t: any) => t.name === 's3').snapshot_id;
    host.docker(['exec', 'wordpress', 'sh', '-c', 'rm -rf /var/www/html/wp-content && echo defaced > /var/www/html/index.php']);
    expect(fileTree('wordpress-files')).not.toEqual(filesBefore);
    const names = { container: 'wordpress', volume: 'wordpress-files', stack: 'wordpress-host' };
    const shell = runbookShell(host, names);
    for (const step of [RUNBOOK.stop, RUNBOOK.image, RUNBOOK.envFile]) {
      shell.run(forNames(step, names));
    }
    shell.run('TARGET=s3');
    expect(shell.run(forNames(RUNBOOK.list, names)).stdout).toContain(snapshot.slice(0, 8));
    shell.run(`SNAPSHOT=${snapshot.slice(0, 8)}`);
    for (const step of [RUNBOOK.empty, RUNBOOK.restore]) {
      shell.run(forNames(step, names));
    }
    const checked = shell.run(forNames(RUNBOOK.checkManifest, names)).stdout.trim().split('\n');
    expect(checked.filter((l) => !/: OK$/.test(l))).toEqual([]);
    shell.run(forNames(RUNBOOK.start, names));
    shell.cleanup();
    expect(fileTree('wordpress-files')).toEqual(filesBefore);
  }, 300000);

  test('the database volume, restored from S3 through the runbook, holds the dump, which loads into a fresh MariaDB with the same row counts', async () => {
    const snapshot: string = status('wordpress-db').targets.find((t: any) => t.name === 's3').snapshot_id;
    runSqlDamage();
    const names = { container: 'wordpress-db', volume: 'wordpress-db', stack: 'wordpress-host' };
    const shell = runbookShell(host, names);
    for (const step of [RUNBOOK.stop, RUNBOOK.image, RUNBOOK.envFile]) {
      shell.run(forNames(step, names));
    }
    shell.run('TARGET=s3');
    shell.run(`SNAPSHOT=${snapshot.slice(0, 8)}`);
    for (const step of [RUNBOOK.empty, RUNBOOK.restore, RUNBOOK.start]) {
      shell.run(forNames(step, names));
    }
    shell.cleanup();
    const image = host.inspect('wordpress-db').Config.Image;
    expect(await rowCountsOfDump(host.engine, { kind: 'mariadb', image, volume: 'wordpress-db', database: 'wordpress' })).toEqual(seeded);
  }, 300000);
});
