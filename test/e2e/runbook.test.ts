/**
 * docs/restore.md, walked for real: a protected Postgres volume is backed up by the sidecar
 * taken from the synthesized cdk.tf.json, then damaged ("Volume corrupted") or lost with its
 * whole host ("Host lost": only a repository at another site and the password survive), and
 * the runbook's commands bring it back byte for byte, owners included. A single file is
 * restored both ways of "Single file". For "Ransomware", the script that picks the genuine
 * version of every object of the locked replica runs as written against a stand-in for the
 * AWS CLI (no S3 versioning here); the restore from the replica itself is not run.
 *
 * Every command below is quoted verbatim from the runbook (the test fails when the runbook no
 * longer contains it, so the two cannot drift apart) and carried out by a stand-in for the
 * Docker CLI (test/support/docker-cli.ts) on top of the sidecar sandbox: `docker exec` runs in
 * the sidecar as synthesized, `docker run` in a one-off container with Docker's defaults.
 * What the sandbox cannot do (`cdktf deploy`, AWS calls) is modelled in between, and said so.
 *
 * The test's targets are two local folders: `local` (a disk of the host, lost with it) and
 * `nas` (a NAS at another site, which survives). The runbook's `TARGET=local` / `TARGET=s3`
 * becomes `TARGET=local` / `TARGET=nas`; every other command is as written.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Medium, ProtectedContainer, Retention, Schedule, Site, StorageTarget } from '../../src';
import { TreeEntry, describeTree, pseudoRandomBytes, writeMixedDataSet } from '../support/data-set';
import { CommandResult, SandboxDockerHost } from '../support/docker-cli';
import { DockerContainerResource } from '../support/sidecar-sandbox';
import { dockerNameReferences, dockerStack, resources, synthJson } from '../support/synth';

const RUNBOOK = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'restore.md'), 'utf8');
const RUNBOOK_LINES = new Set(RUNBOOK.split('\n').map((l) => l.trim()));
const PASSWORD = 'the repository password, as escrowed';

// The runbook's commands, verbatim.
const STOP = 'docker stop db db-backup';
const START = 'docker start db db-backup';
const IMAGE = `IMAGE=$(docker inspect --format '{{.Config.Image}}' db-backup)`;
const ENV_FILE = `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' db-backup > db-backup.env`;
const LIST =
  'docker run --rm --volumes-from db-backup --env-file db-backup.env --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent snapshots --target "$TARGET"';
const CREATE_ASIDE = 'docker volume create pgdata-damaged';
const KEEP_ASIDE = `docker run --rm -v pgdata:/from:ro -v pgdata-damaged:/to --entrypoint /bin/sh "$IMAGE" -c 'cp -a /from/. /to/'`;
const EMPTY = `docker run --rm -v pgdata:/data --entrypoint /bin/sh "$IMAGE" -c 'find /data -mindepth 1 -maxdepth 1 -exec rm -rf {} +'`;
const RESTORE =
  'docker run --rm --volumes-from db-backup --env-file db-backup.env -v pgdata:/restore/backup/sources/pgdata --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent restore --target "$TARGET" --snapshot "$SNAPSHOT" --to /restore -- --include /backup/sources/pgdata';
const CHECK_MANIFEST = `docker run --rm --volumes-from db-backup -v pgdata:/restore/backup/sources/pgdata:ro --entrypoint /bin/sh "$IMAGE" -c "cd /restore && grep '  backup/sources/pgdata/' /backup/agent/manifests/$SNAPSHOT.sha256 | sha256sum -c -"`;
const REMOVE_ENV_FILE = 'rm db-backup.env';
const DEPLOY = 'cdktf deploy db-host';
const ESCROW = '--with-decryption --query Parameter.Value --output text > restic-password';
const LIST_IN_SIDECAR = 'docker exec db-backup /bin/sh /backup/install/bin/backup-agent snapshots --target "$TARGET"';
const RESTORE_FILE_IN_SIDECAR =
  'docker exec db-backup /bin/sh /backup/install/bin/backup-agent restore --target "$TARGET" --snapshot "$SNAPSHOT" --to /backup/agent/restore -- --include /backup/sources/pgdata/postgresql.conf';
const COPY_OUT = 'docker cp db-backup:/backup/agent/restore/backup/sources/pgdata/postgresql.conf ./postgresql.conf';
const CLEAN_SIDECAR = 'docker exec db-backup rm -rf /backup/agent/restore';
const RESTORE_FILE_IN_PLACE =
  'docker run --rm --volumes-from db-backup --env-file db-backup.env -v pgdata:/restore/backup/sources/pgdata --entrypoint /bin/sh "$IMAGE" /backup/install/bin/backup-agent restore --target "$TARGET" --snapshot "$SNAPSHOT" --to /restore -- --include /backup/sources/pgdata/postgresql.conf';

/** Fails unless the runbook holds `command` as a line of its own. */
function inRunbook(command: string): void {
  expect({ command, inRunbook: RUNBOOK_LINES.has(command) || RUNBOOK.includes(command) }).toEqual({ command, inRunbook: true });
}

/** Runs one runbook command on `host` and expects it to succeed. */
async function step(host: SandboxDockerHost, command: string): Promise<CommandResult> {
  inRunbook(command);
  const result = await host.sh(command);
  expect({ command, code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ command, code: 0, stderr: '' });
  return result;
}

/** The snapshot IDs in `snapshots` output, oldest first (restic lists them by time). */
function snapshotIds(output: string): string[] {
  return [...output.matchAll(/^([0-9a-f]{8})\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+db\s/gm)].map((m) => m[1]);
}

function synthesize(): {
  db: DockerContainerResource;
  installer: DockerContainerResource;
  sidecar: DockerContainerResource;
  terraformReferences: Record<string, string>;
} {
  const stack = dockerStack('db-host');
  new ProtectedContainer(stack, 'db', {
    image: 'postgres:16',
    volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
    backup: {
      schedule: Schedule.daily({ hour: 2 }),
      // `last: 3` keeps both of the test's same-day cycles: `--keep-daily` alone keeps one
      // snapshot per day, so the second cycle would forget the good one.
      retention: Retention.gfs({ last: 3, daily: 7, weekly: 4, monthly: 12 }),
      targets: [
        StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK }),
        StorageTarget.localPath({ hostPath: '/mnt/nas/db', medium: Medium.NAS, name: 'nas', site: Site.named('office-nas') }),
      ],
    },
  });
  const json = synthJson(stack);
  const byName = (name: string) => resources(json, 'docker_container').find((c) => c.name === name);
  return { db: byName('db'), installer: byName('db-backup-install'), sidecar: byName('db-backup'), terraformReferences: dockerNameReferences(json) };
}

/** Damage of the kind a bad migration or a failing disk leaves. */
function damage(dir: string): void {
  const file = path.join(dir, 'base', '16384', 'random.bin');
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, pseudoRandomBytes(4096, 7), 0, 4096, 1024 * 1024);
  fs.closeSync(fd);
  fs.rmSync(path.join(dir, 'PG_VERSION'));
  fs.writeFileSync(path.join(dir, 'postgresql.conf'), 'garbage\n');
  fs.writeFileSync(path.join(dir, 'left-over.tmp'), 'written after the good snapshot\n');
}

const { db, installer, sidecar, terraformReferences } = synthesize();
let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('Volume corrupted: restore a volume in place', () => {
  let host: SandboxDockerHost;
  let pgdata: string;
  let original: Record<string, TreeEntry>;
  let damaged: Record<string, TreeEntry>;

  beforeAll(async () => {
    // GIVEN a host running db and its sidecar; a nightly backup of the good data, then damage,
    // then another nightly backup that records the damage
    const hostPaths = { '/mnt/backup-disk/db': path.join(work, 'vc-backup-disk'), '/mnt/nas/db': path.join(work, 'vc-nas') };
    Object.values(hostPaths).forEach((d) => fs.mkdirSync(d));
    host = new SandboxDockerHost(path.join(work, 'vc-host'), hostPaths, { ...terraformReferences, 'var.restic_password': PASSWORD });
    host.create(db);
    host.create(installer);
    host.create(sidecar);
    pgdata = host.volume('pgdata');
    writeMixedDataSet(pgdata);
    original = describeTree(pgdata, { owners: true });
    const good = await host.start('db-backup', ['run']);
    expect({ code: good.code, stderr: good.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/ERROR/) });
    damage(pgdata);
    damaged = describeTree(pgdata, { owners: true });
    expect(damaged).not.toEqual(original);
    const bad = await host.start('db-backup', ['run']);
    expect(bad.code).toBe(0);
  }, 300_000);

  test('1. stop the application and its sidecar; 2. prepare the one-off container', async () => {
    await step(host, STOP);
    expect([...host.stopped].sort()).toEqual(['db', 'db-backup']);
    await step(host, IMAGE);
    expect(host.vars.IMAGE).toBe(sidecar.image);
    await step(host, ENV_FILE);
    const env = fs.readFileSync(path.join(host.cwd, 'db-backup.env'), 'utf8');
    expect(env).toContain('BACKUP_TARGET_1_NAME=local\n');
    expect(env).not.toContain(PASSWORD);
  });

  test('3. the snapshots of the local target: the last one recorded the damage, so the one before it is chosen by ID', async () => {
    inRunbook('TARGET=local');
    await step(host, 'TARGET=local');
    const result = await step(host, LIST);
    const ids = snapshotIds(result.stdout);
    expect(ids).toHaveLength(2);
    host.vars.SNAPSHOT = ids[0];
  });

  test('4. the damaged data is kept aside, owners and all', async () => {
    await step(host, CREATE_ASIDE);
    await step(host, KEEP_ASIDE);
    expect(describeTree(host.volume('pgdata-damaged'), { owners: true })).toEqual(damaged);
  });

  test('5. the volume is emptied', async () => {
    await step(host, EMPTY);
    expect(fs.readdirSync(pgdata)).toEqual([]);
  });

  test('6. the restore into the volume gives back every byte, mode, link and owner of the chosen snapshot, without a WARN', async () => {
    const result = await step(host, RESTORE);
    expect(result.stderr).not.toMatch(/WARN|ERROR/);
    expect(describeTree(pgdata, { owners: true })).toEqual(original);
  });

  test("7. every file matches the manifest recorded with the snapshot", async () => {
    const result = await step(host, CHECK_MANIFEST);
    const lines = result.stdout.trim().split('\n');
    const files = Object.values(original).filter((e) => e.kind === 'file').length;
    expect(lines).toHaveLength(files);
    expect(lines.every((l) => / OK$/.test(l))).toBe(true);
  });

  test('8. start again and clean up', async () => {
    await step(host, START);
    expect(host.stopped.size).toBe(0);
    await step(host, REMOVE_ENV_FILE);
    expect(fs.existsSync(path.join(host.cwd, 'db-backup.env'))).toBe(false);
  });

  describe('Single file', () => {
    test('look at an old version: restored inside the sidecar onto its state volume, copied out, cleaned up', async () => {
      await step(host, LIST_IN_SIDECAR);
      await step(host, RESTORE_FILE_IN_SIDECAR);
      await step(host, COPY_OUT);
      expect(fs.readFileSync(path.join(host.cwd, 'postgresql.conf'))).toEqual(fs.readFileSync(path.join(pgdata, 'postgresql.conf')));
      await step(host, CLEAN_SIDECAR);
      expect(fs.existsSync(path.join(host.volume('db-backup-state'), 'restore'))).toBe(false);
    });

    test('put it back in place: only that file is written, with its owner', async () => {
      // GIVEN the file is damaged again and another file was added since
      fs.writeFileSync(path.join(pgdata, 'postgresql.conf'), 'garbage\n');
      fs.writeFileSync(path.join(pgdata, 'newer-file'), 'stays\n');
      await step(host, IMAGE);
      await step(host, ENV_FILE);
      // WHEN
      await step(host, RESTORE_FILE_IN_PLACE);
      // THEN
      const now = describeTree(pgdata, { owners: true });
      expect(now['postgresql.conf']).toEqual(original['postgresql.conf']);
      expect(now['newer-file']).toMatchObject({ kind: 'file' });
      const { ['newer-file']: _added, ...rest } = now;
      expect(rest).toEqual(original);
    });
  });
});

describe('Host lost: only the NAS repository and the escrowed password survive', () => {
  let original: Record<string, TreeEntry>;
  let host: SandboxDockerHost;
  const nas = () => path.join(work, 'hl-nas');

  beforeAll(async () => {
    // GIVEN the old host's nightly backup went to its local disk and to the NAS at another site
    fs.mkdirSync(nas());
    const oldDisk = path.join(work, 'hl-old-backup-disk');
    fs.mkdirSync(oldDisk);
    const old = new SandboxDockerHost(path.join(work, 'hl-old-host'), { '/mnt/backup-disk/db': oldDisk, '/mnt/nas/db': nas() }, {
      ...terraformReferences,
      'var.restic_password': PASSWORD,
    });
    old.create(db);
    old.create(installer);
    old.create(sidecar);
    writeMixedDataSet(old.volume('pgdata'));
    original = describeTree(old.volume('pgdata'), { owners: true });
    const backup = await old.start('db-backup', ['run']);
    expect(backup.code).toBe(0);
    // WHEN the host is lost: its volumes (data, agent state with the password) and its local disk
    fs.rmSync(old.root, { recursive: true, force: true });
    fs.rmSync(oldDisk, { recursive: true, force: true });
  }, 300_000);

  test('1. the password comes back from escrow', () => {
    // `aws ssm get-parameter ... > restic-password` (no AWS here): the escrowed value, in a file
    inRunbook(ESCROW);
    const newDisk = path.join(work, 'hl-new-backup-disk');
    fs.mkdirSync(newDisk);
    const escrowed = path.join(work, 'restic-password');
    fs.writeFileSync(escrowed, `${PASSWORD}\n`, { mode: 0o600 });
    host = new SandboxDockerHost(path.join(work, 'hl-new-host'), { '/mnt/backup-disk/db': newDisk, '/mnt/nas/db': nas() }, {
      ...terraformReferences,
      'var.restic_password': fs.readFileSync(escrowed, 'utf8').replace(/\n$/, ''),
    });
  });

  test('4. the host is rebuilt (cdktf deploy), the new database initialises an empty cluster, both are stopped at once', async () => {
    inRunbook(DEPLOY);
    // `cdktf deploy db-host`: the containers are created and start; the installer's uploads
    // (agent, password) land on the new install volume, which the sidecar mounts read-only;
    // Postgres initialises the new, empty volume
    host.create(db);
    host.create(installer);
    host.create(sidecar);
    await host.start('db-backup', ['health']);
    const install = host.volume('db-backup-install');
    expect(fs.readFileSync(path.join(install, 'secrets', 'repository-password'), 'utf8')).toBe(PASSWORD);
    expect(fs.existsSync(path.join(install, 'bin', 'backup-agent'))).toBe(true);
    expect(fs.existsSync(path.join(host.volume('db-backup-state'), 'secrets'))).toBe(false);
    fs.writeFileSync(path.join(host.volume('pgdata'), 'PG_VERSION'), '16\n');
    fs.mkdirSync(path.join(host.volume('pgdata'), 'global'));
    fs.writeFileSync(path.join(host.volume('pgdata'), 'global', 'pg_control'), 'a fresh, empty cluster');
    await step(host, STOP);
  });

  test('then, as in Volume corrupted from step 2, with the surviving target: back byte for byte, owners included', async () => {
    inRunbook('with the surviving target, `TARGET=s3`');
    await step(host, IMAGE);
    await step(host, ENV_FILE);
    await host.sh('TARGET=nas'); // the runbook's TARGET=s3: the target at another site
    const listed = await step(host, LIST);
    const ids = snapshotIds(listed.stdout);
    expect(ids).toHaveLength(1);
    host.vars.SNAPSHOT = ids[0];
    await step(host, EMPTY);
    const restored = await step(host, RESTORE);
    expect(restored.stderr).not.toMatch(/WARN|ERROR/);
    expect(describeTree(host.volume('pgdata'), { owners: true })).toEqual(original);
    await step(host, START);
    await step(host, REMOVE_ENV_FILE);
  });
});

test('the one-off container is not the hardened sidecar: inside the sidecar, the same restore cannot write the volume', async () => {
  // GIVEN
  const host = new SandboxDockerHost(path.join(work, 'ro-host'), { '/mnt/backup-disk/db': work, '/mnt/nas/db': work }, {
    ...terraformReferences,
    'var.restic_password': PASSWORD,
  });
  host.create(installer);
  host.create(sidecar);
  fs.writeFileSync(path.join(host.volume('pgdata'), 'file'), 'x');
  // WHEN the volume is written from inside the sidecar
  const result = await host.sh(`docker exec db-backup /bin/sh -c 'echo y > /backup/sources/pgdata/file'`);
  // THEN
  expect(result.code).not.toBe(0);
  expect(result.stderr).toMatch(/Read-only file system/);
});

describe('Ransomware, step 5: which versions (against a stand-in for the AWS CLI)', () => {
  /**
   * The replica as S3 versioning keeps it: every object restic wrote, then newer versions of
   * `config`, one pack and one index written by an attacker through the primary (replicated,
   * so they are the current versions), and lock files. A fake `aws` answers
   * `s3api list-object-versions` and `s3api get-object --version-id` from that list.
   */
  const BLOCK_START = 'BUCKET=<replica bucket> PREFIX=db DEST=/srv/db-repository';
  const BLOCK_END = 'restic -r "$DEST" check --read-data';
  let dir: string;
  let env: Record<string, string>;
  let source: string;

  const run = (script: string) => spawnSync('/bin/sh', ['-c', script], { cwd: dir, env, encoding: 'utf8' });

  beforeAll(() => {
    dir = path.join(work, 'ransomware');
    source = path.join(dir, 'source');
    fs.mkdirSync(source, { recursive: true });
    writeMixedDataSet(source);
    const repo = path.join(dir, 'restic-repo');
    const password = path.join(dir, 'restic-password');
    fs.writeFileSync(password, PASSWORD);
    env = { PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`, RESTIC_PASSWORD_FILE: password, HOME: dir, LC_ALL: 'C' };
    for (const args of [['init'], ['backup', '--host', 'db', source]]) {
      const r = spawnSync('restic', ['-q', '-r', repo, ...args], { env, encoding: 'utf8' });
      expect({ args, code: r.status, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
    // Every object restic wrote, as version 1
    const versions: Array<{ Key: string; VersionId: string; LastModified: string; file: string }> = [];
    const files = (d: string): string[] =>
      fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(d, e.name)) : [path.join(d, e.name)]));
    let second = 0;
    const at = () => new Date(Date.UTC(2026, 10, 26, 2, 0, second++)).toISOString().replace('.000Z', '+00:00');
    for (const file of files(repo).sort()) {
      versions.push({ Key: `db/${path.relative(repo, file)}`, VersionId: `v1-${second}`, LastModified: at(), file });
    }
    // The attack: newer versions of config, of a pack and of an index, and lock files
    const garbage = path.join(dir, 'garbage');
    fs.writeFileSync(garbage, pseudoRandomBytes(4096, 99));
    const overwritten = versions.filter((v) => /^db\/(config|data\/|index\/)/.test(v.Key)).filter((v, i, all) => all.findIndex((w) => w.Key.split('/')[1] === v.Key.split('/')[1]) === i);
    expect(overwritten.map((v) => v.Key.split('/')[1]).sort()).toEqual(['config', 'data', 'index']);
    for (const v of overwritten) {
      versions.push({ Key: v.Key, VersionId: `attack-${second}`, LastModified: at(), file: garbage });
    }
    versions.push({ Key: `db/locks/${'0'.repeat(64)}`, VersionId: `lock-${second}`, LastModified: at(), file: garbage });
    fs.writeFileSync(path.join(dir, 'versions.json'), JSON.stringify(versions));
    // The fake AWS CLI: only the calls of the runbook's commands
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(
      path.join(dir, 'bin', 'aws'),
      `#!${process.execPath}
const fs = require('fs');
const versions = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, 'versions.json'))}, 'utf8'));
const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const fail = () => { process.stderr.write('fake aws: not modelled: ' + args.join(' ') + '\\n'); process.exit(255); };
if (args[0] !== 's3api' || opt('--bucket') !== 'replica-bucket') fail();
if (args[1] === 'list-object-versions') {
  const mine = versions.filter((v) => v.Key.startsWith(opt('--prefix')));
  if (opt('--query') === 'Versions[].Key' && opt('--output') === 'text') {
    process.stdout.write(mine.map((v) => v.Key).join('\\t') + '\\n');
  } else if (opt('--query') === undefined && opt('--output') === 'json') {
    process.stdout.write(JSON.stringify({ Versions: mine.map(({ Key, VersionId, LastModified }) => ({ Key, VersionId, LastModified, IsLatest: false })) }));
  } else fail();
} else if (args[1] === 'get-object') {
  const v = versions.find((x) => x.Key === opt('--key') && x.VersionId === opt('--version-id'));
  if (!v || args.length !== 9) fail();
  fs.copyFileSync(v.file, args[8]);
  process.stdout.write(JSON.stringify({ VersionId: v.VersionId }));
} else fail();
`,
      { mode: 0o755 },
    );
  }, 120_000);

  test('the triage command names every object the attacker overwrote (locks aside)', () => {
    const command = `aws s3api list-object-versions --bucket <replica bucket> --prefix db/ --query 'Versions[].Key' --output text \\`;
    inRunbook(command);
    const result = run(`aws s3api list-object-versions --bucket replica-bucket --prefix db/ --query 'Versions[].Key' --output text | tr '\\t' '\\n' | grep -v '/locks/' | sort | uniq -d`);
    expect(RUNBOOK).toContain(`| tr '\\t' '\\n' | grep -v '/locks/' | sort | uniq -d`);
    expect(result.stdout.trim().split('\n').map((k) => k.split('/')[1])).toEqual(['config', 'data', 'index']);
  });

  test("the runbook's script rebuilds a repository that checks clean and restores the data, where the current versions do not", () => {
    // GIVEN the current versions only (what restic would read from the replica): broken
    const current = path.join(dir, 'current');
    const versions = JSON.parse(fs.readFileSync(path.join(dir, 'versions.json'), 'utf8')) as Array<{ Key: string; file: string }>;
    for (const v of versions) {
      fs.mkdirSync(path.dirname(path.join(current, v.Key)), { recursive: true });
      fs.copyFileSync(v.file, path.join(current, v.Key));
    }
    expect(spawnSync('restic', ['-r', path.join(current, 'db'), '--no-lock', 'snapshots'], { env, encoding: 'utf8' }).status).not.toBe(0);
    // WHEN the runbook's block runs, as written but for the bucket's and the folder's names
    const start = RUNBOOK.indexOf(BLOCK_START);
    const end = RUNBOOK.indexOf(BLOCK_END, start);
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const block = RUNBOOK.slice(start, end + BLOCK_END.length)
      .split('\n')
      .map((l) => l.replace(/^ {3}/, ''))
      .join('\n');
    const dest = path.join(dir, 'db-repository');
    const script = block.replace('<replica bucket>', 'replica-bucket').replace('/srv/db-repository', dest);
    const result = run(`set -e\n${script}`);
    // THEN
    expect({ code: result.status, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/no errors were found/);
    const restored = path.join(dir, 'restored');
    const restore = spawnSync('restic', ['-q', '-r', dest, 'restore', 'latest', '--host', 'db', '--target', restored], { env, encoding: 'utf8' });
    expect({ code: restore.status, stderr: restore.stderr }).toEqual({ code: 0, stderr: '' });
    expect(describeTree(path.join(restored, source), { owners: true })).toEqual(describeTree(source, { owners: true }));
  });
});
