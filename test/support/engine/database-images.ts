/**
 * Stand-ins for the official database and application images the examples protect
 * (`postgres:16`, `mariadb:11.4`, `wordpress:6.7-apache`), built from this host's Debian
 * packages because no image can be pulled here (see "Facts about this machine" in
 * /work/shared/DESIGN.md).
 *
 * Each behaves like its official image in every way the backup tests depend on: the user and
 * uid that own the data, the data folder's path, owner and mode (Docker copies the image's
 * folder into an empty named volume, then the entrypoint fixes it), what the first start with
 * an empty data folder does and with which variables, the tools a `docker exec` quiesce runs
 * (`pg_dumpall`, `mariadb-dump`) and how they log in, and the image metadata (ENTRYPOINT, CMD,
 * VOLUME, STOPSIGNAL). The entrypoints are this project's own POSIX sh scripts
 * (test/support/engine/images/), written after the official ones' behaviour. `STAND_INS` says
 * what each stands in for, what was checked in the official sources, and what differs.
 *
 * Build: the root filesystem comes from rootfs.ts (host binaries + `ldd` libraries + files,
 * tar cached between runs) and goes in with `docker load` of a one-layer image archive made
 * here, whose config carries the official image's metadata. Not `docker import --change`:
 * Engine 20.10 refuses STOPSIGNAL there ("stopsignal is not a valid change command"), and
 * postgres's SIGINT (fast shutdown) and wordpress's SIGWINCH are what `docker stop` sends; nor
 * import + `docker build` of the metadata: the classic builder copies the whole root filesystem
 * for every step under vfs (16 s for four steps here). Built at most once per engine, under
 * images.ts's cross-worker lock (`ensureTag`).
 *
 * Helpers for the tests (ready, SQL, seed, row counts) are in databases.ts.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { currentEngine, RunningEngine } from './docker-engine';
import { ensureTag, StandIn } from './images';
import { groupFile, passwdFile, RootfsDir, RootfsFile, RootfsSpec, rootfsTar } from './rootfs';

/** The stand-ins this file builds. */
export type DatabaseImageKind = 'postgres' | 'mariadb' | 'wordpress';

/** Where Debian's PostgreSQL is (the server package's version: 15 in Debian 12). */
const PG_MAJOR = '15';
const PG_BIN = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
const PG_LIB = `/usr/lib/postgresql/${PG_MAJOR}/lib`;
const PG_SHARE = `/usr/share/postgresql/${PG_MAJOR}`;
const SCRIPTS = path.join(__dirname, 'images');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The uid/gid the official images give their service user (and the tests check). */
export const POSTGRES_UID = 999;
export const MYSQL_UID = 999;
export const WWW_DATA_UID = 33;

export const DATABASE_STAND_INS: Record<DatabaseImageKind, StandIn> = {
  postgres: {
    tag: 'ccb-stand-in/postgres:16',
    standsInFor: 'postgres:16 (docker-library/postgres 16/bookworm)',
    officialSource:
      'docker-library/postgres 16/bookworm/Dockerfile and docker-entrypoint.sh: user postgres 999:999 (home ' +
      '/var/lib/postgresql); PGDATA=/var/lib/postgresql/data (1777 in the image, 0700 at start), VOLUME on it; ' +
      "/var/run/postgresql 3777 postgres; postgresql.conf.sample with listen_addresses = '*'; " +
      'ENTRYPOINT ["docker-entrypoint.sh"], CMD ["postgres"], STOPSIGNAL SIGINT, EXPOSE 5432; ' +
      'PATH ends with /usr/lib/postgresql/$PG_MAJOR/bin; the entrypoint runs as root, fixes owners and modes, ' +
      'then re-runs itself through gosu as postgres',
    same: [
      'user postgres uid 999 gid 999; PGDATA /var/lib/postgresql/data, made 0700 and owned by 999 by the entrypoint',
      'first start on an empty PGDATA: refuses without POSTGRES_PASSWORD (unless POSTGRES_HOST_AUTH_METHOD=trust); ' +
        'initdb --username=$POSTGRES_USER (default postgres) with that password; POSTGRES_DB (default $POSTGRES_USER) created; ' +
        '/docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh run; the *_FILE variables read',
      "pg_hba.conf as initdb writes it (local and 127.0.0.1 trust) plus 'host all all all scram-sha-256'; listen_addresses='*'",
      'the socket in /var/run/postgresql: `docker exec <c> pg_dumpall -U postgres -f /var/lib/postgresql/data/dump.sql` ' +
        'runs as root, logs in over the socket without a password, and writes a root-owned file into PGDATA',
      'psql, pg_dump, pg_dumpall, pg_restore, pg_isready, createdb on PATH; bash and /bin/sh (dash) present',
      'ENTRYPOINT ["docker-entrypoint.sh"], CMD ["postgres"], VOLUME /var/lib/postgresql/data, STOPSIGNAL SIGINT, EXPOSE 5432',
    ],
    differs: [
      "PostgreSQL 15 (Debian 12's postgresql-15), not 16: a dump is restored into the same stand-in, so the version never crosses",
      'LANG C.UTF-8 (collation C.UTF-8) instead of en_US.utf8; PG_MAJOR=15',
      'util-linux setpriv drops to postgres instead of gosu (same uid, gid, groups and HOME)',
      "the client tools are PostgreSQL's own binaries on PATH, not Debian's pg_wrapper (perl) links in /usr/bin",
      'only plpgsql, snowball and the encoding conversions of lib/: no contrib extensions, no JIT (llvmjit)',
      'busybox applets instead of coreutils/findutils; no less, no locales package, no nss_wrapper (arbitrary --user not supported)',
    ],
  },
  mariadb: {
    tag: 'ccb-stand-in/mariadb:11.4',
    standsInFor: 'mariadb:11.4 (MariaDB/mariadb-docker 11.4)',
    officialSource:
      'MariaDB/mariadb-docker 11.4/Dockerfile, docker-entrypoint.sh, healthcheck.sh: ubuntu base, user mysql (useradd -r: ' +
      'uid/gid 999); mariadb-server + mariadb-backup + socat with --no-install-recommends (so no mariadb-*-compat: no ' +
      'mysql/mysqldump/mysqladmin/mysqld names in 11.x, see MariaDB/mariadb-docker#519, #545); /var/lib/mysql mysql-owned, ' +
      'VOLUME; /run/mysqld 1777; bind-address, log and user lines of /etc/mysql commented out; ' +
      'ENTRYPOINT ["docker-entrypoint.sh"], CMD ["mariadbd"], EXPOSE 3306, no STOPSIGNAL (SIGTERM)',
    same: [
      'user mysql uid 999 gid 999; datadir /var/lib/mysql owned by 999; socket /run/mysqld/mysqld.sock',
      'first start: refuses without MARIADB_ROOT_PASSWORD / _ALLOW_EMPTY_ROOT_PASSWORD / _RANDOM_ROOT_PASSWORD ' +
        '(MYSQL_* accepted, *_FILE read); root@localhost and root@% with that password, no unix_socket login for root ' +
        '(--auth-root-authentication-method=normal); MARIADB_DATABASE; MARIADB_USER/MARIADB_PASSWORD with all rights on it; ' +
        'healthcheck users and /var/lib/mysql/.my-healthcheck.cnf; time zones loaded; /docker-entrypoint-initdb.d run',
      'client tools named mariadb, mariadb-dump, mariadb-admin only: `mysql` and `mysqldump` are NOT in the image, as in ' +
        'the official 11.x images; the clients still read MYSQL_PWD (the official entrypoint itself logs in that way)',
      'a `docker exec` dump must log in as root with the password (e.g. -uroot -p"$MARIADB_ROOT_PASSWORD" or MYSQL_PWD); ' +
        'only the variables given to the container are set in an exec, not the MYSQL_*/MARIADB_* twins the entrypoint exports',
      'ENTRYPOINT ["docker-entrypoint.sh"], CMD ["mariadbd"], VOLUME /var/lib/mysql, EXPOSE 3306; /bin/sh is dash, bash present',
    ],
    differs: [
      "MariaDB 10.11 (Debian 12's mariadb-server), not 11.4: default collation and a few system tables differ; a dump is " +
        'restored into the same stand-in',
      'healthcheck.sh knows --connect and --innodb_initialized only (the official one has more tests and --su options)',
      'no upgrade path (mariadb-upgrade on an older datadir), no replication or *_PASSWORD_HASH variables, no restore from a ' +
        'mariadb-backup tarball; no mariadb-backup, socat, pwgen, gosu',
      'setpriv instead of gosu; busybox applets instead of coreutils/findutils; no server plugins folder',
    ],
  },
  wordpress: {
    tag: 'ccb-stand-in/wordpress:6.7-apache',
    standsInFor: 'wordpress:6.7-apache (docker-library/wordpress latest/php8.x/apache on php:8.x-apache)',
    officialSource:
      'docker-library/wordpress Dockerfile and docker-entrypoint.sh, docker-library/php apache Dockerfile: www-data uid/gid 33; ' +
      '/var/www/html www-data 1777 (php image), WORKDIR and VOLUME; /usr/src/wordpress owned by www-data; ' +
      '/var/www/html/wp-content/<each child of wp-content>/ and cache pre-made 1777 www-data; the entrypoint copies the tree ' +
      'into a folder without index.php and wp-includes/version.php (tar --owner www-data), writes wp-config.php from ' +
      'wp-config-docker.php when a WORDPRESS_* variable is set; ENTRYPOINT ["docker-entrypoint.sh"], ' +
      'CMD ["apache2-foreground"], STOPSIGNAL SIGWINCH, EXPOSE 80',
    same: [
      'files in /var/www/html owned by www-data (33:33) after the first start on an empty volume; existing files kept',
      'wp-config.php written (owned by 33) when WORDPRESS_* variables are set; plugins/themes already on the volume are kept',
      'serves HTTP on port 80 and keeps running; ENTRYPOINT/CMD/WORKDIR/VOLUME/STOPSIGNAL/EXPOSE as the official image',
    ],
    differs: [
      'NOT WordPress and no PHP: a dozen PHP-shaped files (index.php, wp-config-sample.php, wp-config-docker.php, ' +
        "wp-includes/version.php with $wp_version = '6.7-stand-in', a plugin, a theme) and wp-content/uploads/2025/01/ " +
        'with one small file',
      'busybox httpd instead of Apache (a .php file is served as text); a sh wrapper turns SIGWINCH into a stop',
      'never talks to the database (the official entrypoint does not either; WordPress itself does, on the first request)',
      'busybox applets, GNU tar, dash and bash only',
    ],
  },
};

/** The local tag of a stand-in, built on the engine the first time any worker asks. */
export function ensureDatabaseImage(kind: DatabaseImageKind, engine: RunningEngine = currentEngine()): Promise<string> {
  const { tag } = DATABASE_STAND_INS[kind];
  return ensureTag(tag, () => buildImage(kind, tag, engine), engine);
}

/** The root filesystem and the image config of a kind. */
export function recipeOf(kind: DatabaseImageKind): { spec: RootfsSpec; config: Record<string, unknown> } {
  switch (kind) {
    case 'postgres':
      return postgresRecipe();
    case 'mariadb':
      return mariadbRecipe();
    case 'wordpress':
      return wordpressRecipe();
  }
}

function buildImage(kind: DatabaseImageKind, tag: string, engine: RunningEngine): void {
  const { spec, config } = recipeOf(kind);
  loadImage(engine, tag, rootfsTar(spec), config);
}

/**
 * `docker load`s `layer` (a root filesystem tar) as image `tag` with `config` (the image
 * config's `config` object: Env, Entrypoint, Cmd, Volumes, WorkingDir, StopSignal,
 * ExposedPorts). A `docker save`-format archive made here: manifest.json, the config, one
 * layer. Unlike `docker import --change` it can set StopSignal.
 */
export function loadImage(engine: RunningEngine, tag: string, layer: string, config: Record<string, unknown>): void {
  const work = fs.mkdtempSync(path.join(engine.dir, 'load-'));
  try {
    try {
      fs.linkSync(layer, path.join(work, 'layer.tar'));
    } catch {
      fs.copyFileSync(layer, path.join(work, 'layer.tar'));
    }
    const diffId = `sha256:${sha256File(layer)}`;
    const imageConfig = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: `test/support/engine/database-images.ts: stand-in for ${tag}` }],
    });
    const configName = `${createHash('sha256').update(imageConfig).digest('hex')}.json`;
    fs.writeFileSync(path.join(work, configName), imageConfig);
    fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: ['layer.tar'] }]));
    const r = spawnSync('sh', ['-c', 'tar -C "$1" -cf - manifest.json "$2" layer.tar | docker -H "$3" load -q', 'sh', work, configName, engine.dockerHost], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new Error(`docker load of ${tag} failed (${r.status}): ${r.stderr.trim()}`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) {
        break;
      }
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** An image config (`config` of the image JSON) from an official image's settings. */
function imageConfig(m: {
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  volume?: string;
  workdir?: string;
  stopSignal?: string;
  expose?: number;
}): Record<string, unknown> {
  return {
    Env: Object.entries(m.env).map(([k, v]) => `${k}=${v}`),
    Entrypoint: m.entrypoint,
    Cmd: m.cmd,
    ...(m.volume ? { Volumes: { [m.volume]: {} } } : {}),
    ...(m.workdir ? { WorkingDir: m.workdir } : {}),
    ...(m.stopSignal ? { StopSignal: m.stopSignal } : {}),
    ...(m.expose ? { ExposedPorts: { [`${m.expose}/tcp`]: {} } } : {}),
  };
}

/** The parts every stand-in here shares: dash as /bin/sh, bash, busybox applets, /var/run -> /run. */
function baseSpec(): Required<Pick<RootfsSpec, 'binaries' | 'symlinks'>> & { busybox: true } {
  return {
    busybox: true,
    binaries: ['/bin/dash', '/bin/bash'],
    symlinks: { '/bin/sh': 'dash', '/var/run': '/run', '/etc/localtime': '/usr/share/zoneinfo/Etc/UTC' },
  };
}

function script(name: string): RootfsFile {
  return { content: fs.readFileSync(path.join(SCRIPTS, name)), mode: 0o755 };
}

function postgresRecipe(): { spec: RootfsSpec; config: Record<string, unknown> } {
  const base = baseSpec();
  const tools = ['postgres', 'initdb', 'pg_ctl', 'psql', 'pg_dump', 'pg_dumpall', 'pg_restore', 'pg_isready', 'createdb', 'dropdb', 'createuser', 'dropuser', 'pg_controldata'];
  // Server modules initdb and a plain server load: PL/pgSQL, snowball stemmers, encoding conversions.
  const modules = fs
    .readdirSync(PG_LIB)
    .filter((f) => /^(plpgsql|dict_snowball|libpqwalreceiver|pgoutput)\.so$|_and_.*\.so$/.test(f))
    .map((f) => `${PG_LIB}/${f}`);
  const pg = (d: RootfsDir = {}): RootfsDir => ({ uid: POSTGRES_UID, gid: POSTGRES_UID, ...d });
  const sample = fs
    .readFileSync(`${PG_SHARE}/postgresql.conf.sample`, 'utf8')
    .replace(/^#?(listen_addresses)\s*=\s*\S+.*$/m, "$1 = '*'");
  return {
    spec: {
      busybox: base.busybox,
      binaries: [...base.binaries, '/usr/bin/setpriv', ...tools.map((t) => `${PG_BIN}/${t}`)],
      libraries: modules,
      copies: [PG_SHARE, '/usr/share/zoneinfo', '/usr/lib/locale/C.utf8'],
      dirs: {
        '/var/lib/postgresql': pg({ mode: 0o1777 }),
        '/var/lib/postgresql/data': pg({ mode: 0o1777 }),
        '/run': {},
        '/run/postgresql': pg({ mode: 0o3777 }),
        '/docker-entrypoint-initdb.d': {},
        '/usr/local/bin': {},
      },
      files: {
        '/etc/passwd': passwdFile([`postgres:x:${POSTGRES_UID}:${POSTGRES_UID}::/var/lib/postgresql:/bin/bash`]),
        '/etc/group': groupFile([`postgres:x:${POSTGRES_UID}:`]),
        [`${PG_SHARE}/postgresql.conf.sample`]: sample,
        '/usr/local/bin/docker-entrypoint.sh': script('postgres-entrypoint.sh'),
        '/usr/local/bin/docker-entrypoint-common.sh': script('entrypoint-common.sh'),
      },
      symlinks: base.symlinks,
    },
    config: imageConfig({
      env: { PATH: `${PATH}:${PG_BIN}`, LANG: 'C.UTF-8', PG_MAJOR, PGDATA: '/var/lib/postgresql/data' },
      volume: '/var/lib/postgresql/data',
      entrypoint: ['docker-entrypoint.sh'],
      stopSignal: 'SIGINT',
      expose: 5432,
      cmd: ['postgres'],
    }),
  };
}

/** /etc/mysql from the host's Debian files, changed the way the official Dockerfile changes its own. */
function mysqlConfig(): Record<string, string> {
  const files: Record<string, string> = {};
  const comment = (text: string) => text.replace(/^(bind-address|log|user\s)/gm, '#$1');
  const main = fs
    .readFileSync('/etc/mysql/mariadb.cnf', 'utf8')
    // mariadb.conf.d before conf.d (MariaDB/mariadb-docker#327), so a mounted conf.d file wins
    .replace('!includedir /etc/mysql/conf.d/\n!includedir /etc/mysql/mariadb.conf.d/', '!includedir /etc/mysql/mariadb.conf.d/\n!includedir /etc/mysql/conf.d/');
  files['/etc/mysql/mariadb.cnf'] = comment(main);
  for (const dir of ['conf.d', 'mariadb.conf.d']) {
    for (const f of fs.readdirSync(`/etc/mysql/${dir}`).filter((n) => n.endsWith('.cnf'))) {
      if (f === '50-mysqld_safe.cnf') {
        continue; // the official Dockerfile removes it
      }
      files[`/etc/mysql/${dir}/${f}`] = comment(fs.readFileSync(`/etc/mysql/${dir}/${f}`, 'utf8'));
    }
  }
  files['/etc/mysql/mariadb.conf.d/05-skipcache.cnf'] = '[mariadb]\nhost-cache-size=0\nskip-name-resolve\n';
  return files;
}

function mariadbRecipe(): { spec: RootfsSpec; config: Record<string, unknown> } {
  const base = baseSpec();
  const version = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'mariadb-server'], { encoding: 'utf8' }).stdout.trim();
  const mysql = (d: RootfsDir = {}): RootfsDir => ({ uid: MYSQL_UID, gid: MYSQL_UID, ...d });
  return {
    spec: {
      busybox: base.busybox,
      binaries: [
        ...base.binaries,
        '/usr/bin/setpriv',
        '/usr/sbin/mariadbd',
        '/usr/bin/mariadb',
        '/usr/bin/mariadb-dump',
        '/usr/bin/mariadb-admin',
        '/usr/bin/mariadb-tzinfo-to-sql',
        '/usr/bin/my_print_defaults',
        '/usr/bin/resolveip',
      ],
      // A shell script (mariadb-install-db): copied, not ldd'd.
      copies: ['/usr/bin/mariadb-install-db', '/usr/share/mysql', '/usr/share/zoneinfo'],
      dirs: {
        '/var/lib/mysql': mysql(),
        '/run': {},
        '/run/mysqld': mysql({ mode: 0o1777 }),
        '/docker-entrypoint-initdb.d': {},
        '/usr/local/bin': {},
        '/etc/mysql/conf.d': {},
        '/etc/mysql/mariadb.conf.d': {},
      },
      files: {
        '/etc/passwd': passwdFile([`mysql:x:${MYSQL_UID}:${MYSQL_UID}::/var/lib/mysql:/bin/sh`]),
        '/etc/group': groupFile([`mysql:x:${MYSQL_UID}:`]),
        ...mysqlConfig(),
        '/usr/local/bin/docker-entrypoint.sh': script('mariadb-entrypoint.sh'),
        '/usr/local/bin/docker-entrypoint-common.sh': script('entrypoint-common.sh'),
        '/usr/local/bin/healthcheck.sh': script('mariadb-healthcheck.sh'),
      },
      symlinks: { ...base.symlinks, '/etc/mysql/my.cnf': 'mariadb.cnf' },
    },
    config: imageConfig({
      env: { PATH, LANG: 'C.UTF-8', MARIADB_VERSION: version },
      volume: '/var/lib/mysql',
      entrypoint: ['docker-entrypoint.sh'],
      expose: 3306,
      cmd: ['mariadbd'],
    }),
  };
}

/** The PHP-shaped tree of the wordpress stand-in (NOT WordPress), path under /usr/src/wordpress -> content. */
export const WORDPRESS_TREE: Record<string, string> = {
  'index.php': "<?php\n/** Stand-in front controller (not WordPress). */\ndefine('WP_USE_THEMES', true);\nrequire __DIR__ . '/wp-blog-header.php';\n",
  'wp-blog-header.php': "<?php\nrequire_once __DIR__ . '/wp-load.php';\n",
  'wp-load.php': "<?php\ndefine('ABSPATH', __DIR__ . '/');\nrequire_once ABSPATH . 'wp-config.php';\n",
  'wp-config-sample.php':
    "<?php\ndefine( 'DB_NAME', 'database_name_here' );\ndefine( 'DB_USER', 'username_here' );\n" +
    "define( 'DB_PASSWORD', 'password_here' );\ndefine( 'DB_HOST', 'localhost' );\n" +
    "define( 'AUTH_KEY', 'put your unique phrase here' );\n$table_prefix = 'wp_';\n",
  'wp-config-docker.php':
    "<?php\nfunction getenv_docker($env, $default) { return getenv($env) !== false ? getenv($env) : $default; }\n" +
    "define( 'DB_NAME', getenv_docker('WORDPRESS_DB_NAME', 'wordpress') );\n" +
    "define( 'DB_USER', getenv_docker('WORDPRESS_DB_USER', 'example username') );\n" +
    "define( 'DB_PASSWORD', getenv_docker('WORDPRESS_DB_PASSWORD', 'example password') );\n" +
    "define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql') );\n" +
    ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT']
      .map((k) => `define( '${k}', 'put your unique phrase here' );\n`)
      .join('') +
    "$table_prefix = getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_');\n",
  'wp-includes/version.php': "<?php\n$wp_version = '6.7-stand-in';\n$wp_db_version = 58975;\n",
  'wp-includes/load.php': "<?php\nfunction wp_stand_in() { return 'not WordPress'; }\n",
  'wp-admin/index.php': "<?php\nrequire_once dirname( __DIR__ ) . '/wp-load.php';\n",
  'wp-content/index.php': '<?php\n// Silence is golden.\n',
  'wp-content/plugins/index.php': '<?php\n// Silence is golden.\n',
  'wp-content/plugins/hello-stand-in/hello.php': "<?php\n/* Plugin Name: Hello Stand-in */\n",
  'wp-content/themes/index.php': '<?php\n// Silence is golden.\n',
  'wp-content/themes/stand-in/style.css': '/* Theme Name: Stand-in */\n',
  'wp-content/themes/stand-in/index.php': "<?php\necho 'stand-in theme';\n",
  'wp-content/uploads/2025/01/hello.txt': 'an upload of the wordpress stand-in\n',
  '.htaccess': '# BEGIN WordPress\nRewriteEngine On\nRewriteBase /\nRewriteRule ^index\\.php$ - [L]\n# END WordPress\n',
};

function wordpressRecipe(): { spec: RootfsSpec; config: Record<string, unknown> } {
  const base = baseSpec();
  const www = (mode = 0o755): RootfsDir => ({ uid: WWW_DATA_UID, gid: WWW_DATA_UID, mode });
  const dirs: Record<string, RootfsDir> = {
    '/var/www': {},
    '/var/www/html': www(0o1777),
    '/usr/src/wordpress': www(),
    '/usr/local/bin': {},
  };
  const files: Record<string, RootfsFile | string> = {
    '/etc/passwd': passwdFile([`www-data:x:${WWW_DATA_UID}:${WWW_DATA_UID}:www-data:/var/www:/usr/sbin/nologin`]),
    '/etc/group': groupFile([`www-data:x:${WWW_DATA_UID}:`]),
    '/usr/local/bin/docker-entrypoint.sh': script('wordpress-entrypoint.sh'),
    '/usr/local/bin/apache2-foreground': script('apache2-foreground.sh'),
  };
  for (const [rel, content] of Object.entries(WORDPRESS_TREE)) {
    const parts = rel.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      dirs[`/usr/src/wordpress/${parts.slice(0, i).join('/')}`] = www();
    }
    files[`/usr/src/wordpress/${rel}`] = { content, uid: WWW_DATA_UID, gid: WWW_DATA_UID, mode: 0o644 };
  }
  // As the official Dockerfile: /var/www/html/wp-content/<each child of wp-content>/ and cache, 1777 www-data.
  dirs['/var/www/html/wp-content'] = www(0o1777);
  const children = new Set(Object.keys(WORDPRESS_TREE).filter((p) => /^wp-content\/[^/]+\//.test(p)).map((p) => p.split('/')[1]));
  for (const child of [...children, 'cache']) {
    dirs[`/var/www/html/wp-content/${child}`] = www(0o1777);
  }
  return {
    spec: {
      busybox: base.busybox,
      binaries: [...base.binaries, '/usr/bin/tar'],
      dirs,
      files,
      symlinks: { ...base.symlinks, '/bin/tar': '/usr/bin/tar' },
    },
    config: imageConfig({
      env: { PATH },
      volume: '/var/www/html',
      workdir: '/var/www/html',
      entrypoint: ['docker-entrypoint.sh'],
      stopSignal: 'SIGWINCH',
      expose: 80,
      cmd: ['apache2-foreground'],
    }),
  };
}
