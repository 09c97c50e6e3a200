/**
 * docs/restore.md, walked on a real Docker Engine: a protected volume is backed up by the
 * sidecar deployed from the synthesized cdk.tf.json (THE applier, test/support/engine/applier.ts,
 * in the docker provider's call order), then damaged ("Volume corrupted") or lost with its whole
 * host ("Host lost": only the S3 bucket and the escrowed password survive), and the runbook's
 * commands, run verbatim with the docker CLI in one shell session (runbookShell), bring it back
 * byte for byte, owners included. A single file is restored both ways of "Single file". For
 * "Ransomware", the script that picks the genuine version of every object of the locked replica
 * runs as written against a stand-in for the AWS CLI (no S3 versioning here); the restore from
 * the replica itself is not run.
 *
 * The stack is the default example's (examples/postgres: its `backup-storage` stack as it is, a
 * `db-host` stack with the same sidecar: targets `local` on /mnt/backup-disk/db and `s3` on the
 * vault, the escrowed password), with two changes for the test: `last: 3` in the retention
 * (`--keep-daily` alone keeps one snapshot a day, so the day's second cycle, which records the
 * damage, would forget the good one), and `db` is an idle busybox holding `pgdata` instead of
 * Postgres, so the volume holds exactly the data set the test writes (odd names, a symlink, a
 * 0700 folder and a file of uid 999) and nothing changes it behind the test's back. The Postgres
 * round trip (dump, restore, row counts) is test/e2e/deployed-postgres.test.ts's.
 *
 * Stand-ins: restic/restic -> busybox + Debian's restic 0.14 + jq (images.ts); busybox ->
 * Debian's busybox; the bucket and its replica -> s3rver over TLS answering for
 * s3.<region>.amazonaws.com on the stack's egress network (s3-stand-in.ts). What cannot be real
 * is modelled and says so: the storage stack's apply (its outputs: bucket names, the agent's key,
 * the escrowed password; deployed-host.ts storageOutputs), `aws ssm get-parameter` (the escrowed
 * value written to a file), and the AWS CLI of "Ransomware".
 *
 * Engine: this file runs on a private Docker Engine of its own (startEngine, stopped in
 * afterAll), not the run's shared one: the runbook fixes the names (`db`, `db-backup`, `pgdata`,
 * `db-host-backup-egress`), deployed-postgres.test.ts deploys the same names, jest runs two files
 * at once, and "Host lost" destroys every container, network and volume of the host.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, TerraformStack } from 'cdktf';
import { BackupStorageStack } from '../../examples/postgres/main';
import { Medium, ProtectedContainer, Retention, Schedule, StorageTarget } from '../../src';
import { AGENT_STATE_DIR } from '../../src/agent/agent-asset';
import { DEFAULT_AGENT_IMAGE } from '../../src/docker/backup-sidecar';
import { TreeEntry, describeTree, pseudoRandomBytes, writeMixedDataSet } from '../support/data-set';
import { applyStack, Deployment } from '../support/engine/applier';
import { AGENT, storageOutputs, StorageValues } from '../support/engine/deployed-host';
import { docker, RunningEngine, startEngine, stopEngine } from '../support/engine/docker-engine';
import { ensureImage } from '../support/engine/images';
import { replicateBucket, S3InEngine, startS3InEngine } from '../support/engine/s3-stand-in';
import { inRunbook, RUNBOOK, RUNBOOK_MODELLED, RUNBOOK_TEXT, runbookShell, RunbookShell, ShellResult } from '../support/runbook';
import { DueWork, markDueCommand } from '../support/sidecar-harness';
import { synthesizeApp, SynthesizedApp } from '../support/synth';

const PASSWORD = 'the repository password, as escrowed';
const STORAGE: StorageValues = {
  bucket: 'vault-primary-runbook',
  replicaBucket: 'vault-replica-runbook',
  accessKeyId: 'AKIATESTRUNBOOK00001',
  secretAccessKey: 'test-secret-access-key-of-the-runbook-agent',
  password: PASSWORD,
};
const EGRESS = 'db-host-backup-egress';

/** Fails unless the runbook holds `command`. */
function expectInRunbook(command: string): void {
  expect({ command, inRunbook: inRunbook(command) }).toEqual({ command, inRunbook: true });
}

/** Runs one runbook line in the operator's shell and expects it to succeed. */
function step(shell: RunbookShell, command: string): ShellResult {
  const result = shell.run(command, { allowFail: true });
  expect({ command, code: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({ command, code: 0, stderr: '' });
  return result;
}

/** The snapshot IDs in `snapshots` output, oldest first (restic lists them by time). */
function snapshotIds(output: string): string[] {
  return [...output.matchAll(/^([0-9a-f]{8})\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+db\s/gm)].map((m) => m[1]);
}

/** The default example's two stacks, with the test's retention and an idle `db` (see above). */
function runbookApp(app: App): Record<string, TerraformStack> {
  const storage = new BackupStorageStack(app, 'backup-storage');
  const host = new TerraformStack(app, 'db-host');
  new DockerProvider(host, 'docker', {});
  new ProtectedContainer(host, 'db', {
    image: 'busybox:1.36',
    command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
    volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
    backup: {
      schedule: Schedule.daily({ hour: 2 }),
      // `last: 3` keeps both of the test's same-day cycles: `--keep-daily` alone keeps one
      // snapshot per day, so the second cycle would forget the good one.
      retention: Retention.gfs({ last: 3, daily: 7, weekly: 4, monthly: 12 }),
      password: storage.escrow.repositoryPassword,
      targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK }), StorageTarget.s3(storage.vault)],
    },
  });
  return { storage, host };
}

/** The bucket and its offsite replica: S3 stand-ins at another site, which outlive any host. */
interface Bucket {
  readonly primary: S3InEngine;
  readonly replica: S3InEngine;
}

/** A deployed `db-host`: the applier's deployment and the folder behind /mnt/backup-disk. */
interface Host {
  readonly deployment: Deployment;
  readonly backupDisk: string;
}

let engine: RunningEngine;
let synthesized: SynthesizedApp;
let images: Record<string, string>;
let work: string;
const savedEnv: Record<string, string | undefined> = {};

/** The docker CLI against this file's engine; throws with stderr unless `allowFail`. */
function dockerCli(args: string[], options: { allowFail?: boolean } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = docker(engine, args);
  if (r.status !== 0 && !options.allowFail) {
    throw new Error(`docker ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Where a named volume's files are on the host (the engine's data root). */
function volumeDir(name: string): string {
  return dockerCli(['volume', 'inspect', '--format', '{{.Mountpoint}}', name]).stdout.trim();
}

function running(container: string): boolean {
  return JSON.parse(dockerCli(['inspect', container]).stdout)[0].State.Running;
}

/** Starts the bucket's stand-ins on the host's egress network. */
async function startBucket(): Promise<Bucket> {
  const key = { accessKeyId: STORAGE.accessKeyId, secretAccessKey: STORAGE.secretAccessKey };
  return {
    primary: await startS3InEngine({ network: EGRESS, region: 'eu-west-1', bucket: STORAGE.bucket, ...key }, engine),
    replica: await startS3InEngine({ network: EGRESS, region: 'eu-central-1', bucket: STORAGE.replicaBucket, ...key }, engine),
  };
}

/**
 * `cdktf deploy db-host`: THE applier on the synthesized cdk.tf.json, the storage stack's state
 * as its apply would have left it (with `password` as the escrowed value). The bucket is reached
 * on the stack's egress network as soon as the applier has made it, before the installer runs
 * (it initialises the repositories at deploy time): a bucket that already exists (a re-built
 * host) is connected to the new network under its endpoint names; otherwise `onEgress` starts one.
 */
async function deployDbHost(options: { password: string; bucket?: Bucket; onEgress?: () => Promise<void> }): Promise<Host> {
  const backupDisk = fs.mkdtempSync(path.join(work, 'backup-disk-'));
  const deployment = await applyStack(synthesized.json['db-host'], {
    remoteState: { 'backup-storage': storageOutputs(synthesized.json['backup-storage'], { ...STORAGE, password: options.password }) },
    images,
    hostPaths: { '/mnt/backup-disk': backupDisk },
    afterApply: async (address, applied) => {
      if (address.startsWith('docker_network.') && applied.name === EGRESS) {
        if (options.bucket) {
          for (const s3 of [options.bucket.primary, options.bucket.replica]) {
            dockerCli(['network', 'connect', ...s3.aliases.flatMap((a) => ['--alias', a]), EGRESS, s3.container]);
          }
        }
        await options.onEgress?.();
      }
    },
  });
  return { deployment, backupDisk };
}

/**
 * The host is gone: every container, network and volume it had (the data, the agent's state,
 * the install volume with the password), and its local backup disk. The bucket is at another
 * site: it is only taken off the lost host's network first.
 */
async function loseHost(host: Host, bucket: Bucket): Promise<void> {
  for (const s3 of [bucket.primary, bucket.replica]) {
    dockerCli(['network', 'disconnect', EGRESS, s3.container]);
  }
  await host.deployment.destroy({ volumes: true });
  spawnSync('rm', ['-rf', host.backupDisk]);
}

async function destroy(host: Host | undefined, bucket: Bucket | undefined): Promise<void> {
  await bucket?.primary.stop();
  await bucket?.replica.stop();
  await host?.deployment.destroy({ volumes: true });
  dockerCli(['volume', 'rm', '-f', 'pgdata-damaged'], { allowFail: true });
  if (host) spawnSync('rm', ['-rf', host.backupDisk]);
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

/**
 * `docker exec db-backup /bin/sh <agent> run`: one full cycle, as the schedule would run it;
 * with `due`, after marking that work due as the daemon does (a drill: the cycle records the
 * manifest that step 7 checks).
 */
function cycle(due: DueWork[] = []): void {
  if (due.length > 0) {
    dockerCli(['exec', 'db-backup', ...markDueCommand({ stateDir: AGENT_STATE_DIR, targets: [] }, due)]);
  }
  const r = dockerCli(['exec', 'db-backup', '/bin/sh', AGENT, 'run'], { allowFail: true });
  expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/ERROR/) });
}

beforeAll(async () => {
  // This file's own engine (see the header); startEngine points currentEngine() at it for this
  // file (the CCB_* variables), restored in afterAll.
  for (const k of ['CCB_ENGINE_DIR', 'CCB_ENGINE_PID', 'CCB_DOCKER_HOST']) savedEnv[k] = process.env[k];
  engine = await startEngine();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-'));
  images = { [DEFAULT_AGENT_IMAGE]: await ensureImage('restic', engine), 'busybox:1.36': await ensureImage('busybox', engine) };
  synthesized = synthesizeApp(runbookApp);
}, 600_000);

afterAll(async () => {
  if (engine) await stopEngine(engine);
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  spawnSync('rm', ['-rf', work, synthesized?.outdir ?? '']);
}, 120_000);

describe('Volume corrupted: restore a volume in place', () => {
  let host: Host;
  let bucket: Bucket;
  let shell: RunbookShell;
  let pgdata: string;
  let original: Record<string, TreeEntry>;
  let damaged: Record<string, TreeEntry>;

  beforeAll(async () => {
    // GIVEN db-host deployed, a nightly backup of the good data, then damage, then another
    // nightly backup that records the damage
    host = await deployDbHost({ password: PASSWORD, onEgress: async () => { bucket = await startBucket(); } });
    shell = runbookShell({ engine });
    pgdata = volumeDir('pgdata');
    writeMixedDataSet(pgdata);
    original = describeTree(pgdata, { owners: true });
    // (the weekly restore drill falls due before this one, long after the repository the
    // installer made was replicated offsite: the drill checks the replica too)
    replicateBucket(bucket.primary, bucket.replica, 'db');
    cycle(['drill']);
    damage(pgdata);
    damaged = describeTree(pgdata, { owners: true });
    expect(damaged).not.toEqual(original);
    cycle();
  }, 300_000);

  afterAll(async () => {
    shell?.cleanup();
    await destroy(host, bucket);
  }, 120_000);

  test('1. stop the application and its sidecar; 2. prepare the one-off container', () => {
    step(shell, RUNBOOK.stop);
    expect([running('db'), running('db-backup')]).toEqual([false, false]);
    const image = step(shell, RUNBOOK.image).stdout;
    expect(image).toBe(images[DEFAULT_AGENT_IMAGE]);
    expect(image).toBe(JSON.parse(dockerCli(['inspect', 'db-backup']).stdout)[0].Config.Image);
    step(shell, RUNBOOK.envFile);
    const env = fs.readFileSync(path.join(shell.dir, 'db-backup.env'), 'utf8');
    // the agent's one variable: its plan, on the install volume that --volumes-from brings along
    expect(env).toContain('BACKUP_PLAN=/backup/install/agent.json\n');
    expect(env).not.toContain(PASSWORD);
    expect(env).not.toContain(STORAGE.secretAccessKey);
  });

  test('3. the snapshots of the local target: the last one recorded the damage, so the one before it is chosen by ID', () => {
    expectInRunbook('TARGET=local');
    step(shell, 'TARGET=local');
    const ids = snapshotIds(step(shell, RUNBOOK.list).stdout);
    expect(ids).toHaveLength(2);
    step(shell, `SNAPSHOT=${ids[0]}`);
  });

  test('4. the damaged data is kept aside, owners and all', () => {
    step(shell, RUNBOOK.createAside);
    step(shell, RUNBOOK.keepAside);
    expect(describeTree(volumeDir('pgdata-damaged'), { owners: true })).toEqual(damaged);
  });

  test('5. the volume is emptied', () => {
    step(shell, RUNBOOK.empty);
    expect(fs.readdirSync(pgdata)).toEqual([]);
  });

  test('6. the restore into the volume gives back every byte, mode, link and owner of the chosen snapshot, without a WARN', () => {
    const result = step(shell, RUNBOOK.restore);
    expect(result.stderr).not.toMatch(/WARN|ERROR/);
    expect(describeTree(pgdata, { owners: true })).toEqual(original);
  });

  test('7. every file matches the manifest recorded with the snapshot', () => {
    const lines = step(shell, RUNBOOK.checkManifest).stdout.trim().split('\n');
    const files = Object.values(original).filter((e) => e.kind === 'file').length;
    expect(lines).toHaveLength(files);
    expect(lines.every((l) => / OK$/.test(l))).toBe(true);
  });

  test('8. start again and clean up', () => {
    step(shell, RUNBOOK.start);
    expect([running('db'), running('db-backup')]).toEqual([true, true]);
    step(shell, RUNBOOK.removeEnvFile);
    expect(fs.existsSync(path.join(shell.dir, 'db-backup.env'))).toBe(false);
  });

  test('the one-off container is not the hardened sidecar: inside the sidecar, the same restore cannot write the volume', () => {
    // WHEN the volume is written from inside the running sidecar
    const result = dockerCli(['exec', 'db-backup', '/bin/sh', '-c', 'echo y > /backup/sources/pgdata/PG_VERSION'], { allowFail: true });
    // THEN
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Read-only file system/);
    expect(describeTree(pgdata, { owners: true })).toEqual(original);
  });

  describe('Single file', () => {
    test('look at an old version: restored inside the sidecar onto its state volume, copied out, cleaned up', () => {
      step(shell, RUNBOOK.listInSidecar);
      step(shell, RUNBOOK.restoreFileInSidecar);
      step(shell, RUNBOOK.copyOut);
      expect(fs.readFileSync(path.join(shell.dir, 'postgresql.conf'))).toEqual(fs.readFileSync(path.join(pgdata, 'postgresql.conf')));
      step(shell, RUNBOOK.cleanSidecar);
      expect(fs.existsSync(path.join(volumeDir('db-backup-state'), 'restore'))).toBe(false);
    });

    test('put it back in place: only that file is written, with its owner', () => {
      // GIVEN the file is damaged again and another file was added since
      fs.writeFileSync(path.join(pgdata, 'postgresql.conf'), 'garbage\n');
      fs.writeFileSync(path.join(pgdata, 'newer-file'), 'stays\n');
      step(shell, RUNBOOK.image);
      step(shell, RUNBOOK.envFile);
      // WHEN
      step(shell, RUNBOOK.restoreFileInPlace);
      // THEN
      const now = describeTree(pgdata, { owners: true });
      expect(now['postgresql.conf']).toEqual(original['postgresql.conf']);
      expect(now['newer-file']).toMatchObject({ kind: 'file' });
      const { ['newer-file']: _added, ...rest } = now;
      expect(rest).toEqual(original);
    });
  });
});

describe('Host lost: only the S3 bucket and the escrowed password survive', () => {
  let original: Record<string, TreeEntry>;
  let bucket: Bucket;
  let host: Host | undefined;
  let shell: RunbookShell;
  let escrowed: string;

  beforeAll(async () => {
    // GIVEN the old host's nightly backup went to its local disk and to the bucket
    const old = await deployDbHost({ password: PASSWORD, onEgress: async () => { bucket = await startBucket(); } });
    writeMixedDataSet(volumeDir('pgdata'));
    original = describeTree(volumeDir('pgdata'), { owners: true });
    cycle();
    // WHEN the host is lost: its containers, networks, volumes (data, agent state, the install
    // volume with the password) and its local disk
    await loseHost(old, bucket);
    const left = dockerCli(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n').filter(Boolean).sort();
    expect(left).toEqual([bucket.primary.name, bucket.replica.name].sort());
    expect(dockerCli(['volume', 'ls', '-q']).stdout.trim()).toBe('');
    expect(fs.existsSync(old.backupDisk)).toBe(false);
    shell = runbookShell({ engine });
  }, 300_000);

  afterAll(async () => {
    shell?.cleanup();
    await destroy(host, bucket);
  }, 120_000);

  test('1. the password comes back from escrow', () => {
    // `aws ssm get-parameter ... > restic-password` (modelled, no AWS here): the escrowed
    // value, in a file only the operator can read
    expectInRunbook(RUNBOOK_MODELLED.readEscrow);
    const file = path.join(shell.dir, 'restic-password');
    fs.writeFileSync(file, `${STORAGE.password}\n`, { mode: 0o600 });
    escrowed = fs.readFileSync(file, 'utf8').replace(/\n$/, '');
  });

  test('4. the host is rebuilt (cdktf deploy), the new database initialises an empty cluster, both are stopped at once', async () => {
    expectInRunbook(RUNBOOK_MODELLED.deploy);
    // `cdktf deploy db-host` = THE applier on the same cdk.tf.json, on the rebuilt host (a new
    // local disk, no volumes); the storage stack's state gives the escrowed password. The
    // installer fills the new install volume, which the sidecar mounts read-only.
    host = await deployDbHost({ password: escrowed, bucket });
    expect(host.deployment.exitCode('db-backup-install')).toBe(0);
    const install = volumeDir('db-backup-install');
    expect(fs.readFileSync(path.join(install, 'secrets', 'repository-password'), 'utf8')).toBe(PASSWORD);
    expect(fs.existsSync(path.join(install, 'bin', 'backup-agent'))).toBe(true);
    expect(fs.existsSync(path.join(volumeDir('db-backup-state'), 'secrets'))).toBe(false);
    expect([running('db'), running('db-backup')]).toEqual([true, true]);
    // Postgres would initialise the new, empty volume now (the idle stand-in does not: written here)
    const pgdata = volumeDir('pgdata');
    fs.writeFileSync(path.join(pgdata, 'PG_VERSION'), '16\n');
    fs.mkdirSync(path.join(pgdata, 'global'));
    fs.writeFileSync(path.join(pgdata, 'global', 'pg_control'), 'a fresh, empty cluster');
    step(shell, RUNBOOK.stop);
    expect([running('db'), running('db-backup')]).toEqual([false, false]);
  }, 300_000);

  test('then, as in Volume corrupted from step 2, with the surviving target: back byte for byte, owners included', () => {
    expectInRunbook(RUNBOOK_MODELLED.hostLostTarget);
    step(shell, RUNBOOK.image);
    step(shell, RUNBOOK.envFile);
    step(shell, 'TARGET=s3');
    const ids = snapshotIds(step(shell, RUNBOOK.list).stdout);
    expect(ids).toHaveLength(1);
    step(shell, `SNAPSHOT=${ids[0]}`);
    step(shell, RUNBOOK.empty);
    const restored = step(shell, RUNBOOK.restore);
    expect(restored.stderr).not.toMatch(/WARN|ERROR/);
    expect(describeTree(volumeDir('pgdata'), { owners: true })).toEqual(original);
    step(shell, RUNBOOK.start);
    expect([running('db'), running('db-backup')]).toEqual([true, true]);
    step(shell, RUNBOOK.removeEnvFile);
  });
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
    expectInRunbook(command);
    const result = run(`aws s3api list-object-versions --bucket replica-bucket --prefix db/ --query 'Versions[].Key' --output text | tr '\\t' '\\n' | grep -v '/locks/' | sort | uniq -d`);
    expect(RUNBOOK_TEXT).toContain(`| tr '\\t' '\\n' | grep -v '/locks/' | sort | uniq -d`);
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
    const start = RUNBOOK_TEXT.indexOf(BLOCK_START);
    const end = RUNBOOK_TEXT.indexOf(BLOCK_END, start);
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const block = RUNBOOK_TEXT.slice(start, end + BLOCK_END.length)
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
