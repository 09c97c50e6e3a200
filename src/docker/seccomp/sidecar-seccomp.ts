import * as fs from 'fs';
import * as path from 'path';

/**
 * Docker's default seccomp profile for Engine 20.10, vendored from moby's
 * `profiles/seccomp/default.json` by `scripts/update-seccomp-profile.js` (provenance in
 * src/docker/seccomp/README.md). It ships in the npm package; the same relative path reaches it
 * from `src/docker/seccomp` (tests, ts-node) and from `lib/docker/seccomp` (the published package).
 */
export const DOCKER_DEFAULT_SECCOMP_FILE = path.join(__dirname, '..', '..', '..', 'src', 'docker', 'seccomp', 'docker-default-seccomp.json');

/** The syscalls the sidecar's profile takes out of Docker's default. */
export const SIDECAR_DENIED_SYSCALLS: readonly string[] = ['open_by_handle_at'];

/**
 * One rule of a Docker seccomp profile (moby `profiles/seccomp.Syscall`): Docker 20.10 reads
 * `name` or `names` (never both), and applies the rule only when `includes` holds (every cap in
 * `includes.caps` is in the container's bounding set, its arch in `includes.arches`, the
 * kernel at least `includes.minKernel`) and `excludes` does not.
 */
export interface DockerSeccompRule {
  readonly name?: string;
  readonly names?: string[];
  readonly action: string;
  readonly errnoRet?: number;
  readonly args?: unknown[] | null;
  readonly comment?: string;
  readonly includes?: { readonly caps?: string[]; readonly arches?: string[]; readonly minKernel?: string };
  readonly excludes?: { readonly caps?: string[]; readonly arches?: string[]; readonly minKernel?: string };
}

/** A Docker seccomp profile (moby `profiles/seccomp.Seccomp`, the format of Engine 20.10). */
export interface DockerSeccompProfile {
  readonly defaultAction: string;
  readonly architectures?: string[];
  readonly archMap?: { readonly architecture: string; readonly subArchitectures: string[] }[];
  readonly syscalls: DockerSeccompRule[];
}

/** Docker's default profile for this engine version, parsed afresh (callers may change it). */
export function dockerDefaultSeccompProfile(): DockerSeccompProfile {
  return JSON.parse(fs.readFileSync(DOCKER_DEFAULT_SECCOMP_FILE, 'utf8')) as DockerSeccompProfile;
}

/**
 * A profile without the given syscalls: each is taken out of every rule that names it, and a
 * rule left naming nothing is dropped. Everything else (order, actions, conditions) is kept.
 */
export function withoutSyscalls(profile: DockerSeccompProfile, denied: readonly string[]): DockerSeccompProfile {
  const syscalls: DockerSeccompRule[] = [];
  for (const rule of profile.syscalls) {
    if (rule.name !== undefined && rule.name !== '') {
      if (!denied.includes(rule.name)) {
        syscalls.push(rule);
      }
      continue;
    }
    const names = (rule.names ?? []).filter((n) => !denied.includes(n));
    if (names.length > 0) {
      syscalls.push(names.length === rule.names?.length ? rule : { ...rule, names });
    }
  }
  return { ...profile, syscalls };
}

let cached: string | undefined;

/**
 * The backup sidecar's seccomp profile, as compact JSON for `security_opts`:
 * `seccomp=<this JSON>` (Docker reads the profile's content from `HostConfig.SecurityOpt`).
 *
 * Why: the sidecar drops every capability but `CAP_DAC_READ_SEARCH`, which it needs to read
 * database folders such as a 0700 folder owned by uid 999. Docker's default profile allows
 * `open_by_handle_at` to any container whose bounding set holds that capability (the rule
 * with `includes.caps: ["CAP_DAC_READ_SEARCH"]`). With it, a compromised sidecar can build a
 * file handle for the root inode of the filesystem under any bind-mounted file (`/etc/hosts`,
 * `/etc/resolv.conf`, a host-path target) and open the HOST's directories and files through it
 * ("shocker"), bypassing the mount namespace. This profile is Docker's own default for the
 * engine version (so nothing else changes) with `open_by_handle_at` removed wherever it
 * appears: the default action then refuses it with EPERM, while the capability's other use,
 * reading files whatever their mode, stays.
 */
export function sidecarSeccompProfile(): string {
  cached ??= JSON.stringify(withoutSyscalls(dockerDefaultSeccompProfile(), SIDECAR_DENIED_SYSCALLS));
  return cached;
}
