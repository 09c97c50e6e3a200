/**
 * A throwaway image for the seccomp tests, built here because no image can be pulled:
 * Debian's busybox (its applets as symlinks: `sh` is busybox ash, no bash), jq and restic
 * 0.14, each binary with the shared libraries `ldd` lists, imported with `docker import`.
 *
 * It stands in for the official restic image (alpine + restic + jq, busybox `sh`): the same
 * shell and tools the sidecar runs, on glibc instead of musl (the probe is static, so libc
 * makes no difference to it). Replace with test/support/engine/images.ts's stand-in once it
 * lands.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { docker, dockerOk, RunningEngine } from '../docker-engine';

export const THROWAWAY_IMAGE = 'ccb-seccomp-busybox:local';

const BINARIES = ['/usr/bin/busybox', '/usr/bin/jq', '/usr/bin/restic'];

/** Builds (once per engine) and returns the image's tag. */
export function ensureThrowawayImage(engine: RunningEngine): string {
  if (docker(engine, ['image', 'inspect', THROWAWAY_IMAGE]).status === 0) {
    return THROWAWAY_IMAGE;
  }
  for (const bin of BINARIES) {
    if (!fs.existsSync(bin)) {
      throw new Error(`${bin} is missing: npm test's pretest (scripts/ensure-system-tools.js) installs busybox, jq and restic`);
    }
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ccb-rootfs-'));
  try {
    for (const dir of ['bin', 'usr/bin', 'tmp', 'etc', 'root', 'proc', 'sys', 'dev']) {
      fs.mkdirSync(path.join(root, dir), { recursive: true });
    }
    fs.chmodSync(path.join(root, 'tmp'), 0o1777);
    const libs = new Set<string>();
    for (const bin of BINARIES) {
      copyInto(root, bin);
      const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
      for (const m of ldd.stdout.matchAll(/(\/\S+\.so[.\d]*)/g)) {
        libs.add(m[1]);
      }
    }
    for (const lib of libs) {
      copyInto(root, lib);
    }
    const applets = spawnSync('/usr/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const applet of applets) {
      const link = path.join(root, 'bin', applet);
      if (!fs.existsSync(link)) {
        fs.symlinkSync('/usr/bin/busybox', link);
      }
    }
    fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    fs.writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\n');
    const tar = spawnSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 512 * 1024 * 1024 });
    if (tar.status !== 0) {
      throw new Error(`tar of the rootfs failed: ${tar.stderr.toString()}`);
    }
    dockerOk(engine, ['import', '--change', 'ENV PATH=/bin:/usr/bin', '--change', 'CMD ["/bin/sh"]', '-', THROWAWAY_IMAGE], tar.stdout);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return THROWAWAY_IMAGE;
}

/** Copies a file to the same path under root, following symlinks (libraries are links). */
function copyInto(root: string, file: string): void {
  const dest = path.join(root, file);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(fs.realpathSync(file), dest);
  fs.chmodSync(dest, fs.statSync(fs.realpathSync(file)).mode & 0o7777);
}
