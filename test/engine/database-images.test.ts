/**
 * The database and application stand-ins (test/support/engine/database-images.ts) on the real
 * engine, checked for what the backup tests rely on:
 *
 * - ccb-stand-in/postgres:16 stands in for postgres:16 (Debian's PostgreSQL 15 inside);
 * - ccb-stand-in/mariadb:11.4 stands in for mariadb:11.4 (Debian's MariaDB 10.11 inside);
 * - ccb-stand-in/wordpress:6.7-apache stands in for wordpress:6.7-apache (NOT WordPress: a
 *   PHP-shaped tree served by busybox httpd).
 *
 * Each test starts its containers on fresh named volumes and removes them (and the volumes)
 * at the end, whatever happens.
 */
import { randomBytes } from 'crypto';
import { DATABASE_STAND_INS, ensureDatabaseImage, MYSQL_UID, POSTGRES_UID, WWW_DATA_UID } from '../support/engine/database-images';
import { DatabaseContainer, loadDump, rowCounts, SEED_ROWS, seedTables, waitForDatabase } from '../support/engine/databases';
import { currentEngine, docker, dockerOk } from '../support/engine/docker-engine';

const engine = () => currentEngine();
const suffix = randomBytes(4).toString('hex');

/** Containers and volumes a test made, removed in afterEach. */
const made: { containers: string[]; volumes: string[] } = { containers: [], volumes: [] };

afterEach(() => {
  if (made.containers.length > 0) {
    docker(engine(), ['rm', '-f', '-v', ...made.containers]);
  }
  if (made.volumes.length > 0) {
    docker(engine(), ['volume', 'rm', '-f', ...made.volumes]);
  }
  made.containers = [];
  made.volumes = [];
});

/** `docker run -d` on a fresh named volume; returns the container's name. */
function run(name: string, image: string, volume: { name: string; path: string }, env: Record<string, string>, extra: string[] = []): string {
  const container = `${name}-${suffix}`;
  const vol = `${volume.name}-${suffix}`;
  made.containers.push(container);
  made.volumes.push(vol);
  dockerOk(engine(), ['volume', 'create', vol]);
  dockerOk(engine(), [
    'run', '-d', '--name', container,
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    '-v', `${vol}:${volume.path}`,
    ...extra,
    image,
  ]);
  return container;
}

/** `docker run` arguments that mount the volume `run` made as `volume` read-only at /restore. */
function restoreMount(volume: string): string[] {
  return ['--mount', `type=volume,source=${volume}-${suffix},target=/restore,readonly`];
}

/** A fresh server starts empty, takes the dump at `dumpFile`, and then holds the seeded tables with the same row counts. */
async function expectDumpRestores(db: DatabaseContainer, dumpFile: string): Promise<void> {
  await waitForDatabase(engine(), db);
  expect(rowCounts(engine(), db)).toEqual({});
  loadDump(engine(), db, dumpFile);
  expect(rowCounts(engine(), db)).toEqual(SEED_ROWS);
}

/** `stat -c '%u:%g %a'` of a path inside a container. */
function ownerAndMode(container: string, p: string): string {
  return dockerOk(engine(), ['exec', container, 'stat', '-c', '%u:%g %a', p]).trim();
}

describe('postgres stand-in (for postgres:16)', () => {
  test('starts on an empty volume; a pg_dumpall through docker exec loads into a fresh one with the same row counts', async () => {
    // GIVEN the stand-in started as the example starts postgres:16: POSTGRES_PASSWORD, a named volume on PGDATA
    const image = await ensureDatabaseImage('postgres');
    const config = dockerOk(engine(), ['image', 'inspect', '-f', '{{json .Config}}', image]);
    expect(JSON.parse(config)).toMatchObject({
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['postgres'],
      StopSignal: 'SIGINT',
      Volumes: { '/var/lib/postgresql/data': {} },
    });
    const dataPath = '/var/lib/postgresql/data';
    const first = run('pg-a', image, { name: 'pgdata-a', path: dataPath }, { POSTGRES_PASSWORD: 'first-secret' });
    const db: DatabaseContainer = { kind: 'postgres', container: first };
    await waitForDatabase(engine(), db);

    // THEN PGDATA is 0700 and owned by postgres (999:999), the server runs as 999 and listens on all addresses
    expect(ownerAndMode(first, dataPath)).toBe(`${POSTGRES_UID}:${POSTGRES_UID} 700`);
    expect(dockerOk(engine(), ['exec', first, 'stat', '-c', '%u', '/proc/1']).trim()).toBe(String(POSTGRES_UID));
    expect(dockerOk(engine(), ['exec', first, 'cat', `${dataPath}/pg_hba.conf`])).toMatch(/^host all all all scram-sha-256$/m);

    // WHEN tables are created through exec, and the example's quiesce command runs through exec (as root)
    expect(seedTables(engine(), db)).toEqual(SEED_ROWS);
    dockerOk(engine(), ['exec', first, 'pg_dumpall', '-U', 'postgres', '-f', `${dataPath}/dump.sql`]);

    // THEN the dump is on the volume, written by root, and holds the tables
    expect(ownerAndMode(first, `${dataPath}/dump.sql`)).toBe('0:0 644');
    expect(dockerOk(engine(), ['exec', first, 'grep', '-c', '^CREATE TABLE public', `${dataPath}/dump.sql`]).trim()).toBe('3');

    // AND a password is required over the network, as the official image's pg_hba.conf says
    const ip = dockerOk(engine(), ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', first]).trim();
    const noPassword = docker(engine(), ['exec', first, 'psql', '-h', ip, '-U', 'postgres', '-w', '-c', 'SELECT 1']);
    expect(noPassword.status).not.toBe(0);
    expect(noPassword.stderr).toMatch(/password/);

    // WHEN the dump is loaded into a second, fresh postgres (the first one's volume mounted read-only)
    // THEN it has the same tables with the same row counts
    const second = run('pg-b', image, { name: 'pgdata-b', path: dataPath }, { POSTGRES_PASSWORD: 'second-secret' }, restoreMount('pgdata-a'));
    await expectDumpRestores({ kind: 'postgres', container: second }, '/restore/dump.sql');
  });

  test('refuses a first start without POSTGRES_PASSWORD, as the official entrypoint does', async () => {
    const image = await ensureDatabaseImage('postgres');
    const c = run('pg-nopw', image, { name: 'pgdata-nopw', path: '/var/lib/postgresql/data' }, {});
    dockerOk(engine(), ['wait', c]);
    expect(docker(engine(), ['logs', c]).stderr).toMatch(/superuser password is not specified/);
  });
});

describe('mariadb stand-in (for mariadb:11.4)', () => {
  const rootPassword = 'root-secret';
  const env = { MARIADB_ROOT_PASSWORD: rootPassword, MARIADB_DATABASE: 'wordpress', MARIADB_USER: 'wordpress', MARIADB_PASSWORD: 'wp-secret' };

  test('starts on an empty volume; a mariadb-dump through docker exec loads into a fresh one with the same row counts', async () => {
    // GIVEN the stand-in started with the official image's variables on a named volume
    const image = await ensureDatabaseImage('mariadb');
    expect(JSON.parse(dockerOk(engine(), ['image', 'inspect', '-f', '{{json .Config}}', image]))).toMatchObject({
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['mariadbd'],
      Volumes: { '/var/lib/mysql': {} },
    });
    const first = run('maria-a', image, { name: 'mysql-a', path: '/var/lib/mysql' }, env);
    const db: DatabaseContainer = { kind: 'mariadb', container: first, rootPassword, database: 'wordpress' };
    await waitForDatabase(engine(), db);

    // THEN the datadir belongs to mysql (999), the server runs as 999, the socket is where the example expects it
    expect(ownerAndMode(first, '/var/lib/mysql')).toMatch(new RegExp(`^${MYSQL_UID}:${MYSQL_UID} `));
    expect(ownerAndMode(first, '/var/lib/mysql/mysql')).toBe(`${MYSQL_UID}:${MYSQL_UID} 700`);
    expect(dockerOk(engine(), ['exec', first, 'stat', '-c', '%u', '/proc/1']).trim()).toBe(String(MYSQL_UID));
    expect(dockerOk(engine(), ['exec', first, 'stat', '-c', '%F', '/run/mysqld/mysqld.sock']).trim()).toBe('socket');

    // AND as in the official 11.x images: only the mariadb-* client names, and root needs its password
    expect(docker(engine(), ['exec', first, 'sh', '-c', 'command -v mysqldump || command -v mysql || command -v mysqladmin']).status).not.toBe(0);
    const rootNoPassword = docker(engine(), ['exec', first, 'mariadb', '-uroot', '-e', 'SELECT 1']);
    expect(rootNoPassword.stderr).toMatch(/Access denied for user 'root'@'localhost'/);
    expect(dockerOk(engine(), ['exec', first, 'healthcheck.sh', '--connect', '--innodb_initialized'])).toBe('');
    // the application user of MARIADB_USER/MARIADB_PASSWORD reaches its database over TCP
    expect(dockerOk(engine(), ['exec', '-e', 'MYSQL_PWD=wp-secret', first, 'mariadb', '-h127.0.0.1', '-uwordpress', '-NBe', 'SELECT DATABASE()', 'wordpress']).trim()).toBe('wordpress');

    // WHEN tables are made through exec and the dump runs through exec as a quiesce would
    expect(seedTables(engine(), db)).toEqual(SEED_ROWS);
    dockerOk(engine(), [
      'exec', first, 'sh', '-c',
      'umask 077 && MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb-dump --user=root --all-databases --single-transaction ' +
        '--routines --events --triggers > /var/lib/mysql/dump.sql.tmp && mv /var/lib/mysql/dump.sql.tmp /var/lib/mysql/dump.sql',
    ]);
    expect(ownerAndMode(first, '/var/lib/mysql/dump.sql')).toBe('0:0 600');

    // WHEN the dump is loaded into a second, fresh mariadb (same root password: the dump carries mysql.user)
    // THEN it has the same tables with the same row counts
    const second = run('maria-b', image, { name: 'mysql-b', path: '/var/lib/mysql' }, env, restoreMount('mysql-a'));
    await expectDumpRestores({ kind: 'mariadb', container: second, rootPassword, database: 'wordpress' }, '/restore/dump.sql');
  });

  test('accepts MYSQL_ROOT_PASSWORD for MARIADB_ROOT_PASSWORD, and refuses a first start with neither', async () => {
    const image = await ensureDatabaseImage('mariadb');
    const c = run('maria-mysqlenv', image, { name: 'mysql-env', path: '/var/lib/mysql' }, { MYSQL_ROOT_PASSWORD: 'legacy' });
    await waitForDatabase(engine(), { kind: 'mariadb', container: c, rootPassword: 'legacy' });
    const none = run('maria-nopw', image, { name: 'mysql-nopw', path: '/var/lib/mysql' }, {});
    dockerOk(engine(), ['wait', none]);
    expect(docker(engine(), ['logs', none]).stderr).toMatch(/password option is not specified/);
  });
});

describe('wordpress stand-in (for wordpress:6.7-apache; not WordPress)', () => {
  test('fills an empty volume with files owned by www-data (33), serves HTTP on 80, and stops at once', async () => {
    const image = await ensureDatabaseImage('wordpress');
    expect(JSON.parse(dockerOk(engine(), ['image', 'inspect', '-f', '{{json .Config}}', image]))).toMatchObject({
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['apache2-foreground'],
      StopSignal: 'SIGWINCH',
      WorkingDir: '/var/www/html',
      Volumes: { '/var/www/html': {} },
    });
    const c = run('wp', image, { name: 'wp-files', path: '/var/www/html' }, { WORDPRESS_DB_HOST: 'wordpress-db', WORDPRESS_DB_NAME: 'wordpress' });

    // THEN (once the entrypoint has copied the tree) every file on the volume belongs to www-data
    const deadline = Date.now() + 30000;
    while (docker(engine(), ['exec', c, 'wget', '-q', '-O', '-', 'http://127.0.0.1/wp-includes/version.php']).status !== 0) {
      if (Date.now() > deadline) {
        throw new Error(`the wordpress stand-in did not serve in time:\n${docker(engine(), ['logs', c]).stderr}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    const owners = dockerOk(engine(), ['exec', c, 'sh', '-c', "find /var/www/html -exec stat -c '%u:%g' {} + | sort -u"]).trim();
    expect(owners).toBe(`${WWW_DATA_UID}:${WWW_DATA_UID}`);
    const files = dockerOk(engine(), ['exec', c, 'find', '/var/www/html', '-type', 'f']).split('\n').filter(Boolean).sort();
    expect(files).toEqual(expect.arrayContaining([
      '/var/www/html/index.php',
      '/var/www/html/wp-config.php', // written from WORDPRESS_* variables
      '/var/www/html/wp-includes/version.php',
      '/var/www/html/wp-content/uploads/2025/01/hello.txt',
    ]));
    expect(dockerOk(engine(), ['exec', c, 'grep', '-c', "getenv_docker('WORDPRESS_DB_HOST'", '/var/www/html/wp-config.php']).trim()).toBe('1');

    // AND docker stop (SIGWINCH) ends it well before Docker's 10 s kill
    const t0 = Date.now();
    dockerOk(engine(), ['stop', c]);
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  test('keeps what a volume already holds (a restored volume is not overwritten)', async () => {
    const image = await ensureDatabaseImage('wordpress');
    // a volume filled as a restore would fill it (another container, the entrypoint bypassed)
    const vol = `wp-keep-${suffix}`;
    const filler = `wp-fill-${suffix}`;
    made.volumes.push(vol);
    made.containers.push(filler);
    dockerOk(engine(), ['volume', 'create', vol]);
    dockerOk(engine(), ['run', '--name', filler, '-v', `${vol}:/var/www/html`, '--entrypoint', 'sh', image, '-c',
      "echo '<?php // restored' > index.php && mkdir -p wp-includes && echo restored > wp-includes/version.php && chown -R 33:33 ."]);
    const again = `wp-again-${suffix}`;
    made.containers.push(again);
    dockerOk(engine(), ['run', '-d', '--name', again, '-v', `${vol}:/var/www/html`, image]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(dockerOk(engine(), ['exec', again, 'cat', '/var/www/html/wp-includes/version.php']).trim()).toBe('restored');
    expect(docker(engine(), ['logs', again]).stderr).not.toMatch(/copying now/);
  });
});

test('STAND_INS says, for each, what it stands in for and what differs', () => {
  for (const s of Object.values(DATABASE_STAND_INS)) {
    expect(s.standsInFor).toBeTruthy();
    expect(s.differs.length).toBeGreaterThan(0);
  }
  expect(DATABASE_STAND_INS.wordpress.differs.join(' ')).toMatch(/NOT WordPress/);
});
