/**
 * The sidecar's seccomp profile is Docker's own default for Engine 20.10 minus exactly
 * `open_by_handle_at`, in the format Docker 20.10 reads (moby profiles/seccomp/seccomp.go).
 * The engine tier (test/engine/seccomp.test.ts) proves what it does on the real engine.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  DOCKER_DEFAULT_SECCOMP_FILE,
  DockerSeccompProfile,
  DockerSeccompRule,
  dockerDefaultSeccompProfile,
  sidecarSeccompProfile,
  withoutSyscalls,
} from '../../src/docker/seccomp/sidecar-seccomp';

const ROOT = path.join(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'src', 'docker', 'seccomp', 'README.md'), 'utf8');

const namesOf = (rule: DockerSeccompRule): string[] => (rule.name ? [rule.name] : rule.names ?? []);
const allNames = (profile: DockerSeccompProfile): string[] => profile.syscalls.flatMap(namesOf).sort();

describe('the vendored Docker default profile', () => {
  test('is the file the README\'s provenance describes (moby 20.10.24, Debian golang-github-docker-docker-dev)', () => {
    // GIVEN the vendored file and its provenance
    const bytes = fs.readFileSync(DOCKER_DEFAULT_SECCOMP_FILE);
    // THEN the hash, size and origin recorded by scripts/update-seccomp-profile.js match
    const sha = /\| sha256 \| `([0-9a-f]{64})` \|/.exec(README)?.[1];
    expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(sha);
    expect(README).toContain(`| Size | ${bytes.length} bytes |`);
    expect(README).toContain('| Upstream version | 20.10.24 |');
    expect(README).toContain('`profiles/seccomp/default.json`');
    expect(README).toMatch(/Licence \| Apache-2\.0/);
  });

  test('allows open_by_handle_at in exactly one rule: to containers holding CAP_DAC_READ_SEARCH', () => {
    const rules = dockerDefaultSeccompProfile().syscalls.filter((r) => namesOf(r).includes('open_by_handle_at'));
    expect(rules).toEqual([
      expect.objectContaining({ names: ['open_by_handle_at'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_DAC_READ_SEARCH'] } }),
    ]);
  });
});

describe('sidecarSeccompProfile()', () => {
  const json = sidecarSeccompProfile();
  const profile = JSON.parse(json) as DockerSeccompProfile;
  const vendored = dockerDefaultSeccompProfile();

  test('is valid, compact JSON that Terraform leaves alone', () => {
    expect(() => JSON.parse(json)).not.toThrow();
    expect(json).toBe(JSON.stringify(profile));
    expect(json).not.toMatch(/\n/);
    // Terraform interpolates ${...} and %{...} in every string of the synthesized JSON.
    expect(json).not.toMatch(/\$\{|%\{/);
    // The size the sidecar's HostConfig.SecurityOpt (and Terraform state) carries.
    expect(Buffer.byteLength(json)).toBeLessThan(16 * 1024);
  });

  test('is the vendored default minus exactly open_by_handle_at', () => {
    // THEN every syscall name is kept but one occurrence of open_by_handle_at
    const expectedNames = allNames(vendored);
    expectedNames.splice(expectedNames.indexOf('open_by_handle_at'), 1);
    expect(allNames(profile)).toEqual(expectedNames);
    expect(allNames(profile)).not.toContain('open_by_handle_at');
    // AND everything else is the default, rule for rule, in order
    expect(profile).toEqual({
      ...vendored,
      syscalls: vendored.syscalls.filter((r) => !(r.names?.length === 1 && r.names[0] === 'open_by_handle_at')),
    });
    expect(profile.syscalls).toHaveLength(vendored.syscalls.length - 1);
  });

  test('refuses what it does not allow with an errno (EPERM), never by killing the process', () => {
    // runc turns SCMP_ACT_ERRNO without errnoRet into EPERM; the engine test sees EPERM.
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
  });

  test('uses only fields Docker 20.10 reads (Go\'s JSON decoder ignores unknown ones silently)', () => {
    // moby 20.10 profiles/seccomp/seccomp.go: Seccomp, Architecture, Syscall, Filter
    for (const key of Object.keys(profile)) {
      expect(['defaultAction', 'architectures', 'archMap', 'syscalls']).toContain(key);
    }
    // 'architectures' and 'archMap' together are refused at container start
    expect(profile.architectures).toBeUndefined();
    expect(profile.archMap).toEqual(expect.arrayContaining([{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }]));
    for (const rule of profile.syscalls) {
      for (const key of Object.keys(rule)) {
        expect(['name', 'names', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes']).toContain(key);
      }
      // 'name' and 'names' together are refused at container start
      expect(rule.name !== undefined && rule.names !== undefined).toBe(false);
      expect(namesOf(rule).length).toBeGreaterThan(0);
      for (const filter of [rule.includes ?? {}, rule.excludes ?? {}]) {
        for (const key of Object.keys(filter)) {
          expect(['caps', 'arches', 'minKernel']).toContain(key);
        }
      }
    }
  });

  test('the vendored profile ships in the npm package, found from src/ and from lib/', () => {
    const files: string[] = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).files;
    expect(files).toContain('src/docker/seccomp/docker-default-seccomp.json');
    // sidecar-seccomp.ts resolves ../../../src/docker/seccomp from its own folder: src/docker/seccomp or lib/docker/seccomp
    expect(DOCKER_DEFAULT_SECCOMP_FILE).toBe(path.join(ROOT, 'src', 'docker', 'seccomp', 'docker-default-seccomp.json'));
    expect(path.join(ROOT, 'lib', 'docker', 'seccomp', '..', '..', '..', 'src', 'docker', 'seccomp', 'docker-default-seccomp.json')).toBe(DOCKER_DEFAULT_SECCOMP_FILE);
  });
});

describe('withoutSyscalls', () => {
  test('takes a name out of every rule, drops rules left empty, keeps the rest as it was', () => {
    // GIVEN rules naming the syscall alone, among others, and with the old single `name`
    const given: DockerSeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read', 'open_by_handle_at', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['open_by_handle_at'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_DAC_READ_SEARCH'] } },
        { name: 'open_by_handle_at', action: 'SCMP_ACT_ALLOW' },
        { name: 'close', action: 'SCMP_ACT_ALLOW' },
      ],
    };
    // WHEN
    const result = withoutSyscalls(given, ['open_by_handle_at']);
    // THEN
    expect(result).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { name: 'close', action: 'SCMP_ACT_ALLOW' },
      ],
    });
    expect(given.syscalls[0].names).toEqual(['read', 'open_by_handle_at', 'write']);
  });
});
