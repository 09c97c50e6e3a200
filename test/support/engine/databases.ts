/**
 * What the real-engine tests do with a running database container, through `docker exec` only
 * (as an operator, or the sidecar's exec quiesce, would): wait until it is ready, run SQL,
 * seed a few tables with deterministic rows, count the rows per table, load a dump.
 *
 * Works on the stand-ins of database-images.ts and, unchanged, on the official `postgres:16`
 * and `mariadb:11.4` images: only `psql`, `pg_isready`, `mariadb`, `mariadb-admin` are used,
 * never `mysql`/`mysqladmin` (absent from the official 11.x images).
 */
import { docker, dockerOk, RunningEngine } from './docker-engine';

/** The database engines the helpers know. */
export type DatabaseKind = 'postgres' | 'mariadb';

/** How to reach one database container. */
export interface DatabaseContainer {
  readonly kind: DatabaseKind;
  /** Container name or id. */
  readonly container: string;
  /** MariaDB's root password (MARIADB_ROOT_PASSWORD): root cannot log in without it there. */
  readonly rootPassword?: string;
  /** @default 'postgres' for postgres; none for mariadb */
  readonly database?: string;
}

/** Rows per table, by table name. */
export type RowCounts = Record<string, number>;

/**
 * Waits until the server the entrypoint finally started answers over TCP: the temporary server
 * of a first start listens on the socket only (postgres: listen_addresses=''; mariadb:
 * skip-networking), so a socket check could pass just before it is stopped again.
 */
export async function waitForDatabase(engine: RunningEngine, db: DatabaseContainer, timeoutMs = 90000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe =
    db.kind === 'postgres'
      ? ['exec', db.container, 'pg_isready', '-q', '-h', '127.0.0.1', '-U', 'postgres']
      : ['exec', '-e', `MYSQL_PWD=${db.rootPassword ?? ''}`, db.container, 'mariadb-admin', '--protocol=tcp', '-h', '127.0.0.1', '-uroot', 'ping'];
  let last = '';
  while (Date.now() < deadline) {
    const r = docker(engine, probe);
    if (r.status === 0) {
      return;
    }
    last = `${r.stdout}${r.stderr}`.trim();
    const state = docker(engine, ['inspect', '-f', '{{.State.Running}}', db.container]).stdout.trim();
    if (state === 'false') {
      throw new Error(`${db.container} stopped before it was ready:\n${docker(engine, ['logs', '--tail', '30', db.container]).stderr}`);
    }
    await new Promise((r2) => setTimeout(r2, 500));
  }
  throw new Error(`${db.container} (${db.kind}) not ready within ${timeoutMs / 1000} s: ${last}`);
}

/** Runs SQL (fed on stdin) in the container and returns the rows, tab-separated, one per line. */
export function runSql(engine: RunningEngine, db: DatabaseContainer, sql: string, database = db.database): string {
  return dockerOk(engine, ['exec', '-i', ...clientArgs(db, database)], sql);
}

function clientArgs(db: DatabaseContainer, database: string | undefined): string[] {
  if (db.kind === 'postgres') {
    return [db.container, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', database ?? 'postgres', '-At', '-F', '\t'];
  }
  return ['-e', `MYSQL_PWD=${db.rootPassword ?? ''}`, db.container, 'mariadb', '-uroot', '-N', '-B', ...(database ? [database] : [])];
}

/** The tables `seedTables` makes and their row counts. */
export const SEED_ROWS: RowCounts = { customers: 100, orders: 500, events: 1000 };

/**
 * Creates `customers`, `orders` and `events` in the database (postgres: its public schema)
 * with deterministic rows (`SEED_ROWS`), and returns their counts.
 */
export function seedTables(engine: RunningEngine, db: DatabaseContainer, database = db.database): RowCounts {
  const { customers, orders, events } = SEED_ROWS;
  const sql =
    db.kind === 'postgres'
      ? `
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO customers SELECT n, 'customer-' || n FROM generate_series(1, ${customers}) AS n;
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer REFERENCES customers(id), amount_cents integer NOT NULL);
INSERT INTO orders SELECT n, 1 + (n % ${customers}), n * 37 % 10000 FROM generate_series(1, ${orders}) AS n;
CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, payload text);
INSERT INTO events SELECT n, timestamptz '2025-01-01 00:00:00+00' + n * interval '1 minute', md5(n::text) FROM generate_series(1, ${events}) AS n;
`
      : `
CREATE TABLE customers (id int PRIMARY KEY, name varchar(64) NOT NULL) ENGINE=InnoDB;
INSERT INTO customers SELECT n, CONCAT('customer-', n) FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${customers}) SELECT n FROM s) AS x;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount_cents int NOT NULL, FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
INSERT INTO orders SELECT n, 1 + (n % ${customers}), n * 37 % 10000 FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${orders}) SELECT n FROM s) AS x;
CREATE TABLE events (id bigint PRIMARY KEY, at datetime NOT NULL, payload char(32)) ENGINE=InnoDB;
INSERT INTO events SELECT n, TIMESTAMP '2025-01-01 00:00:00' + INTERVAL n MINUTE, MD5(n) FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${events}) SELECT n FROM s) AS x;
`;
  runSql(engine, db, sql, database);
  return rowCounts(engine, db, database);
}

/** Rows per table of the database's user tables (postgres: schema public; mariadb: the database given). */
export function rowCounts(engine: RunningEngine, db: DatabaseContainer, database = db.database): RowCounts {
  const listSql =
    db.kind === 'postgres'
      ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1;"
      : "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1;";
  const tables = runSql(engine, db, listSql, database).split('\n').filter(Boolean);
  if (tables.length === 0) {
    return {};
  }
  const quote = (t: string) => (db.kind === 'postgres' ? `"${t}"` : `\`${t}\``);
  const countSql = `${tables.map((t) => `SELECT '${t}', COUNT(*) FROM ${quote(t)}`).join(' UNION ALL ')};`;
  const counts: RowCounts = {};
  for (const line of runSql(engine, db, countSql, database).split('\n').filter(Boolean)) {
    const [table, n] = line.split('\t');
    counts[table] = Number(n);
  }
  return counts;
}

/**
 * Loads a dump file that is inside the container (a `pg_dumpall` or `mariadb-dump
 * --all-databases` file) the way its documentation says: `psql -f <dump> postgres` (the dump's
 * `CREATE ROLE postgres` fails harmlessly on a fresh server, so no ON_ERROR_STOP), or
 * `mariadb < <dump>`.
 */
export function loadDump(engine: RunningEngine, db: DatabaseContainer, dumpPath: string): void {
  if (db.kind === 'postgres') {
    dockerOk(engine, ['exec', db.container, 'psql', '-X', '-q', '-U', 'postgres', '-d', 'postgres', '-f', dumpPath]);
  } else {
    dockerOk(engine, ['exec', '-e', `MYSQL_PWD=${db.rootPassword ?? ''}`, db.container, 'sh', '-c', 'exec mariadb -uroot < "$1"', 'sh', dumpPath]);
  }
}

/** Where a restored dump is, for `rowCountsOfDump`. */
export interface RestoredDump {
  readonly kind: DatabaseKind;
  /** The database image (the protected container's own). */
  readonly image: string;
  /** The restored volume that holds the dump; mounted read-only at /restored. */
  readonly volume: string;
  /** The dump's path inside the volume. @default 'dump.sql' */
  readonly file?: string;
  /** The database whose rows are counted. @default as `rowCounts` */
  readonly database?: string;
}

/**
 * The row counts of a restored dump, the way an operator checks one: a fresh server of the
 * same image (no network), the volume mounted read-only, the dump loaded as its documentation
 * says (`loadDump`), the rows counted; the server removed whatever happens.
 */
export async function rowCountsOfDump(engine: RunningEngine, dump: RestoredDump): Promise<RowCounts> {
  const name = `db-verify-${process.pid}-${Date.now()}`;
  const password = 'verify-password';
  const fresh: DatabaseContainer = { kind: dump.kind, container: name, rootPassword: dump.kind === 'mariadb' ? password : undefined };
  const env = dump.kind === 'postgres' ? `POSTGRES_PASSWORD=${password}` : `MARIADB_ROOT_PASSWORD=${password}`;
  dockerOk(engine, ['run', '-d', '--name', name, '--network', 'none', '-e', env, '-v', `${dump.volume}:/restored:ro`, dump.image]);
  try {
    await waitForDatabase(engine, fresh);
    loadDump(engine, fresh, `/restored/${dump.file ?? 'dump.sql'}`);
    return rowCounts(engine, fresh, dump.database);
  } finally {
    docker(engine, ['rm', '-f', '-v', name]);
  }
}
