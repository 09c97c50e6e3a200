/**
 * `backup-agent audit` (docs/restore.md "Was history forged?"): a compromised sidecar holds the
 * repository password and may write a snapshot with a false date (`restic backup --time`);
 * the audit dates every snapshot by the storage's own write time of its file (a local file's
 * ctime; an S3 object's LastModified from the operator's listing) and reports the forged one.
 * Run through the sidecar sandbox against a local target and an S3 server (s3rver over TLS).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ProtocolSidecar, protocolSidecar } from '../support/synthesized-sidecar';
import { S3Server, startS3Server } from '../support/servers/s3-server';

/** 30 days before now, as restic's `--time` takes it. */
function thirtyDaysAgo(): string {
  return new Date(Date.now() - 30 * 86400 * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * What a compromised sidecar can do with its own plan and secrets: a backup of other data,
 * dated 30 days back, with the agent's host and tags, to the target `t` of its plan; on a
 * local target also the file's times set back (`touch -d`), which the kernel lets the owner
 * do for mtime, never for ctime.
 */
function forgeSnapshotCommand(t: any): string[] {
  return [
    ...Object.entries<string>(t.environment ?? {}).map(([k, v]) => `export ${k}='${v}'`),
    ...Object.entries<string>(t.secretFiles ?? {}).map(([k, f]) => `export ${k}="$(cat ${f})"`),
    `export RESTIC_PASSWORD_FILE=${t.passwordFile}`,
    `restic -r ${t.repository} ${t.caCertificateFile ? `--cacert ${t.caCertificateFile}` : ''} backup --no-cache --host app --tag cdktf-container-backup --tag app --time '${thirtyDaysAgo()}' /tmp/evil`,
    ...(t.repository.startsWith('/') ? [`touch -d '${thirtyDaysAgo()}' ${t.repository}/snapshots/*`] : []),
  ];
}

describe('backup-agent audit', () => {
  let s3: S3Server;
  let sidecar: ProtocolSidecar;
  let genuine: string[];

  beforeAll(async () => {
    s3 = await startS3Server();
    // GIVEN a sidecar with a local and an S3 target, after two genuine cycles
    sidecar = protocolSidecar({ s3 });
    fs.writeFileSync(path.join(sidecar.sourceDir, 'a.txt'), 'genuine data');
    for (let i = 0; i < 2; i++) {
      const cycle = await sidecar.run(['run']);
      expect(cycle.code).toBe(0);
    }
    genuine = sidecar.snapshots('local').map((s) => s.short_id);
    // AND a forged snapshot, dated 30 days back, on each target, written from inside the sidecar
    const [local, bucket] = sidecar.plan.targets;
    const forge = await sidecar.run([], {
      exec: ['/bin/sh', '-c', [
        'set -e',
        'mkdir -p /tmp/evil && echo "encrypted by the attacker" > /tmp/evil/file',
        ...forgeSnapshotCommand(local),
        ...forgeSnapshotCommand(bucket),
      ].join('\n')],
    });
    expect({ code: forge.code, stderr: forge.code === 0 ? "" : forge.stderr.slice(-1500) }).toEqual({ code: 0, stderr: "" });
  }, 300000);

  afterAll(async () => {
    sidecar?.cleanup();
    await s3?.stop();
  });

  test('restic itself lists the forged snapshot among the genuine ones, dated before them', () => {
    const local = sidecar.snapshots('local');
    expect(local).toHaveLength(3);
    const forged = local.find((s) => !genuine.includes(s.short_id))!;
    expect(new Date((forged as any).time).getTime()).toBeLessThan(Date.now() - 29 * 86400 * 1000);
  });

  test('on a local target it reports the forged snapshot as backdated and the genuine ones ok, and exits 1', async () => {
    // WHEN the documented procedure runs (the agent in a container with the sidecar's mounts)
    const audit = await sidecar.run(['audit', '--target', 'local']);
    // THEN
    expect(audit.code).toBe(1);
    const lines = audit.stdout.trim().split('\n').slice(1);
    expect(lines).toHaveLength(3);
    const forged = lines.filter((l) => !genuine.some((id) => l.startsWith(id)));
    expect(forged).toEqual([expect.stringMatching(/^[0-9a-f]{8}  \S+Z  \S+Z  BACKDATED by (29|30)d$/)]);
    expect(lines.filter((l) => genuine.some((id) => l.startsWith(id)))).toEqual([expect.stringMatching(/  ok$/), expect.stringMatching(/  ok$/)]);
    expect(audit.stderr).toMatch(/ERROR step=audit target=local 1 of 3 snapshot\(s\) were written to the storage at another time than restic says: forged or rewritten, do not restore them/);
  });

  test('on an S3 target it says the write times are unknown without the storage\'s listing', async () => {
    const audit = await sidecar.run(['audit', '--target', 's3']);
    expect(audit.code).toBe(0);
    expect(audit.stdout.trim().split('\n').slice(1)).toEqual(Array(3).fill(expect.stringMatching(/  unknown  unknown$/)));
    expect(audit.stderr).toMatch(/WARN step=audit target=s3 3 of 3 snapshot\(s\) without a write time: pass the storage's own listing with --written/);
  });

  test("on an S3 target with the bucket's own listing (LastModified) it reports the forged snapshot", async () => {
    // GIVEN the snapshot objects' keys and LastModified times, as `aws s3api list-objects-v2
    // --query 'Contents[].[Key,LastModified]' --output text` prints them (a key, a tab, the
    // time with +00:00), here from the S3 server's own ListObjectsV2 answer through rclone
    const listing = spawnSync('rclone', ['lsjson', '--ca-cert', s3.caCertPath, `s3:${s3.bucket}/app/snapshots`], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: os.tmpdir(),
        RCLONE_CONFIG_S3_TYPE: 's3',
        RCLONE_CONFIG_S3_PROVIDER: 'Other',
        RCLONE_CONFIG_S3_ENDPOINT: s3.endpoint,
        RCLONE_CONFIG_S3_ACCESS_KEY_ID: s3.accessKeyId,
        RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      },
    });
    expect({ status: listing.status, stderr: listing.stderr }).toMatchObject({ status: 0 });
    const lines = JSON.parse(listing.stdout).map((o: any) => `app/snapshots/${o.Name}\t${String(o.ModTime).replace(/\.\d+Z$/, '+00:00')}`);
    expect(lines).toHaveLength(3);
    const file = path.join(sidecar.hostDirOf('/backup/agent'), 'written.txt');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    // WHEN
    const audit = await sidecar.run(['audit', '--target', 's3', '--written', '/backup/agent/written.txt']);
    // THEN
    expect(audit.code).toBe(1);
    const verdicts = audit.stdout.trim().split('\n').slice(1).map((l) => l.replace(/^.*Z  /, ''));
    expect(verdicts.sort()).toEqual([expect.stringMatching(/^BACKDATED by (29|30)d$/), 'ok', 'ok']);
  });

  test('--written needs --target', async () => {
    const audit = await sidecar.run(['audit', '--written', '/backup/agent/written.txt']);
    expect(audit.code).toBe(2);
    expect(audit.stderr).toMatch(/audit: --written lists the objects of one target: give --target too/);
  });
});
