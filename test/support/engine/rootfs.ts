/**
 * Root filesystems for the stand-in images, assembled from this host's own Debian binaries
 * (no image can be pulled here: see "Facts about this machine" in /work/shared/DESIGN.md),
 * and imported into the test engine with `docker import`.
 *
 * Two steps, each usable alone:
 *
 * 1. `rootfsTar(spec)`: the root filesystem as a tar file, cached between runs under
 *    `node_modules/.cache/ccb-images/<key>.tar`, where the key hashes the spec and the size,
 *    mtime and inode of every host file it copies (so an `apt-get upgrade` of restic or a new
 *    node binary makes a new tar; an unchanged host only re-imports). `buildRootfs(spec, dir)`
 *    is the uncached assembly into a folder, for whoever wants to look at one.
 * 2. `importImage(engine, tag, tar, config, overlay?)`: `docker import --change ...` of that
 *    tar into a local tag, with per-run files (the run's test CA in the CA bundle) appended to
 *    a copy of the tar first, so the cached part never depends on the run.
 *
 * What a spec can hold (all paths inside the image are absolute):
 * - `binaries`: host executables copied to the same path, with every library `ldd` lists
 *   and the dynamic loader, each at the path ldd prints (dereferenced: real files, no links
 *   into the host's merged /usr);
 * - `libraries`: extra libraries a binary opens with dlopen (ldd does not see those);
 * - `busybox`: the host's busybox at /bin/busybox plus one symlink per applet at the path
 *   `busybox --list-full` prints (what `busybox --install -s` does), so /bin/sh is busybox ash;
 *   a binary listed in `binaries` wins over an applet of the same path;
 * - `copies`: host files or whole folders (symlinks inside kept as links) to the same path or
 *   to `to`;
 * - `files`: files with given content, mode and owner;
 * - `dirs`: empty folders with mode and owner (e.g. a service user's home);
 * - `symlinks`: link path -> target.
 * Every root filesystem also gets /tmp (1777), /root (0700), /etc/passwd and /etc/group with
 * root and nobody (unless `files` gives its own), and /etc/nsswitch.conf (`hosts: files dns`).
 */
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { dockerOk, RunningEngine } from './docker-engine';

/** A file written into the root filesystem. */
export interface RootfsFile {
  readonly content: string | Buffer;
  /** @default 0o644 */
  readonly mode?: number;
  /** @default 0 */
  readonly uid?: number;
  /** @default 0 */
  readonly gid?: number;
}

/** A folder made in the root filesystem. */
export interface RootfsDir {
  /** @default 0o755 */
  readonly mode?: number;
  /** @default 0 */
  readonly uid?: number;
  /** @default 0 */
  readonly gid?: number;
}

/** What goes into a root filesystem (see the module comment). */
export interface RootfsSpec {
  readonly binaries?: string[];
  readonly libraries?: string[];
  /** `true` for the host's /usr/bin/busybox, or the path of another busybox binary. */
  readonly busybox?: boolean | string;
  readonly copies?: Array<string | { readonly from: string; readonly to: string }>;
  readonly files?: Record<string, string | Buffer | RootfsFile>;
  readonly dirs?: Record<string, RootfsDir>;
  readonly symlinks?: Record<string, string>;
}

/**
 * The image configuration `docker import --change` sets. Engine 20.10 accepts only CMD,
 * ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME and WORKDIR there ("stopsignal is not a
 * valid change command", tried on the test engine): no STOPSIGNAL, no HEALTHCHECK.
 */
export interface ImageConfig {
  /** Exec form: `ENTRYPOINT ["..."]`. */
  readonly entrypoint?: string[];
  /** Exec form: `CMD ["..."]`. */
  readonly cmd?: string[];
  readonly user?: string;
  readonly env?: Record<string, string>;
  readonly workdir?: string;
  readonly labels?: Record<string, string>;
}

/** Where cached root filesystem tars live (a folder under the repository's node_modules). */
export const CACHE_DIR = path.resolve(__dirname, '..', '..', '..', 'node_modules', '.cache', 'ccb-images');

const DEFAULT_PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const DEFAULT_GROUP = 'root:x:0:\nnogroup:x:65534:\n';

/**
 * The libraries `ldd` lists for a binary, and its loader: absolute paths, as ldd prints them.
 * A static binary has none.
 */
export function sharedLibraries(binary: string): string[] {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (/not a dynamic executable|statically linked/.test(`${r.stdout}${r.stderr}`)) {
      return [];
    }
    throw new Error(`ldd ${binary} failed: ${r.stderr.trim()}`);
  }
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const arrow = /=>\s*(\/\S+)\s*\(/.exec(line);
    const loader = /^\s*(\/\S+)\s*\(/.exec(line);
    if (/=>\s*not found/.test(line)) {
      throw new Error(`ldd ${binary}: ${line.trim()}`);
    }
    const lib = arrow?.[1] ?? loader?.[1];
    if (lib) {
      libs.push(lib);
    }
  }
  return libs;
}

/** Every host path a spec copies (binaries, their libraries, busybox, copies), resolved. */
function hostInputs(spec: RootfsSpec): { binaries: string[]; libraries: string[]; busybox?: string } {
  const busybox = spec.busybox === true ? '/usr/bin/busybox' : spec.busybox || undefined;
  const binaries = [...(spec.binaries ?? []), ...(busybox ? [busybox] : [])];
  const libraries = new Set<string>();
  for (const b of [...binaries, ...(spec.libraries ?? [])]) {
    for (const lib of sharedLibraries(b)) {
      libraries.add(lib);
    }
  }
  for (const lib of spec.libraries ?? []) {
    libraries.add(lib);
  }
  return { binaries: spec.binaries ?? [], libraries: [...libraries].sort(), busybox };
}

/** Assembles the root filesystem of `spec` into `dir` (which must be empty or absent). */
export function buildRootfs(spec: RootfsSpec, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const inputs = hostInputs(spec);
  const at = (p: string) => path.join(dir, p);
  const mkdirp = (p: string) => fs.mkdirSync(at(p), { recursive: true, mode: 0o755 });

  for (const d of ['tmp', 'root', 'etc', 'bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev']) {
    mkdirp(d);
  }
  fs.chmodSync(at('tmp'), 0o1777);
  fs.chmodSync(at('root'), 0o700);
  fs.writeFileSync(at('etc/passwd'), DEFAULT_PASSWD);
  fs.writeFileSync(at('etc/group'), DEFAULT_GROUP);
  fs.writeFileSync(at('etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');

  if (inputs.busybox) {
    mkdirp('bin');
    fs.copyFileSync(inputs.busybox, at('bin/busybox'));
    fs.chmodSync(at('bin/busybox'), 0o755);
    const applets = execFileSync(inputs.busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const applet of applets) {
      if (applet === 'bin/busybox') {
        continue;
      }
      mkdirp(path.dirname(applet));
      fs.symlinkSync('/bin/busybox', at(applet));
    }
  }
  for (const file of [...inputs.libraries, ...inputs.binaries]) {
    mkdirp(path.dirname(file));
    fs.rmSync(at(file), { force: true });
    fs.copyFileSync(fs.realpathSync(file), at(file));
    fs.chmodSync(at(file), fs.statSync(file).mode & 0o7777);
  }
  for (const c of spec.copies ?? []) {
    const from = typeof c === 'string' ? c : c.from;
    const to = typeof c === 'string' ? c : c.to;
    mkdirp(path.dirname(to));
    fs.cpSync(from, at(to), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  }
  for (const [p, d] of Object.entries(spec.dirs ?? {})) {
    mkdirp(p);
    fs.chmodSync(at(p), d.mode ?? 0o755);
    fs.chownSync(at(p), d.uid ?? 0, d.gid ?? 0);
  }
  for (const [p, f] of Object.entries(spec.files ?? {})) {
    const file: RootfsFile = typeof f === 'string' || Buffer.isBuffer(f) ? { content: f } : f;
    mkdirp(path.dirname(p));
    fs.rmSync(at(p), { force: true });
    fs.writeFileSync(at(p), file.content);
    fs.chmodSync(at(p), file.mode ?? 0o644);
    fs.chownSync(at(p), file.uid ?? 0, file.gid ?? 0);
  }
  for (const [link, target] of Object.entries(spec.symlinks ?? {})) {
    mkdirp(path.dirname(link));
    fs.rmSync(at(link), { force: true });
    fs.symlinkSync(target, at(link));
  }
}

/**
 * The cache key of a spec: the spec itself (file contents hashed) and the size, mtime and
 * inode of every host file it copies, folders walked.
 */
export function rootfsKey(spec: RootfsSpec): string {
  const h = createHash('sha256');
  h.update('rootfs-v1\n');
  const inputs = hostInputs(spec);
  const statLine = (p: string) => {
    const s = fs.statSync(p);
    h.update(`${p} ${s.size} ${s.mtimeMs} ${s.ino}\n`);
  };
  const walk = (p: string) => {
    const s = fs.lstatSync(p);
    if (s.isDirectory()) {
      h.update(`${p}/ ${s.mode}\n`);
      for (const e of fs.readdirSync(p).sort()) {
        walk(path.join(p, e));
      }
    } else if (s.isSymbolicLink()) {
      h.update(`${p} -> ${fs.readlinkSync(p)}\n`);
    } else {
      h.update(`${p} ${s.size} ${s.mtimeMs} ${s.ino} ${s.mode}\n`);
    }
  };
  [...inputs.binaries, ...inputs.libraries, ...(inputs.busybox ? [inputs.busybox] : [])].forEach(statLine);
  for (const c of spec.copies ?? []) {
    const from = typeof c === 'string' ? c : c.from;
    h.update(`copy ${from} -> ${typeof c === 'string' ? c : c.to}\n`);
    walk(from);
  }
  const files = Object.fromEntries(
    Object.entries(spec.files ?? {}).map(([p, f]) => {
      const file: RootfsFile = typeof f === 'string' || Buffer.isBuffer(f) ? { content: f } : f;
      return [p, { ...file, content: createHash('sha256').update(file.content).digest('hex') }];
    }),
  );
  h.update(JSON.stringify({ ...spec, files }));
  return h.digest('hex').slice(0, 24);
}

/**
 * The root filesystem of `spec` as a tar file (numeric owners), built once and then taken
 * from the cache. Safe when several processes ask at once (each writes its own temp file and
 * renames it into place).
 */
export function rootfsTar(spec: RootfsSpec): string {
  const key = rootfsKey(spec);
  const tar = path.join(CACHE_DIR, `${key}.tar`);
  if (fs.existsSync(tar)) {
    return tar;
  }
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ccb-rootfs-'));
  try {
    const dir = path.join(work, 'rootfs');
    buildRootfs(spec, dir);
    const tmp = path.join(CACHE_DIR, `${key}.${process.pid}.tmp`);
    execFileSync('tar', ['-C', dir, '--numeric-owner', '-cf', tmp, '.'], { stdio: 'pipe' });
    fs.renameSync(tmp, tar);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return tar;
}

/** The `--change` lines of a config (Dockerfile instructions `docker import` accepts). */
export function changeLines(config: ImageConfig): string[] {
  const lines: string[] = [];
  if (config.entrypoint) {
    lines.push(`ENTRYPOINT ${JSON.stringify(config.entrypoint)}`);
  }
  if (config.cmd) {
    lines.push(`CMD ${JSON.stringify(config.cmd)}`);
  }
  for (const [k, v] of Object.entries(config.env ?? {})) {
    lines.push(`ENV ${k}=${JSON.stringify(v)}`);
  }
  for (const [k, v] of Object.entries(config.labels ?? {})) {
    lines.push(`LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
  }
  if (config.workdir) {
    lines.push(`WORKDIR ${config.workdir}`);
  }
  if (config.user) {
    lines.push(`USER ${config.user}`);
  }
  return lines;
}

/**
 * `docker import`s a root filesystem (a tar from `rootfsTar`, or a folder from `buildRootfs`)
 * into `tag` with `config`. `overlay` files (path -> content, mode 0644, root) are added on
 * top for this import only: a copy of the tar gets them appended, the cached tar stays as it
 * is. Their parent folders must exist in the root filesystem.
 */
export function importImage(
  engine: RunningEngine,
  tag: string,
  source: string,
  config: ImageConfig = {},
  overlay: Record<string, string | Buffer> = {},
): string {
  const work = fs.mkdtempSync(path.join(engine.dir, 'import-'));
  try {
    let tar = source;
    if (fs.statSync(source).isDirectory()) {
      tar = path.join(work, 'rootfs.tar');
      execFileSync('tar', ['-C', source, '--numeric-owner', '-cf', tar, '.'], { stdio: 'pipe' });
    }
    const extra = Object.keys(overlay);
    if (extra.length > 0) {
      const copy = path.join(work, 'with-overlay.tar');
      fs.copyFileSync(tar, copy);
      const dir = path.join(work, 'overlay');
      for (const [p, content] of Object.entries(overlay)) {
        fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true });
        fs.writeFileSync(path.join(dir, p), content, { mode: 0o644 });
      }
      execFileSync(
        'tar',
        ['-C', dir, '--numeric-owner', '--owner=0', '--group=0', '-rf', copy, ...extra.map((p) => `.${path.resolve('/', p)}`)],
        { stdio: 'pipe' },
      );
      tar = copy;
    }
    const changes = changeLines(config).flatMap((c) => ['--change', c]);
    return dockerOk(engine, ['import', ...changes, tar, tag]).trim();
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** /etc/passwd with root, nobody and the given extra users (`name:x:uid:gid:...` lines). */
export function passwdFile(extra: string[] = []): string {
  return DEFAULT_PASSWD + extra.map((l) => `${l}\n`).join('');
}

/** /etc/group with root, nogroup and the given extra groups (`name:x:gid:` lines). */
export function groupFile(extra: string[] = []): string {
  return DEFAULT_GROUP + extra.map((l) => `${l}\n`).join('');
}

/**
 * One attempt at the lock `withDirLock` and `withDirLockSync` wait for: `mkdir` of `lockDir`
 * succeeds for one process at a time. A lock older than `staleMs` (a worker killed while
 * holding it) is broken and the attempt made again at once, as it is when the lock was released
 * meanwhile. True when the lock is taken; false when another process holds it (wait and call
 * again).
 */
function tryTakeLock(lockDir: string, staleMs: number): boolean {
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw err;
      }
      try {
        if (Date.now() - fs.statSync(lockDir).mtimeMs > staleMs) {
          fs.rmSync(lockDir, { recursive: true, force: true });
          continue;
        }
      } catch {
        continue; // released meanwhile
      }
      return false;
    }
  }
}

/**
 * Runs `fn` while holding a lock between processes (jest workers): `mkdir` of `lockDir`
 * succeeds for one process at a time. The lock is released when `fn` ends, also by a throw.
 * A lock older than `staleMs` (a worker killed while holding it) is broken.
 */
export async function withDirLock<T>(lockDir: string, fn: () => Promise<T> | T, staleMs = 10 * 60000): Promise<T> {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  while (!tryTakeLock(lockDir, staleMs)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/** `withDirLock` for synchronous callers (sleeps with Atomics.wait between tries). */
export function withDirLockSync<T>(lockDir: string, fn: () => T, staleMs = 10 * 60000): T {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (!tryTakeLock(lockDir, staleMs)) {
    Atomics.wait(sleeper, 0, 0, 100);
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * `copies` entries for an npm package and everything it needs at run time (its
 * `dependencies` and installed `optionalDependencies`, transitively), resolved the way node
 * does (the nearest `node_modules/<name>` walking up) from `fromDir`, and placed under
 * `toRoot` with the same layout relative to the project root (so node resolves them the same
 * way inside the image). Returns the copies and where the package itself lands.
 */
export function nodePackageCopies(
  name: string,
  toRoot: string,
  fromDir: string = path.resolve(__dirname, '..', '..', '..'),
): { copies: Array<{ from: string; to: string }>; packageDir: string } {
  const find = (dep: string, from: string): string | undefined => {
    for (let d = from; ; d = path.dirname(d)) {
      const candidate = path.join(d, 'node_modules', dep);
      if (fs.existsSync(path.join(candidate, 'package.json'))) {
        return candidate;
      }
      if (path.dirname(d) === d) {
        return undefined;
      }
    }
  };
  const top = find(name, fromDir);
  if (!top) {
    throw new Error(`npm package ${name} is not installed under ${fromDir}`);
  }
  const seen = new Set<string>();
  const queue = [top];
  while (queue.length > 0) {
    const dir = queue.pop()!;
    if (seen.has(dir)) {
      continue;
    }
    seen.add(dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      const found = find(dep, dir);
      if (!found) {
        throw new Error(`${dir}: dependency ${dep} is not installed`);
      }
      queue.push(found);
    }
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      const found = find(dep, dir);
      if (found) {
        queue.push(found);
      }
    }
  }
  const dirs = [...seen].sort();
  // A package nested in another's node_modules comes along with its parent.
  const outer = dirs.filter((d) => !dirs.some((o) => o !== d && d.startsWith(`${o}${path.sep}node_modules${path.sep}`)));
  const rel = (d: string) => path.relative(fromDir, d);
  return {
    copies: outer.map((d) => ({ from: d, to: path.posix.join(toRoot, rel(d)) })),
    packageDir: path.posix.join(toRoot, rel(top)),
  };
}
