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
import { ensure as ensureDebianNext, rootPath } from '../../../scripts/debian-next';
import { DockerApi } from './docker-api';
import { currentEngine, RunningEngine } from './docker-engine';
import { S3_SERVER_CHILD } from '../servers/s3-server';
import { groupFile, ImageConfig, importImage, nodePackageCopies, passwdFile, RootfsSpec, rootfsTar, withDirLock } from './rootfs';
import { testCa } from './test-ca';

/** The stand-in images there are. */
export type StandInKind = 'busybox' | 'restic' | 's3' | 'haproxy' | 'haproxy-3.0';

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
      "Debian's busybox 1.35 `wget -T SECONDS` segfaults (exit 139, on the host too): bound wget with `timeout` instead",
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
      "Debian's busybox `wget -T SECONDS` segfaults (exit 139): the agent bounds wget with `timeout`, never -T",
      "busybox wget's TLS (ssl_client) cannot complete a handshake with the S3 stand-in's EC P-256 certificate (node answers " +
        'alert 40); restic (Go TLS) can',
      "jq 1.6 (Debian) instead of Alpine's 1.7",
      "the CA bundle is Debian's with the test run's CA appended (so the S3 stand-in's certificate is trusted)",
      'no fuse (restic mount) and no openssh-client (sftp: backend)',
      'no /etc/os-release, no apk',
    ],
  },
  s3: {
    tag: 'ccb-stand-in/s3:latest',
    standsInFor: 'the AWS S3 endpoint s3.<region>.amazonaws.com (no image: a service)',
    officialSource:
      "minio-go api.go makeTargetURL + s3-endpoints.go getS3Endpoint: an Amazon endpoint is rewritten to the region's " +
      'dual-stack name, and pkg/s3utils IsVirtualHostSupported puts the bucket in front: restic 0.14 dials ' +
      '<bucket>.s3.dualstack.<region>.amazonaws.com (s3.dualstack.<region>.amazonaws.com/<bucket> with s3.bucket-lookup=path)',
    same: [
      'reached by the real endpoint names through network aliases: s3.<region>.amazonaws.com, s3.dualstack.<region>.amazonaws.com ' +
        'and <bucket>. in front of each (engine/s3-stand-in.ts endpointNames)',
      'HTTPS on 443 with a certificate for those names and their wildcards (issued by the test CA)',
      'path style and virtual-host style both reach the bucket; signature V4 with one access key, a wrong key refused',
    ],
    differs: [
      "s3rver 3.7.1 (test/support/servers/s3-server-child.js, the same program the host-side agent tests run) on the host's node, not AWS",
      'no Object Lock, versioning, KMS, bucket policies, IAM or replication: the cloud side is checked by terraform validate/plan, not here',
      'trusted only by images that carry the test CA (the restic stand-in)',
      "s3rver 3.7.1 checks the access key id but not V4 signatures (lib/middleware/authentication.js: 'Signature version 4 " +
        "calculation is unimplemented'), and lets unsigned requests through: a wrong secret key is accepted, an unknown key id is refused",
    ],
  },
  haproxy: {
    tag: 'ccb-stand-in/haproxy:2.6',
    standsInFor: 'haproxy (docker-library/haproxy, 2.6 and later)',
    officialSource:
      'docker-library/haproxy 2.6/Dockerfile and 3.2/Dockerfile: haproxy built into /usr/local/sbin; user and group ' +
      'haproxy uid/gid 99 (home /var/lib/haproxy); STOPSIGNAL SIGUSR1; ENTRYPOINT ["docker-entrypoint.sh"] ' +
      '(/usr/local/bin: a first argument starting with "-" means haproxy, and haproxy gets -W -db); USER haproxy; ' +
      '3.x adds WORKDIR /var/lib/haproxy; CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]',
    same: [
      'USER haproxy (uid 99, gid 99), not root: a proxy that must open /var/run/docker.sock (root:docker, 0660 on most hosts) ' +
        'needs `user` root or the socket\'s group in `group_add`, as with the official image',
      'ENTRYPOINT ["docker-entrypoint.sh"] with the same argument rules, CMD haproxy -f /usr/local/etc/haproxy/haproxy.cfg',
      'WORKDIR /var/lib/haproxy, haproxy on PATH at /usr/local/sbin/haproxy',
    ],
    differs: [
      "Debian 12's haproxy 2.6.12 (/usr/sbin/haproxy, linked to from /usr/local/sbin) instead of a current release built from source",
      'busybox sh instead of Debian slim\'s dash and coreutils',
      'no /usr/local/etc/haproxy/errors pages',
      'no STOPSIGNAL SIGUSR1 (docker import cannot set it): `docker stop` sends SIGTERM, so haproxy quits at once instead of ' +
        'draining connections; a container that sets stop_signal itself behaves the same on both',
    ],
  },
  'haproxy-3.0': {
    tag: 'ccb-stand-in/haproxy:3.0',
    standsInFor: 'haproxy:3.0 (docker-library/haproxy), the branch of the pinned image (3.0.28-alpine)',
    officialSource: 'as for haproxy above (docker-library/haproxy 3.0/Dockerfile)',
    same: ['everything the haproxy stand-in has in common with the official image, with HAProxy 3.0 in place of 2.6'],
    differs: [
      "Debian 13's haproxy 3.0.11 (scripts/debian-next.js extracts it) instead of 3.0.28 built from source",
      "Debian 13's glibc 2.41 and libraries in /lib/x86_64-linux-gnu, its loader at /lib64: the host's busybox (built for " +
        'glibc 2.36) runs on them',
      'the rest as the haproxy stand-in differs (busybox sh, no error pages, no STOPSIGNAL)',
    ],
  },
};

/**
 * The official haproxy image's entrypoint, as its Dockerfile describes it: a first argument
 * that is an option means haproxy; haproxy runs in master-worker mode (-W) in the foreground
 * (-db).
 */
const HAPROXY_ENTRYPOINT = `#!/bin/sh
set -e
case "$1" in
  -*) set -- haproxy "$@" ;;
esac
if [ "$1" = haproxy ]; then
  shift
  set -- haproxy -W -db "$@"
fi
exec "$@"
`;

/** Where the S3 stand-in keeps s3rver and the server program. */
export const S3_STAND_IN_ROOT = '/opt/s3rver';

const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The root filesystem, image config and per-run overlay of each kind (for timing or inspection). */
export function standInSpec(kind: StandInKind): { spec: RootfsSpec; config: ImageConfig; overlay?: () => Record<string, string | Buffer> } {
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
        config: { entrypoint: ['/usr/bin/restic'], env: { PATH: STANDARD_PATH } },
        // Per run: the test CA changes every run, so it is no part of the cached tar.
        overlay: () => ({ '/etc/ssl/certs/ca-certificates.crt': caBundle() }),
      };
    case 's3': {
      const s3rver = nodePackageCopies('s3rver', S3_STAND_IN_ROOT);
      return {
        spec: {
          busybox: true,
          binaries: [process.execPath],
          copies: [...s3rver.copies, { from: S3_SERVER_CHILD, to: `${S3_STAND_IN_ROOT}/s3-server-child.js` }],
        },
        // The config file (engine/s3-stand-in.ts writes it) comes as CMD.
        config: {
          entrypoint: ['/usr/bin/node', '--openssl-legacy-provider', `${S3_STAND_IN_ROOT}/s3-server-child.js`],
          env: { PATH: STANDARD_PATH, S3RVER_DIR: s3rver.packageDir },
        },
      };
    }
    case 'haproxy':
      return {
        spec: {
          busybox: true,
          binaries: ['/usr/sbin/haproxy'],
          files: {
            '/etc/passwd': passwdFile(['haproxy:x:99:99::/var/lib/haproxy:/usr/sbin/nologin']),
            '/etc/group': groupFile(['haproxy:x:99:']),
            '/usr/local/bin/docker-entrypoint.sh': { content: HAPROXY_ENTRYPOINT, mode: 0o755 },
          },
          dirs: { '/var/lib/haproxy': { uid: 99, gid: 99 }, '/usr/local/etc/haproxy': {}, '/usr/local/sbin': {} },
          symlinks: { '/usr/local/sbin/haproxy': '/usr/sbin/haproxy' },
        },
        config: {
          entrypoint: ['docker-entrypoint.sh'],
          cmd: ['haproxy', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
          user: 'haproxy',
          workdir: '/var/lib/haproxy',
          env: { PATH: STANDARD_PATH },
        },
      };
    case 'haproxy-3.0': {
      // The 2.6 stand-in with Debian 13's haproxy, its libraries and its loader laid over the
      // host's: one glibc in the image (2.41), which the host's busybox (built for 2.36) runs on.
      ensureDebianNext(['haproxy']);
      const { spec, config } = standInSpec('haproxy');
      const binary = rootPath('/usr/sbin/haproxy');
      return {
        spec: {
          ...spec,
          binaries: [],
          copies: [
            { from: path.dirname(rootPath('/usr/lib/x86_64-linux-gnu/libc.so.6')), to: '/lib/x86_64-linux-gnu' },
            { from: rootPath('/lib64/ld-linux-x86-64.so.2'), to: '/lib64/ld-linux-x86-64.so.2' },
            { from: binary, to: '/usr/sbin/haproxy' },
          ],
        },
        config,
      };
    }
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
      const { spec, config, overlay } = standInSpec(kind);
      importImage(engine, tag, rootfsTar(spec), config, overlay?.() ?? {});
    },
    engine,
  );
}
