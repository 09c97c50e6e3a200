#!/usr/bin/env node
/**
 * Debian's next release (13, trixie) beside this Debian 12 host, for the tests: a package and
 * the shared libraries it links are fetched with `apt-get download` under a private apt
 * configuration (its own sources list, lists, package cache and an empty dpkg status: the
 * host's apt state and packages are never touched) and extracted with `dpkg-deb -x` into one
 * root in the checkout, `.work/debian-trixie/root` (git ignores `.work/`). A binary of that
 * root runs through the root's own dynamic loader and libraries (`commandFor`): trixie's
 * programs need glibc 2.38+, the host has 2.36.
 *
 * - The mirror is the one the host's own apt sources use for its release (deb822
 *   `/etc/apt/sources.list.d/*.sources` and one-line `/etc/apt/sources.list`, `*.list`); no
 *   host name is written here.
 * - The libraries are computed: the Depends/Pre-Depends closure of the package, followed into
 *   packages of Debian's `libs` section only (what `apt-cache depends` and `apt-cache show`
 *   say under the private configuration); scripts' helpers (adduser, debconf, init-system-
 *   helpers) are not needed to run a binary.
 * - Idempotent: a package already extracted (the manifest `installed.json`) costs nothing; apt
 *   runs only for what is missing, under a lock, so concurrent test workers wait for one another.
 *
 * Adding a package is one line in PACKAGES. Usage:
 *   node scripts/debian-next.js [ensure] [PACKAGE...]   extract PACKAGES (default: all of them)
 *   node scripts/debian-next.js command BINARY           print the command line that runs BINARY
 *   node scripts/debian-next.js run BINARY [ARG...]      run it, e.g. run /usr/sbin/haproxy -vv
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

/** The release fetched, and where its root and private apt state live. */
const SUITE = 'trixie';
const HOME = path.join(__dirname, '..', '.work', `debian-${SUITE}`);
const ROOT = path.join(HOME, 'root');
const APT = path.join(HOME, 'apt');
const MANIFEST = path.join(HOME, 'installed.json');
/** Debian's archive keyring (package debian-archive-keyring), which holds trixie's keys. */
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The packages the tests take from trixie, and why: one line each. */
const PACKAGES = {
  haproxy: 'HAProxy 3.0: the Docker API proxy config is tested on 2.6 (the host) and 3.0 (the pinned image)',
};

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.error || r.status !== 0) {
    throw new Error(`debian-next: ${cmd} ${args.join(' ')} failed (${r.error ? r.error.message : `exit ${r.status}`}):\n${r.stdout || ''}${r.stderr || ''}`);
  }
  return r.stdout;
}

/** The host's release codename (bookworm), from os-release. */
function hostCodename(osRelease = '/etc/os-release') {
  const m = /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(fs.readFileSync(osRelease, 'utf8'));
  if (!m) {
    throw new Error(`debian-next: no VERSION_CODENAME in ${osRelease}: not a Debian release?`);
  }
  return m[2];
}

/**
 * Every `deb` source of the host: `{ uris, suites, components }` per deb822 stanza of
 * `<dir>/*.sources` and per line of `sources.list` and `<dir>/*.list`. Disabled stanzas
 * (`Enabled: no`) and other file names are skipped, as apt skips them.
 */
function hostSources({ list = '/etc/apt/sources.list', dir = '/etc/apt/sources.list.d' } = {}) {
  const sources = [];
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort().map((f) => path.join(dir, f)) : [];
  for (const file of files.filter((f) => f.endsWith('.sources'))) {
    for (const stanza of fs.readFileSync(file, 'utf8').split(/\n\s*\n/)) {
      const fields = {};
      let last;
      for (const line of stanza.split('\n')) {
        if (/^#/.test(line)) continue;
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m) {
          last = m[1].toLowerCase();
          fields[last] = m[2];
        } else if (/^\s/.test(line) && last) {
          fields[last] += ` ${line.trim()}`;
        }
      }
      const words = (k) => (fields[k] || '').split(/\s+/).filter(Boolean);
      if (words('types').includes('deb') && (fields.enabled || 'yes').toLowerCase() !== 'no') {
        sources.push({ uris: words('uris'), suites: words('suites'), components: words('components') });
      }
    }
  }
  for (const file of [list, ...files.filter((f) => f.endsWith('.list'))]) {
    if (!fs.existsSync(file)) continue;
    for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
      const line = raw.replace(/#.*/, '').replace(/\[[^\]]*\]/, ' ').trim().split(/\s+/);
      if (line[0] === 'deb' && line.length >= 3) {
        sources.push({ uris: [line[1]], suites: [line[2]], components: line.slice(3) });
      }
    }
  }
  return sources;
}

/** The mirror the host takes its own release's `main` from (the suite named exactly as the codename). */
function hostMirror(options = {}) {
  const codename = options.codename || hostCodename();
  const source = hostSources(options).find((s) => s.suites.includes(codename) && s.components.includes('main'));
  if (!source || source.uris.length === 0) {
    throw new Error(`debian-next: no apt source of the host serves ${codename} main; add one (the Debian mirror) to /etc/apt/sources.list.d`);
  }
  return source.uris[0].replace(/\/+$/, '');
}

/** apt's options that make every apt-get/apt-cache call read and write the private state only. */
function aptOptions() {
  const options = {
    'Dir::Etc::SourceList': path.join(APT, 'sources.list'),
    'Dir::Etc::SourceParts': '/dev/null',
    'Dir::Etc::Preferences': '/dev/null',
    'Dir::Etc::PreferencesParts': '/dev/null',
    'Dir::State::Lists': path.join(APT, 'lists'),
    'Dir::State::status': '/dev/null',
    'Dir::Cache': path.join(APT, 'cache'),
    'Dir::Cache::Archives': path.join(APT, 'archives'),
    'Acquire::Languages': 'none',
    // The private folders are root's: no drop to the _apt user (which could not write them).
    'APT::Sandbox::User': 'root',
  };
  return Object.entries(options).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
}

/** Writes the private sources list and runs `apt-get update` with it. */
function aptUpdate() {
  for (const d of ['lists/partial', 'cache', 'archives/partial']) {
    fs.mkdirSync(path.join(APT, d), { recursive: true });
  }
  const arch = run('dpkg', ['--print-architecture']).trim();
  if (!fs.existsSync(KEYRING)) {
    throw new Error(`debian-next: ${KEYRING} is missing: apt-get install debian-archive-keyring`);
  }
  fs.writeFileSync(path.join(APT, 'sources.list'), `deb [arch=${arch} signed-by=${KEYRING}] ${hostMirror()} ${SUITE} main\n`);
  run('apt-get', [...aptOptions(), '-qq', 'update']);
}

/** `apt-cache show` fields of the candidate version of each package: { name: { section, version } }. */
function showPackages(names) {
  const out = run('apt-cache', [...aptOptions(), 'show', '--no-all-versions', ...names]);
  const found = {};
  for (const record of out.split(/\n\s*\n/)) {
    const field = (k) => (new RegExp(`^${k}: (.*)$`, 'm').exec(record) || [])[1];
    if (field('Package')) {
      found[field('Package')] = { section: field('Section') || '', version: field('Version') || '' };
    }
  }
  return found;
}

/**
 * The Depends and Pre-Depends of each package, as `apt-cache depends` lists them: the first
 * alternative of each `a | b` group, and for a virtual package its first provider.
 */
function dependsOf(names) {
  const out = run('apt-cache', [...aptOptions(), 'depends', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...names]);
  const deps = {};
  let current;
  let inAlternatives = false;
  let wantProvider = false;
  for (const line of out.split('\n')) {
    if (/^\S/.test(line)) {
      current = line.trim().replace(/:[a-z0-9]+$/, '');
      deps[current] = [];
      inAlternatives = false;
      continue;
    }
    const m = /^  (\|)?(PreDepends|Depends): (\S+)/.exec(line);
    if (m) {
      const taken = inAlternatives;
      inAlternatives = m[1] === '|';
      wantProvider = false;
      if (taken) continue; // a later alternative of a group whose first was taken
      const name = m[3].replace(/:[a-z0-9]+$/, '');
      if (name.startsWith('<')) {
        wantProvider = true; // virtual: its providers follow, indented by four
      } else {
        deps[current].push(name);
      }
    } else if (wantProvider && /^    \S/.test(line)) {
      deps[current].push(line.trim().replace(/:[a-z0-9]+$/, ''));
      wantProvider = false;
    } else if (/^  \S/.test(line)) {
      inAlternatives = false;
      wantProvider = false;
    }
  }
  return deps;
}

/**
 * The packages to extract for `names`: themselves, plus the closure of their dependencies
 * through packages of the `libs` section (shared libraries). Returns { name: version }.
 */
function libraryClosure(names) {
  const closure = {};
  let frontier = [...names];
  const seen = new Set(frontier);
  while (frontier.length > 0) {
    const shown = showPackages(frontier);
    for (const name of frontier) {
      if (!shown[name]) {
        throw new Error(`debian-next: ${SUITE} has no package ${name}`);
      }
      closure[name] = shown[name].version;
    }
    const deps = dependsOf(frontier);
    const next = [...new Set(Object.values(deps).flat())].filter((d) => !seen.has(d));
    next.forEach((d) => seen.add(d));
    const sections = next.length > 0 ? showPackages(next) : {};
    frontier = next.filter((d) => sections[d] && /(^|\/)libs$/.test(sections[d].section));
  }
  return closure;
}

function readManifest() {
  return fs.existsSync(MANIFEST) ? JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) : { suite: SUITE, packages: {}, extracted: {} };
}

/** Runs fn under a lock folder; waits for another process's lock, takes over a dead one's. */
function withLock(fn) {
  const lock = path.join(HOME, 'lock');
  fs.mkdirSync(HOME, { recursive: true });
  const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // being written or removed: look again
      }
      if (owner > 0 && !alive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true });
      } else {
        sleep(200);
      }
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Extracts `names` (default: every package of PACKAGES) and the libraries they link into the
 * root, unless already there. Returns { root, extracted: { package: version } }.
 */
function ensure(names = Object.keys(PACKAGES)) {
  const done = () => {
    const m = readManifest();
    return names.every((n) => m.packages[n]) ? { root: ROOT, extracted: m.extracted } : undefined;
  };
  return (
    done() ||
    withLock(() => {
      const ready = done();
      if (ready) return ready;
      aptUpdate();
      const manifest = readManifest();
      const wanted = libraryClosure(names.filter((n) => !manifest.packages[n]));
      const missing = Object.entries(wanted).filter(([n, v]) => manifest.extracted[n] !== v);
      const archives = path.join(APT, 'archives');
      if (missing.length > 0) {
        run('apt-get', [...aptOptions(), '-qq', 'download', ...missing.map(([n, v]) => `${n}=${v}`)], { cwd: archives });
      }
      fs.mkdirSync(ROOT, { recursive: true });
      for (const [name, version] of missing) {
        const deb = fs.readdirSync(archives).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb') && debVersion(f) === version);
        if (!deb) throw new Error(`debian-next: apt-get download left no ${name} ${version} in ${archives}`);
        run('dpkg-deb', ['-x', path.join(archives, deb), ROOT]);
        manifest.extracted[name] = version;
      }
      for (const n of names) {
        manifest.packages[n] = { version: wanted[n] || manifest.extracted[n], closure: Object.keys(wanted).sort() };
      }
      fs.writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
      return { root: ROOT, extracted: manifest.extracted };
    })
  );
}

/** A .deb file name's version (`name_version_arch.deb`, the epoch's `:` written `%3a`). */
function debVersion(file) {
  return decodeURIComponent(file.split('_')[1]);
}

/** The program interpreter (PT_INTERP) of an ELF file, or undefined for a static binary or a script. */
function elfInterpreter(file) {
  const b = fs.readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) {
    if (b.readUInt32BE(0) === 0x7f454c46) throw new Error(`debian-next: ${file}: only 64-bit little-endian ELF is handled`);
    return undefined;
  }
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  for (let i = 0; i < b.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (b.readUInt32LE(ph) === 3) {
      const offset = Number(b.readBigUInt64LE(ph + 8));
      const size = Number(b.readBigUInt64LE(ph + 32));
      return b.subarray(offset, offset + size).toString('latin1').replace(/\0+$/, '');
    }
  }
  return undefined;
}

/** `p` (absolute, as inside the root) resolved in the root, absolute symlinks and /usr-merge included. */
function inRoot(p) {
  for (const candidate of [p, `/usr${p}`]) {
    let current = candidate;
    for (let hops = 0; hops < 16; hops++) {
      const host = path.join(ROOT, current);
      let stat;
      try {
        stat = fs.lstatSync(host);
      } catch {
        break;
      }
      if (!stat.isSymbolicLink()) return host;
      const target = fs.readlinkSync(host);
      current = path.isAbsolute(target) ? target : path.join(path.dirname(current), target);
    }
  }
  throw new Error(`debian-next: ${p} is not in ${ROOT}: is its package in PACKAGES, and ensured?`);
}

/**
 * The command line that runs `binary` (a path inside the root, e.g. /usr/sbin/haproxy) on
 * this host: for a dynamic binary, the root's own loader with the root's library folders
 * first and the host's loader cache ignored, so no host library stands in for a missing one.
 */
function commandFor(binary) {
  const file = inRoot(binary);
  const interp = elfInterpreter(file);
  if (!interp) return [file];
  const loader = inRoot(interp);
  const libDirs = [path.dirname(loader), path.join(ROOT, 'usr/lib'), path.join(ROOT, 'lib')].filter((d, i, all) => fs.existsSync(d) && all.indexOf(d) === i);
  return [loader, '--inhibit-cache', '--library-path', libDirs.join(':'), file];
}

module.exports = { SUITE, ROOT, PACKAGES, hostCodename, hostSources, hostMirror, libraryClosure, ensure, commandFor, elfInterpreter, rootPath: inRoot };

if (require.main === module) {
  const [verb, ...rest] = process.argv.slice(2);
  try {
    if (verb === 'command') {
      ensure();
      console.log(commandFor(rest[0]).join(' '));
    } else if (verb === 'run') {
      ensure();
      const [cmd, ...args] = commandFor(rest[0]);
      const r = spawnSync(cmd, [...args, ...rest.slice(1)], { stdio: 'inherit' });
      process.exit(r.status === null ? 1 : r.status);
    } else {
      const names = verb === undefined || verb === 'ensure' ? rest : [verb, ...rest];
      const { extracted } = ensure(names.length > 0 ? names : undefined);
      console.log(`debian-next: ${SUITE} root ${ROOT}: ${Object.entries(extracted).map(([n, v]) => `${n} ${v}`).join(', ')}`);
    }
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
