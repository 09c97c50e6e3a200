#!/usr/bin/env node
/**
 * Vendors Docker's default seccomp profile into src/docker/seccomp/.
 *
 * The sidecar's profile is Docker's own default with `open_by_handle_at` removed
 * (src/docker/seccomp/sidecar-seccomp.ts). The default comes from moby's source as Debian ships it
 * in `golang-github-docker-docker-dev` (built from the same `docker.io` source package as the
 * engine): `profiles/seccomp/default.json`, which moby generates from `DefaultProfile()`
 * (profiles/seccomp/default_linux.go, `go generate` runs generate.go).
 *
 * - installs the package with apt-get when it is missing (needs root or sudo);
 * - copies default.json byte for byte to src/docker/seccomp/docker-default-seccomp.json (JSON has
 *   no comments, and a byte-identical copy can be checked against upstream with a hash);
 * - writes the provenance (package, version, upstream path, licence, sha256) to
 *   src/docker/seccomp/README.md;
 * - warns when the installed docker.io engine is another upstream version.
 *
 * Usage: node scripts/update-seccomp-profile.js
 */
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const PACKAGE = 'golang-github-docker-docker-dev';
const UPSTREAM_PATH = 'profiles/seccomp/default.json';
const SOURCE = `/usr/share/gocode/src/github.com/docker/docker/${UPSTREAM_PATH}`;
const OUT_DIR = path.join(__dirname, '..', 'src', 'docker', 'seccomp');
const OUT_JSON = path.join(OUT_DIR, 'docker-default-seccomp.json');
const OUT_README = path.join(OUT_DIR, 'README.md');

function run(cmd, args, options = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', ...options });
}

function onPath(cmd) {
  return run('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** The installed version of a Debian package, or undefined. */
function installedVersion(pkg) {
  const r = run('dpkg-query', ['-W', '-f=${db:Status-Abbrev}|${Version}', pkg]);
  if (r.status !== 0) {
    return undefined;
  }
  const [status, version] = r.stdout.split('|');
  return status.startsWith('ii') ? version : undefined;
}

function fail(message) {
  console.error(`update-seccomp-profile: ${message}`);
  process.exit(1);
}

function ensurePackage() {
  if (installedVersion(PACKAGE) && fs.existsSync(SOURCE)) {
    return;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const aptGet = isRoot ? ['apt-get'] : onPath('sudo') ? ['sudo', 'apt-get'] : null;
  if (aptGet === null || !onPath('apt-get')) {
    fail(`${PACKAGE} is not installed and cannot be installed here (needs apt-get and root). Run:\n` +
      `  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${PACKAGE}`);
  }
  console.log(`update-seccomp-profile: installing ${PACKAGE} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...args) => run(aptGet[0], [...aptGet.slice(1), ...args], { stdio: 'inherit', env }).status === 0;
  // The package lists may be missing or stale on a fresh machine: update once on failure.
  if (!apt('install', '-y', '--no-install-recommends', PACKAGE)) {
    apt('update');
    if (!apt('install', '-y', '--no-install-recommends', PACKAGE)) {
      fail(`'apt-get install ${PACKAGE}' failed`);
    }
  }
  if (!fs.existsSync(SOURCE)) {
    fail(`${PACKAGE} is installed but has no ${SOURCE}`);
  }
}

/** '20.10.24+dfsg1-1+deb12u1' -> '20.10.24' (epoch, Debian repack suffix and revision dropped). */
function upstreamVersion(debianVersion) {
  return debianVersion.replace(/^\d+:/, '').replace(/[+~-].*$/, '');
}

function main() {
  ensurePackage();
  const version = installedVersion(PACKAGE);
  const raw = fs.readFileSync(SOURCE);
  const profile = JSON.parse(raw.toString('utf8'));
  if (typeof profile.defaultAction !== 'string' || !Array.isArray(profile.syscalls)) {
    fail(`${SOURCE} does not look like a Docker seccomp profile (no defaultAction/syscalls)`);
  }
  const sha256 = crypto.createHash('sha256').update(raw).digest('hex');

  const engine = installedVersion('docker.io');
  if (engine && upstreamVersion(engine) !== upstreamVersion(version)) {
    console.warn(`update-seccomp-profile: warning: docker.io is ${engine} but ${PACKAGE} is ${version}; ` +
      'the vendored default would not be this engine\'s default');
  }

  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(OUT_JSON, raw);
  fs.writeFileSync(OUT_README, readme({ version, sha256, bytes: raw.length }));
  console.log(`update-seccomp-profile: ${path.relative(process.cwd(), OUT_JSON)} <- ${SOURCE} (${PACKAGE} ${version}, sha256 ${sha256})`);
}

function readme({ version, sha256, bytes }) {
  return `# src/docker/seccomp

The backup sidecar's seccomp profile (see \`sidecar-seccomp.ts\`): Docker's own default profile
with \`open_by_handle_at\` removed, because the sidecar keeps \`CAP_DAC_READ_SEARCH\` (to read
0700 database folders) and the default profile allows \`open_by_handle_at\` to any container
holding that capability, which lets it open files of the host's filesystem through a
bind-mounted file ("shocker").

## docker-default-seccomp.json (vendored, generated: do not edit)

Written by \`node scripts/update-seccomp-profile.js\`; a byte-for-byte copy of upstream.

| | |
|---|---|
| Upstream | moby (Docker Engine), \`${UPSTREAM_PATH}\` |
| Upstream version | ${upstreamVersion(version)} |
| Taken from | Debian package \`${PACKAGE}\` ${version} (\`${SOURCE}\`), built from the \`docker.io\` source package |
| Licence | Apache-2.0 (Copyright 2012-2018 Docker, Inc.; see /usr/share/doc/${PACKAGE}/copyright) |
| Size | ${bytes} bytes |
| sha256 | \`${sha256}\` |

To move to another engine version, install that version's \`${PACKAGE}\` and rerun the
script; \`test/security/sidecar-seccomp.test.ts\` checks the hash above against the file.
`;
}

main();
