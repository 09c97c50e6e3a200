#!/usr/bin/env node
/**
 * Installs the system tools the test suite runs for real (restic, shellcheck, busybox, jq, haproxy,
 * rclone, dash, and docker.io for the real-engine tier) from Debian when any is missing. Runs as `npm test`'s pretest step, so a
 * fresh machine needs no manual setup. Needs root (or sudo) and apt-get; anything else is
 * reported with the exact command to run by hand. Then the packages the tests take from
 * Debian 13 (scripts/debian-next.js: HAProxy 3.0) are extracted into .work/, never installed
 * over the host's.
 */
'use strict';
const { spawnSync } = require('child_process');
const debianNext = require('./debian-next');

// command on PATH -> Debian package that provides it
const TOOLS = {
  restic: 'restic',
  shellcheck: 'shellcheck',
  busybox: 'busybox',
  jq: 'jq',
  rclone: 'rclone',
  dash: 'dash',
  haproxy: 'haproxy', // runs the generated Docker API proxy config in the tests
  unshare: 'util-linux',
  time: 'time', // GNU time (/usr/bin/time), for the benchmarks' peak memory
  // The real-engine tier: a private Docker Engine in its own network namespace.
  dockerd: 'docker.io',
  nsenter: 'util-linux',
  ip: 'iproute2',
  iptables: 'iptables',
  // The postgres and mariadb stand-in images (test/support/engine/database-images.ts) copy
  // Debian 12's server binaries; nothing runs them on the host. Keyed by the binaries the images
  // copy (absolute paths: `command -v` takes them; PostgreSQL's is not on PATH). Installing
  // them may start the host's own servers: Debian's postinst starts the `main` cluster and
  // mariadb through invoke-rc.d unless /usr/sbin/policy-rc.d says no (exit 101, as on this
  // machine). Where a server did start, stop it (`pg_ctlcluster 15 main stop`,
  // `systemctl disable --now postgresql mariadb`): the tests never need it, and it would hold
  // ports 5432/3306 on the host for nothing.
  '/usr/lib/postgresql/15/bin/postgres': 'postgresql',
  '/usr/sbin/mariadbd': 'mariadb-server',
};

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = Object.keys(TOOLS).filter((cmd) => !onPath(cmd));
if (missing.length > 0) {
  installMissing(missing);
}
ensureDebianNext();

function installMissing(missing) {
  const packages = [...new Set(missing.map((cmd) => TOOLS[cmd]))];
  console.log(`ensure-system-tools: missing ${missing.join(', ')}; installing Debian packages: ${packages.join(' ')}`);

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const prefix = isRoot ? [] : onPath('sudo') ? ['sudo'] : null;
  if (prefix === null || !onPath('apt-get')) {
    console.error(
      `ensure-system-tools: cannot install automatically (needs apt-get and root). Run:\n` +
        `  sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`,
    );
    process.exit(1);
  }

  function run(args) {
    const [cmd, ...rest] = [...prefix, ...args];
    const result = spawnSync(cmd, rest, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0) {
      console.error(`ensure-system-tools: '${args.join(' ')}' failed with exit code ${result.status}`);
      process.exit(1);
    }
  }

  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages]);

  const stillMissing = Object.keys(TOOLS).filter((cmd) => !onPath(cmd));
  if (stillMissing.length > 0) {
    console.error(`ensure-system-tools: still missing after install: ${stillMissing.join(', ')}`);
    process.exit(1);
  }
}

/** Debian 13's packages (debian-next.js PACKAGES) in .work/debian-trixie: a no-op when present. */
function ensureDebianNext() {
  try {
    debianNext.ensure();
  } catch (e) {
    console.error(`ensure-system-tools: ${e.message}`);
    process.exit(1);
  }
}
