/**
 * The stand-in images (test/support/engine/images.ts) on the real engine. Each stands in for an
 * official image that cannot be pulled here; STAND_INS lists what differs. These tests pin what
 * the library relies on:
 * - busybox: the plain busybox image (CMD sh);
 * - restic: stands in for restic/restic:0.17.3 (alpine + restic + ca-certificates fuse
 *   openssh-client tzdata jq, ENTRYPOINT ["/usr/bin/restic"]): busybox + Debian's restic 0.14
 *   + jq + tzdata + the CA bundle with the run's test CA.
 */
import { DockerApi } from '../support/engine/docker-api';
import { currentEngine, docker, dockerOk } from '../support/engine/docker-engine';
import { ensureImage, STAND_INS } from '../support/engine/images';
import { testCa } from '../support/engine/test-ca';

const BUILD_TIMEOUT = 300000;

/** The busybox applets the backup agent (src/agent/backup-agent.sh) calls. */
const AGENT_APPLETS = [
  'sh', 'cat', 'cp', 'cut', 'date', 'env', 'false', 'find', 'grep', 'head', 'kill', 'ln', 'ls',
  'mkdir', 'mktemp', 'mv', 'printf', 'rm', 'rmdir', 'sed', 'sha256sum', 'sleep', 'sort', 'tail',
  'timeout', 'tr', 'true', 'uname', 'wc', 'chmod', 'wget', 'ssl_client', 'nc',
];

describe('stand-in images', () => {
  const engine = currentEngine();

  describe('busybox (stands in for the official busybox image)', () => {
    let tag: string;
    beforeAll(async () => {
      tag = await ensureImage('busybox');
    }, BUILD_TIMEOUT);

    test('runs sh by default, and sh is busybox', () => {
      expect(dockerOk(engine, ['run', '--rm', '-i', tag], 'echo "hello from $(readlink /bin/sh)"\n').trim()).toBe(
        'hello from /bin/busybox',
      );
    });

    test('a second ensureImage is the same image (built once per engine)', async () => {
      const [a, b] = await Promise.all([ensureImage('busybox'), ensureImage('busybox')]);
      expect(a).toBe(tag);
      expect(b).toBe(tag);
    });
  });

  describe(`restic (stands in for ${STAND_INS.restic.standsInFor})`, () => {
    let tag: string;
    beforeAll(async () => {
      tag = await ensureImage('restic');
    }, BUILD_TIMEOUT);

    test('has the official ENTRYPOINT ["/usr/bin/restic"], runs as root', async () => {
      const image = (await DockerApi.forTestEngine().call('GET', `/images/${tag}/json`)).json();
      expect(image.Config.Entrypoint).toEqual(['/usr/bin/restic']);
      expect(image.Config.Cmd ?? null).toBeNull();
      expect(image.Config.User ?? '').toBe('');
    });

    test('`restic version` through the entrypoint is Debian\'s 0.14', () => {
      expect(dockerOk(engine, ['run', '--rm', tag, 'version'])).toMatch(/^restic 0\.14\.\d+ compiled with go/);
    });

    test('has the busybox applets the agent calls, and no bash or curl', () => {
      const script = [
        `for a in ${AGENT_APPLETS.join(' ')}; do command -v "$a" >/dev/null || echo "missing $a"; done`,
        'for a in bash curl docker; do command -v "$a" >/dev/null && echo "unexpected $a"; done',
        'echo done',
      ].join('\n');
      const out = dockerOk(engine, ['run', '--rm', '-i', '--entrypoint', 'sh', tag], `${script}\n`);
      expect(out.trim()).toBe('done');
    });

    test('busybox timeout, sha256sum and wget behave as the agent expects', () => {
      const script = [
        'timeout -s TERM -k 1 1 sleep 5; echo "timeout rc=$?"',
        'printf abc | sha256sum',
        'wget -q -T 2 -O /dev/null http://127.0.0.1:9/ ; echo "wget rc=$?"',
      ].join('\n');
      const out = dockerOk(engine, ['run', '--rm', '-i', '--entrypoint', 'sh', tag], `${script}\n`);
      expect(out).toContain('timeout rc=143');
      expect(out).toContain('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -');
      expect(out).toContain('wget rc=1');
    });

    test('jq reads JSON', () => {
      const out = dockerOk(engine, ['run', '--rm', '-i', '--entrypoint', 'jq', tag, '-r', '.targets[1].name'], '{"targets":[{"name":"a"},{"name":"b"}]}');
      expect(out.trim()).toBe('b');
    });

    test('has tzdata: TZ=Europe/Paris is not UTC', () => {
      const out = dockerOk(engine, ['run', '--rm', '-e', 'TZ=Europe/Paris', '--entrypoint', 'date', tag, '-d', '@0', '+%H']);
      expect(out.trim()).toBe('01');
    });

    test('trusts the run\'s test CA (appended to the CA bundle)', () => {
      const bundle = dockerOk(engine, ['run', '--rm', '--entrypoint', 'cat', tag, '/etc/ssl/cert.pem']);
      expect(bundle).toContain(testCa(engine).certPem.trim());
      expect(bundle.split('BEGIN CERTIFICATE').length).toBeGreaterThan(100);
    });
  });

  test('a shell\'s exit code comes back through docker run', async () => {
    const tag = await ensureImage('busybox');
    expect(docker(engine, ['run', '--rm', '--entrypoint', 'sh', tag, '-c', 'exit 3']).status).toBe(3);
  });
});
