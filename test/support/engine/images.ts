/**
 * The stand-in images of the real-engine tier. No image can be pulled on this machine, so each
 * official image the library or its examples use is stood in for by a root filesystem
 * assembled from this host's Debian binaries (rootfs.ts) and `docker import`ed into the test
 * engine. `STAND_INS` says, per image, what it stands in for and what differs: a test that
 * uses a stand-in inherits those differences, and none of them may hide a difference that
 * matters to the library (busybox applets, no bash, the entrypoint, the user).
 *
 * `ensureImage(kind)` returns the local tag, built at most once per engine: the first worker
 * that asks takes a mkdir lock in the engine's folder, asks the engine (`GET /images/<tag>/json`)
 * and imports only when the image is missing; the others wait on the lock and find it there.
 * The root filesystem tar is cached between runs (rootfs.ts), so a later run only re-imports.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DockerApi } from './docker-api';
import { currentEngine, RunningEngine } from './docker-engine';
import { ImageConfig, importImage, RootfsSpec, rootfsTar, withDirLock } from './rootfs';
import { testCa } from './test-ca';

/** The stand-in images there are. */
export type StandInKind = 'busybox' | 'restic';

/** What a stand-in stands in for, and how it differs. */
export interface StandIn {
  /** The local tag `ensureImage` returns. */
  readonly tag: string;
  /** The official image it stands in for. */
  readonly standsInFor: string;
  /** Where the official image's facts below come from. */
  readonly officialSource: string;
  /** What the stand-in has in common with the official image, as far as the tests rely on it. */
  readonly same: string[];
  /** What differs. */
  readonly differs: string[];
}

/** Where the host's CA bundle is (Debian's ca-certificates). */
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export const STAND_INS: Record<StandInKind, StandIn> = {
  busybox: {
    tag: 'ccb-stand-in/busybox:latest',
    standsInFor: 'busybox (docker-library/busybox)',
    officialSource: 'docker-library/busybox: FROM scratch, the busybox rootfs, CMD ["sh"]',
    same: ['/bin/sh is busybox ash', 'CMD ["sh"], no ENTRYPOINT', 'runs as root'],
    differs: [
      "Debian's busybox 1.35 (dynamically linked, with glibc and the loader beside it), not the official image's current busybox",
      "applets at Debian's --list-full paths (/bin, /sbin, /usr/bin, /usr/sbin) as symlinks to /bin/busybox; the official image has them all in /bin",
      "Debian's applet set (no crond, no flock, no adduser), which is not the official image's",
    ],
  },
  restic: {
    tag: 'ccb-stand-in/restic:0.14',
    standsInFor: 'restic/restic:0.17.3',
    officialSource:
      'restic/restic docker/Dockerfile.release: FROM alpine:latest; restic at /usr/bin/restic; ' +
      'apk add ca-certificates fuse openssh-client tzdata jq; ENTRYPOINT ["/usr/bin/restic"]',
    same: [
      'ENTRYPOINT ["/usr/bin/restic"], no CMD: override the entrypoint to run a shell',
      'busybox sh (ash), wget, ssl_client, nc, timeout, sha256sum and the other busybox applets; no bash, no curl, no docker CLI',
      'jq',
      'tzdata (/usr/share/zoneinfo) and a CA bundle at /etc/ssl/certs/ca-certificates.crt (/etc/ssl/cert.pem links to it)',
      'runs as root, HOME=/root',
    ],
    differs: [
      "restic 0.14.0 (Debian 12's) instead of 0.17.3: the agent must work with 0.14 (no --retry-lock, no repair)",
      "Debian's busybox 1.35 on glibc instead of Alpine's busybox on musl; Debian's applet set (no crond, no flock)",
      "jq 1.6 (Debian) instead of Alpine's 1.7",
      "the CA bundle is Debian's with the test run's CA appended (so the S3 stand-in's certificate is trusted)",
      'no fuse (restic mount) and no openssh-client (sftp: backend)',
      'no /etc/os-release, no apk',
    ],
  },
};

/** The root filesystem of each kind. */
function specOf(kind: StandInKind): { spec: RootfsSpec; config: ImageConfig; overlay?: () => Record<string, string | Buffer> } {
  switch (kind) {
    case 'busybox':
      return { spec: { busybox: true }, config: { cmd: ['sh'] } };
    case 'restic':
      return {
        spec: {
          busybox: true,
          binaries: ['/usr/bin/restic', '/usr/bin/jq'],
          copies: ['/usr/share/zoneinfo'],
          dirs: { '/etc/ssl/certs': {} },
          symlinks: { '/etc/ssl/cert.pem': 'certs/ca-certificates.crt' },
        },
        config: { entrypoint: ['/usr/bin/restic'], env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } },
        // Per run: the test CA changes every run, so it is no part of the cached tar.
        overlay: () => ({ '/etc/ssl/certs/ca-certificates.crt': caBundle() }),
      };
  }
}

/** Debian's CA bundle with the run's test CA appended. */
export function caBundle(engine: RunningEngine = currentEngine()): string {
  return `${fs.readFileSync(HOST_CA_BUNDLE, 'utf8').trimEnd()}\n${testCa(engine).certPem}`;
}

const building = new Map<string, Promise<string>>();

/** The local tag of a stand-in image, built on the engine if it is not there yet. */
export function ensureImage(kind: StandInKind, engine: RunningEngine = currentEngine()): Promise<string> {
  const key = `${engine.dir}:${kind}`;
  let p = building.get(key);
  if (!p) {
    p = buildOnce(kind, engine);
    building.set(key, p);
    p.catch(() => building.delete(key));
  }
  return p;
}

/**
 * Runs `build` for `tag` unless the engine already has it, under a lock in the engine's folder
 * shared by every worker: for other image builders (database-images.ts) too.
 */
export async function ensureTag(tag: string, build: () => Promise<void> | void, engine: RunningEngine = currentEngine()): Promise<string> {
  const api = new DockerApi(engine.socketPath);
  const present = async () => (await api.request('GET', `/images/${tag}/json`)).status === 200;
  if (await present()) {
    return tag;
  }
  const lock = path.join(engine.dir, 'locks', `image-${tag.replace(/[^a-zA-Z0-9.-]/g, '_')}`);
  return withDirLock(lock, async () => {
    if (!(await present())) {
      await build();
    }
    return tag;
  });
}

async function buildOnce(kind: StandInKind, engine: RunningEngine): Promise<string> {
  const { tag } = STAND_INS[kind];
  return ensureTag(
    tag,
    () => {
      const { spec, config, overlay } = specOf(kind);
      importImage(engine, tag, rootfsTar(spec), config, overlay?.() ?? {});
    },
    engine,
  );
}
