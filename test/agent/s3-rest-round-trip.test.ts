/**
 * Backups over real protocols: the sidecar synthesized by the library backs a mixed data set
 * up to a local folder, an S3 endpoint (s3rver over TLS) and an append-only REST server
 * (`rclone serve restic` over TLS with basic authentication) in one cycle; after a change, a
 * second cycle adds only what changed; each snapshot of each target restores byte-identical.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { changeMixedDataSet, describeTree, TreeEntry, writeMixedDataSet } from '../support/data-set';
import { ProtocolSidecar, protocolSidecar } from '../support/synthesized-sidecar';
import { RestServer, startRestServer } from '../support/servers/rest-server';
import { S3Server, startS3Server } from '../support/servers/s3-server';

const TARGETS = ['local', 's3', 'rest'];

describe('a round trip through a local folder, S3 and an append-only REST server', () => {
  let s3: S3Server | undefined;
  let rest: RestServer | undefined;
  let sidecar: ProtocolSidecar;
  let v1: Record<string, TreeEntry>;
  const firstCycle: Record<string, any> = {};

  beforeAll(async () => {
    // GIVEN the servers, and a sidecar synthesized with one target on each
    s3 = await startS3Server();
    rest = await startRestServer({ appendOnly: true });
    sidecar = protocolSidecar({ containerName: 'db', s3, rest });
    writeMixedDataSet(sidecar.sourceDir);
    v1 = describeTree(sidecar.sourceDir, { owners: true });
  });

  afterAll(async () => {
    await Promise.allSettled([s3?.stop(), rest?.stop()]);
    sidecar?.cleanup();
  });

  test('the first cycle gives each target a complete snapshot', async () => {
    // WHEN
    const r = await sidecar.run(['run']);
    // THEN
    expect(r.stderr).not.toMatch(/ ERROR /);
    expect(r.code).toBe(0);
    const status = sidecar.status();
    expect(status.state).toBe('ok');
    expect(status.targets.map((t: any) => [t.name, t.result])).toEqual(TARGETS.map((t) => [t, 'ok']));
    for (const t of status.targets) {
      expect(t.snapshot_id).toMatch(/^[0-9a-f]{64}$/);
      expect(t.bytes_added).toBeGreaterThan(3 * 1024 * 1024); // at least the random data
      firstCycle[t.name] = t;
    }
    for (const target of TARGETS) {
      expect(sidecar.snapshots(target).map((s) => s.id)).toEqual([firstCycle[target].snapshot_id]);
    }
  });

  test('after a change, the second cycle adds far fewer bytes than the first, to every target', async () => {
    // GIVEN a day of changes to small files; the large ones stay
    changeMixedDataSet(sidecar.sourceDir);
    // WHEN
    const r = await sidecar.run(['run']);
    // THEN
    expect(r.code).toBe(0);
    const status = sidecar.status();
    expect(status.state).toBe('ok');
    for (const t of status.targets) {
      // restic found the first snapshot as parent and sent only the new chunks (a property
      // of the data, not a timing): well under half of what the first cycle sent
      expect(t.bytes_added).toBeGreaterThan(0);
      expect(t.bytes_added).toBeLessThan(0.5 * firstCycle[t.name].bytes_added);
      expect(t.files_new).toBe(1);
      expect(t.files_changed).toBeGreaterThanOrEqual(2);
      expect(sidecar.snapshots(t.name)).toHaveLength(2);
      const check = sidecar.restic(t.name, ['check']);
      expect(check.code).toBe(0);
    }
  });

  test.each(TARGETS)('both snapshots restore from %s byte-identical (contents, modes, links, owners)', async (target) => {
    const v2 = describeTree(sidecar.sourceDir, { owners: true });
    expect(v2).not.toEqual(v1);
    for (const [snapshot, expected] of [
      [firstCycle[target].snapshot_id, v1],
      ['latest', v2],
    ] as const) {
      const to = `/backup/agent/restore/${target}-${snapshot.slice(0, 8)}`;
      // WHEN the runbook's restore runs (the sidecar's image and environment, Docker's
      // default capabilities, so that owners come back too)
      const r = await sidecar.run(['restore', '--target', target, '--snapshot', snapshot, '--to', to], { applyCapabilities: false });
      // THEN
      expect(r.code).toBe(0);
      const restored = path.join(sidecar.stateDir, to.replace('/backup/agent/', ''), sidecar.sourcePath);
      expect(describeTree(restored, { owners: true })).toEqual(expected);
      fs.rmSync(path.join(sidecar.stateDir, 'restore'), { recursive: true, force: true });
    }
  });

  test('no credential appears in status.json, the logs, or the restic output kept', () => {
    const texts: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== 'cache' && entry.name !== 'secrets') {
          walk(p);
        } else if (entry.isFile() && !p.includes(`${path.sep}secrets${path.sep}`)) {
          texts.push(fs.readFileSync(p, 'latin1'));
        }
      }
    };
    walk(sidecar.stateDir);
    const all = texts.join('\n');
    expect(all).toContain('rest:https://'); // the logs do name the repositories
    for (const secret of [rest!.password!, encodeURIComponent(rest!.password!), s3!.secretAccessKey]) {
      expect(all).not.toContain(secret);
    }
  });

  test('the append-only REST server refuses to delete or overwrite a snapshot: the immutable copy', async () => {
    const id = sidecar.snapshots('rest')[0].id;
    for (const method of ['DELETE', 'POST']) {
      const code = await new Promise<number>((resolve, reject) => {
        const req = https.request(
          `${rest!.url}/db/snapshots/${id}`,
          { method, ca: fs.readFileSync(rest!.caCertPath!), auth: `${rest!.username}:${rest!.password}` },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(method === 'POST' ? 'not a snapshot' : undefined);
      });
      expect([method, code]).toEqual([method, 403]);
    }
    expect(sidecar.snapshots('rest').map((s) => s.id)).toContain(id);
    expect(sidecar.restic('rest', ['check']).code).toBe(0);
  });

  test('S3 listings longer than one page (1,000 keys) work', () => {
    // GIVEN more than 1,000 objects under one folder of the S3 repository. A repository gets
    // there with about 1,000 packs (4 GB and more), too much for this suite; restic lists
    // locks/ whenever it takes or checks locks and ignores objects whose names are not ids, so
    // 1,005 small objects there make those listings span two pages. s3rver pages with
    // DES-encrypted continuation tokens: without node's legacy OpenSSL provider each such
    // request fails with "We encountered an internal error" and restic retries for minutes.
    const filler = path.join(sidecar.workDir, 'filler');
    fs.mkdirSync(filler);
    for (let i = 0; i < 1005; i++) {
      fs.writeFileSync(path.join(filler, `filler-${String(i).padStart(4, '0')}`), 'x');
    }
    const copy = spawnSync(
      'rclone',
      ['copy', '--config', '/dev/null', '--ca-cert', s3!.caCertPath, '--transfers', '32', '--no-check-dest', '--s3-no-check-bucket', '--s3-no-head', filler, `s3:${s3!.bucket}/db/locks/`],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          HOME: sidecar.workDir,
          RCLONE_CONFIG_S3_TYPE: 's3',
          RCLONE_CONFIG_S3_PROVIDER: 'Other',
          RCLONE_CONFIG_S3_ENDPOINT: s3!.endpoint,
          RCLONE_CONFIG_S3_ACCESS_KEY_ID: s3!.accessKeyId,
          RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: s3!.secretAccessKey,
        },
      },
    );
    expect(copy.stderr).toBe('');
    expect(copy.status).toBe(0);
    const objects = fs.readdirSync(path.join(s3!.dataDir, s3!.bucket, 'db', 'locks')).filter((f) => f.endsWith('._S3rver_object'));
    expect(objects.filter((f) => f.startsWith('filler-'))).toHaveLength(1005);
    // WHEN restic lists them (check takes an exclusive lock: it reads every lock first)
    const check = sidecar.restic('s3', ['check']);
    // THEN
    expect(check.stderr).not.toMatch(/internal error/);
    expect(check.code).toBe(0);
    expect(sidecar.restic('s3', ['list', 'locks', '--no-lock'])).toMatchObject({ code: 0, stdout: '' });
  });
});
