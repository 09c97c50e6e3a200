/**
 * The stand-in images (test/support/engine/images.ts) on the real engine. Each stands in for an
 * official image that cannot be pulled here; STAND_INS lists what differs. These tests pin what
 * the library relies on:
 * - busybox: the plain busybox image (CMD sh);
 * - restic: stands in for restic/restic:0.17.3 (alpine + restic + ca-certificates fuse
 *   openssh-client tzdata jq, ENTRYPOINT ["/usr/bin/restic"]): busybox + Debian's restic 0.14
 *   + jq + tzdata + the CA bundle with the run's test CA;
 * - s3: stands in for the AWS S3 endpoint s3.eu-west-1.amazonaws.com (s3rver on the host's node,
 *   the same server program as test/support/servers/s3-server.ts), reached by name through network
 *   aliases on a user-defined network, over TLS with a certificate from the test CA;
 * - haproxy and haproxy-3.0: stand in for the official haproxy image (Debian 12's haproxy 2.6, or
 *   Debian 13's 3.0 with its own glibc, + busybox sh, user haproxy, the official entrypoint's
 *   argument rules).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DockerApi } from '../support/engine/docker-api';
import { currentEngine, docker, dockerOk } from '../support/engine/docker-engine';
import { ensureImage, STAND_INS } from '../support/engine/images';
import { S3InEngine, startS3InEngine } from '../support/engine/s3-stand-in';
import { testCa } from '../support/engine/test-ca';

const BUILD_TIMEOUT = 300000;

/** The busybox applets the backup agent (src/agent/parts/) calls. */
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
        // Not `wget -T`: Debian's busybox 1.35 wget segfaults with -T (on the host too); the agent
        // bounds wget with `timeout` instead.
        'timeout 5 wget -q -O /dev/null http://127.0.0.1:9/ ; echo "wget rc=$?"',
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

  describe('s3 (stands in for the AWS S3 endpoint) with the restic stand-in over TLS, by name', () => {
    const api = DockerApi.forTestEngine();
    const network = `ccb-images-s3-${randomBytes(3).toString('hex')}`;
    let s3: S3InEngine;
    let restic: string;
    let work: string;
    beforeAll(async () => {
      restic = await ensureImage('restic');
      await api.call('POST', '/networks/create', { body: { Name: network, CheckDuplicate: true } });
      s3 = await startS3InEngine({ network, region: 'eu-west-1', bucket: 'ccb-vault' });
      work = fs.mkdtempSync(path.join(engine.dir, 'images-test-'));
    }, BUILD_TIMEOUT);
    afterAll(async () => {
      await s3?.stop();
      await api.request('DELETE', `/networks/${network}`);
      if (work) {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });

    /** Runs sh in the restic stand-in on the network, with the S3 key and a password. */
    const resticSh = (script: string, binds: string[] = []) =>
      docker(engine, [
        'run', '--rm', '-i', '--network', network, '--entrypoint', 'sh',
        '-e', `AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, '-e', `AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`,
        '-e', 'RESTIC_PASSWORD=images-test', '-e', `RESTIC_REPOSITORY=${s3.repository('round-trip')}`,
        ...binds.flatMap((b) => ['-v', b]),
        restic,
      ], `set -e\nrestic() { timeout -s INT 120 /usr/bin/restic "$@"; }\n${script}\n`);

    test('restic init, backup, restore: the restored bytes equal the source', () => {
      // GIVEN a few files on the host, one larger than a restic chunk boundary
      const source = path.join(work, 'source');
      fs.mkdirSync(path.join(source, 'sub'), { recursive: true });
      const files: Record<string, Buffer> = {
        'a.bin': randomBytes(3 * 1024 * 1024 + 17),
        'sub/b.txt': Buffer.from('hello from the restic stand-in\n'),
        'sub/empty': Buffer.alloc(0),
      };
      for (const [f, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(source, f), content);
      }
      const restored = path.join(work, 'restored');
      fs.mkdirSync(restored);

      // WHEN the restic stand-in backs them up to s3.eu-west-1.amazonaws.com and restores them
      const r = resticSh(
        [
          'restic init',
          'restic backup --host images-test /source',
          'restic restore latest --target /restored',
          'restic snapshots --json | jq -r ".[0].hostname"',
        ].join('\n'),
        [`${source}:/source:ro`, `${restored}:/restored`],
      );

      // THEN every byte came back, through the stand-in's data folder
      expect(r.stderr).not.toMatch(/Fatal|error/i);
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n').pop()).toBe('images-test');
      for (const [f, content] of Object.entries(files)) {
        expect(fs.readFileSync(path.join(restored, 'source', f)).equals(content)).toBe(true);
      }
      expect(fs.readdirSync(path.join(s3.dataDir, s3.bucket))).toContain('round-trip');
    });

    test('both addressing styles reach the bucket (minio-go dials the dual-stack names: see s3-stand-in.ts)', () => {
      const r = resticSh(
        [
          'restic -o s3.bucket-lookup=dns snapshots --json | jq length',
          'restic -o s3.bucket-lookup=path snapshots --json | jq length',
          'restic check',
        ].join('\n'),
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n').slice(0, 2)).toEqual(['1', '1']);
    });

    test('the names restic dials resolve to the stand-in through Docker\'s embedded DNS', async () => {
      const ip = (await api.call('GET', `/containers/${s3.container}/json`)).json().NetworkSettings.Networks[network].IPAddress;
      const r = resticSh(
        ['s3.eu-west-1.amazonaws.com', 'ccb-vault.s3.eu-west-1.amazonaws.com', 's3.dualstack.eu-west-1.amazonaws.com', 'ccb-vault.s3.dualstack.eu-west-1.amazonaws.com']
          .map((n) => `nslookup -type=a ${n} 127.0.0.11 | sed -n 's/^Address: //p'`)
          .join('\n'),
      );
      expect(r.stdout.trim().split('\n')).toEqual([ip, ip, ip, ip]);
    });

    test('TLS is verified: without the test CA restic refuses the endpoint', () => {
      // Only the first certificate of Debian's bundle: not the test CA.
      const r = resticSh('awk "/BEGIN/{n++} n==1" /etc/ssl/certs/ca-certificates.crt > /tmp/one.pem\nrestic --cacert /tmp/one.pem snapshots');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/certificate signed by unknown authority/);
    });

    test('an unknown access key id is refused (s3rver checks the key id only, not V4 signatures)', () => {
      const r = docker(engine, [
        'run', '--rm', '--network', network,
        '-e', 'AWS_ACCESS_KEY_ID=AKUNKNOWN0000000000', '-e', `AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`,
        '-e', 'RESTIC_PASSWORD=images-test', '-e', `RESTIC_REPOSITORY=${s3.repository('round-trip')}`,
        restic, 'snapshots',
      ]);
      expect(r.status).not.toBe(0);
      // restic 0.14 reports the 403 of its first Stat as "Access Denied".
      expect(r.stderr).toMatch(/Access Denied/);
    });
  });

  describe.each([
    ['haproxy', '2.6', 'Debian 12'],
    ['haproxy-3.0', '3.0', 'Debian 13'],
  ] as const)('%s (stands in for the official haproxy image)', (kind, branch, debian) => {
    let tag: string;
    beforeAll(async () => {
      tag = await ensureImage(kind);
    }, BUILD_TIMEOUT);

    test(`haproxy -v through the official entrypoint's rules is ${debian}'s ${branch}`, () => {
      const version = new RegExp(`^HAProxy version ${branch.replace('.', '\\.')}\\.`);
      expect(dockerOk(engine, ['run', '--rm', tag, 'haproxy', '-v'])).toMatch(version);
      expect(dockerOk(engine, ['run', '--rm', tag, '-v'])).toMatch(version);
      expect(STAND_INS[kind].tag).toBe(tag);
    });

    test('runs as user haproxy (uid 99), not root, like the official image', async () => {
      const image = (await DockerApi.forTestEngine().call('GET', `/images/${tag}/json`)).json();
      expect(image.Config).toMatchObject({
        User: 'haproxy',
        Entrypoint: ['docker-entrypoint.sh'],
        Cmd: ['haproxy', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
        WorkingDir: '/var/lib/haproxy',
      });
      expect(dockerOk(engine, ['run', '--rm', tag, 'id']).trim()).toBe('uid=99(haproxy) gid=99(haproxy) groups=99(haproxy)');
      expect(dockerOk(engine, ['run', '--rm', tag, 'sh', '-c', 'readlink /bin/sh; command -v bash || echo no bash']).trim()).toBe(
        '/bin/busybox\nno bash',
      );
    });

    test('proxies on the engine: a config mounted at the official path answers another container', async () => {
      const api = DockerApi.forTestEngine();
      const network = `ccb-images-hap-${randomBytes(3).toString('hex')}`;
      const dir = fs.mkdtempSync(path.join(engine.dir, 'haproxy-'));
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(
        path.join(dir, 'haproxy.cfg'),
        [
          'global', '  log stdout format raw local0',
          'defaults', '  mode http', '  timeout connect 5s', '  timeout client 5s', '  timeout server 5s',
          'frontend web', '  bind :8080', '  http-request return status 200 content-type text/plain string "stand-in ok"',
          '',
        ].join('\n'),
        { mode: 0o644 },
      );
      await api.call('POST', '/networks/create', { body: { Name: network, CheckDuplicate: true } });
      const name = `ccb-hap-${randomBytes(3).toString('hex')}`;
      try {
        dockerOk(engine, ['run', '-d', '--name', name, '--network', network, '-v', `${dir}:/usr/local/etc/haproxy:ro`, tag]);
        const busybox = await ensureImage('busybox');
        let out = '';
        for (let i = 0; i < 50 && out !== 'stand-in ok'; i++) {
          out = docker(engine, ['run', '--rm', '--network', network, busybox, 'timeout', '5', 'wget', '-q', '-O', '-', `http://${name}:8080/`]).stdout;
          if (out !== 'stand-in ok') {
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        expect(out).toBe('stand-in ok');
        const top = dockerOk(engine, ['top', name, '-o', 'pid,uid,args']);
        expect(top).toMatch(/\b99\s+haproxy -W -db -f \/usr\/local\/etc\/haproxy\/haproxy.cfg/);
      } finally {
        docker(engine, ['rm', '-f', name]);
        await api.request('DELETE', `/networks/${network}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  test('a shell\'s exit code comes back through docker run', async () => {
    const tag = await ensureImage('busybox');
    expect(docker(engine, ['run', '--rm', '--entrypoint', 'sh', tag, '-c', 'exit 3']).status).toBe(3);
  });
});
