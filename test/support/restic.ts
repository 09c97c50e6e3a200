/** restic on the host, against a repository the agent wrote (to check what it did). */
import { spawnSync } from 'child_process';
import { TEST_PASSWORD } from './test-values';

export interface ResticResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One snapshot, as `restic snapshots --json` lists it. */
export interface Snapshot {
  readonly id: string;
  readonly short_id: string;
  readonly hostname: string;
  readonly tags?: string[];
  readonly paths: string[];
}

export interface HostResticOptions {
  /** @default TEST_PASSWORD */
  readonly password?: string;
  /** The CA certificate of a TLS server (`--cacert`). */
  readonly cacert?: string;
  /** More environment (e.g. S3 credentials). */
  readonly env?: Record<string, string>;
}

/** Runs `restic -r REPOSITORY --no-cache ARGS` on the host, without a cache. */
export function restic(repository: string, args: string[], options: HostResticOptions = {}): ResticResult {
  const r = spawnSync('restic', ['-r', repository, '--no-cache', ...(options.cacert ? ['--cacert', options.cacert] : []), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', RESTIC_PASSWORD: options.password ?? TEST_PASSWORD, ...(options.env ?? {}) },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The snapshots of a repository (throws when they cannot be listed). */
export function snapshotsOf(repository: string, options: HostResticOptions = {}): Snapshot[] {
  const r = restic(repository, ['snapshots', '--json'], options);
  if (r.code !== 0) {
    throw new Error(`restic snapshots of ${repository} failed (${r.code}): ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}
