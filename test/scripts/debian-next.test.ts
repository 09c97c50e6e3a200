/**
 * scripts/debian-next.js: Debian 13's packages beside this Debian 12 host, never over its own.
 * The mirror is read from the host's apt sources (both formats), the libraries a package needs
 * are computed by apt, and a binary of the extracted root runs through the root's own loader
 * with every library taken from the root.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { commandFor, ensure, hostMirror, hostSources, ROOT, SUITE } from '../../scripts/debian-next';

describe('the host\'s apt sources', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'debian-next-'));
    fs.mkdirSync(path.join(dir, 'sources.list.d'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('deb822: the stanza of the host\'s own release and main, not security, a disabled one or another file name', () => {
    // GIVEN
    const d = path.join(dir, 'sources.list.d');
    fs.writeFileSync(path.join(d, 'a.sources'), [
      'Types: deb',
      'URIs: http://mirror.example/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
      'Types: deb',
      'Enabled: no',
      'URIs: http://disabled.example/debian',
      'Suites: bookworm',
      'Components: main',
      '',
      'Types: deb deb-src',
      '# a comment',
      'URIs: http://mirror.example/debian/',
      'Suites: bookworm bookworm-updates',
      'Components: main contrib',
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(d, 'b.sources.disabled'), 'Types: deb\nURIs: http://other.example/debian\nSuites: bookworm\nComponents: main\n');
    // WHEN
    const mirror = hostMirror({ list: path.join(dir, 'none'), dir: d, codename: 'bookworm' });
    // THEN
    expect(mirror).toBe('http://mirror.example/debian');
    expect(hostSources({ list: path.join(dir, 'none'), dir: d }).map((s) => s.uris[0])).toEqual(['http://mirror.example/debian-security', 'http://mirror.example/debian/']);
  });

  test('one-line sources.list: options and comments skipped', () => {
    // GIVEN
    const list = path.join(dir, 'sources.list');
    fs.writeFileSync(list, '# deb http://commented.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://line.example/debian bookworm main # trailing\n');
    // WHEN / THEN
    expect(hostMirror({ list, dir: path.join(dir, 'empty'), codename: 'bookworm' })).toBe('http://line.example/debian');
    expect(() => hostMirror({ list, dir: path.join(dir, 'empty'), codename: 'trixie' })).toThrow(/no apt source of the host serves trixie main/);
  });

  test('on this machine: a mirror the host itself lists', () => {
    const mirror = hostMirror();
    expect(hostSources().some((s) => s.uris.some((u) => u.replace(/\/+$/, '') === mirror))).toBe(true);
  });
});

describe(`haproxy from ${SUITE}`, () => {
  let extracted: Record<string, string>;
  beforeAll(() => {
    extracted = ensure(['haproxy']).extracted;
  }, 600000);

  test('the libraries it links, computed from apt-cache: shared libraries only, none of the scripts\' helpers', () => {
    // THEN what the package's Depends reach through Debian's libs section
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, '..', 'installed.json'), 'utf8'));
    const closure: string[] = manifest.packages.haproxy.closure;
    expect(closure).toEqual(expect.arrayContaining(['haproxy', 'libc6', 'libcrypt1', 'libjemalloc2', 'liblua5.4-0', 'libopentracing-c-wrapper0t64', 'libopentracing1', 'libpcre2-8-0', 'libssl3t64', 'libstdc++6', 'libgcc-s1', 'zlib1g', 'libzstd1']));
    expect(closure.filter((p) => ['adduser', 'init-system-helpers', 'sysvinit-utils', 'debconf', 'dpkg', 'perl-base'].includes(p))).toEqual([]);
    expect(extracted.haproxy).toMatch(/^3\.0\./);
  });

  test('runs on this host through its own loader, every library from the extracted root', () => {
    // WHEN
    const [loader, ...args] = commandFor('/usr/sbin/haproxy');
    const version = spawnSync(loader, [...args, '-v'], { encoding: 'utf8' });
    const listed = spawnSync(loader, ['--list', ...args.slice(0, -1), args[args.length - 1]], { encoding: 'utf8' });
    // THEN
    expect(version.stdout).toMatch(/^HAProxy version 3\.0\.\d+-\S+\+deb13/);
    const libraries = [...listed.stdout.matchAll(/=> (\/\S+)/g)].map((m) => m[1]);
    expect(libraries.length).toBeGreaterThan(5);
    expect(libraries.filter((l) => !l.startsWith(ROOT))).toEqual([]);
  });

  test('the host\'s own haproxy is still Debian 12\'s, and a second ensure runs no apt', () => {
    // GIVEN
    const manifest = path.join(ROOT, '..', 'installed.json');
    const lists = path.join(ROOT, '..', 'apt', 'lists');
    const before = [fs.statSync(manifest).mtimeMs, fs.statSync(lists).mtimeMs];
    // WHEN
    ensure(['haproxy']);
    // THEN: no apt-get update, nothing rewritten; the host's package untouched
    expect([fs.statSync(manifest).mtimeMs, fs.statSync(lists).mtimeMs]).toEqual(before);
    expect(spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'haproxy'], { encoding: 'utf8' }).stdout).toMatch(/^2\.6\./);
  });
});
