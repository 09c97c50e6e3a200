/**
 * The default example (examples/postgres, stack db-host), deployed on a real Docker Engine:
 * the synthesized cdk.tf.json applied in the docker provider's call order (THE applier), with
 * stand-in images built from Debian's packages (test/support/engine/images.ts and
 * database-images.ts say which stands in for which official image):
 *
 * - restic/restic:0.17.3 -> busybox + Debian's restic 0.14 + jq, trusting the test CA;
 * - haproxy:3.0 (the Docker API proxy) -> Debian's HAProxy 2.6 + busybox;
 * - postgres:16 -> Debian's PostgreSQL 15 with an entrypoint after the official one;
 * - the S3 bucket and its offsite replica -> s3rver over TLS, answering for
 *   s3.eu-west-1.amazonaws.com / s3.eu-central-1.amazonaws.com on the sidecar's own egress
 *   network (Docker's embedded DNS), as the real endpoints would be reached; Cross-Region
 *   Replication is stood in for by copying the bucket's objects.
 *
 * What is asserted is what a user would see: the installer fills the read-only sidecar, a
 * cycle dumps Postgres through the proxy and backs up to the local disk and to S3, Docker's
 * own healthcheck turns healthy, the hardening is what `docker inspect` shows, the proxy
 * refuses what a compromised sidecar would try, open_by_handle_at is refused, and the
 * runbook's "Volume corrupted" commands, run as written with the docker CLI, bring the volume
 * back; the restored dump loads into a fresh Postgres with the same row counts.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { QuiesceMode } from '../../src/policy/quiesce';
import { defaultExample } from '../../examples/postgres/main';
import { ensureDatabaseImage } from '../support/engine/database-images';
import { DatabaseContainer, rowCountsOfDump, seedTables, waitForDatabase } from '../support/engine/databases';
import { AGENT, deployAroundTheFile, DeployedHost, EXAMPLE_REGIONS, FAKE_STORAGE, standInImages } from '../support/engine/deployed-host';
import { runProbeIn } from '../support/engine/probes/probe';
import { plantSetuidProbe, runAsUnprivileged, runReachableCopyAsUnprivileged, UNPRIVILEGED_UID } from '../support/engine/probes/setuid';
import { allowedRequests, answerBody, finalAnswer, forbiddenRequests, rawRequest } from '../support/proxy-requests';
import { RUNBOOK, runbookShell } from '../support/runbook';

const STORAGE = FAKE_STORAGE;
const DB: DatabaseContainer = { kind: 'postgres', container: 'db' };
const PG_DUMP = ['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'];

let host: DeployedHost;

deployAroundTheFile(async () => ({
  build: (app) => ({ ...defaultExample(app) }),
  hostStack: 'db-host',
  storageStack: 'backup-storage',
  storage: STORAGE,
  variables: { postgres_password: 'postgres-superuser-password' },
  images: await standInImages({ 'postgres:16': () => ensureDatabaseImage('postgres') }),
  s3: EXAMPLE_REGIONS,
}), async (deployed) => {
  host = deployed;
  await waitForDatabase(host.engine, DB);
});

function status(): any {
  return host.sidecar('db').status();
}

describe('the default example on a real Docker Engine', () => {
  let seeded: Record<string, number>;

  test('the installer filled the install volume and exited 0; its staged secrets are gone', () => {
    expect(host.deployment.exitCode('db-backup-install')).toBe(0);
    const staged = host.docker(['cp', 'db-backup-install:/backup/staging', '-'], { allowFail: true });
    expect(staged.status).not.toBe(0);
    expect(staged.stderr).toMatch(/Could not find the file|No such container:path/);
    // The repository on S3 was initialised at deploy time, by the installer.
    expect(fs.existsSync(path.join(host.s3!.primary.dataDir, STORAGE.bucket, 'db'))).toBe(true);
  });

  test('a cycle dumps Postgres through the proxy and backs up to the local disk and to S3', () => {
    seeded = seedTables(host.engine, DB);
    const run = host.sidecar('db').run(['run'], { allowFail: true });
    expect({ status: run.code, stderr: run.stderr.slice(-2000) }).toMatchObject({ status: 0 });
    const s = status();
    expect(s.state).toBe('ok');
    expect(s.targets.map((t: any) => [t.name, t.result])).toEqual([['local', 'ok'], ['s3', 'ok']]);
    expect(s.quiesce).toMatchObject({ mode: 'exec', result: 'ok' });
    // The agent found the dump the exec wrote, new by the kernel's mtime, and the volume not empty.
    expect(s.content).toMatchObject({
      result: 'ok',
      dump: { path: '/backup/sources/pgdata/dump.sql', container_path: '/var/lib/postgresql/data/dump.sql', result: 'ok' },
      sources: [{ path: '/backup/sources/pgdata', result: 'ok' }],
      problems: [],
    });
    expect(host.inspect('db').State.Running).toBe(true);
    // The dump the exec wrote is on the volume, owned by root as `docker exec` made it.
    expect(host.docker(['exec', 'db', 'head', '-c', '200', '/var/lib/postgresql/data/dump.sql']).stdout).toMatch(/PostgreSQL database cluster dump/);
  });

  test("Docker's own healthcheck turns healthy", async () => {
    const inspected = await host.waitForHealth('db-backup', 'healthy', 180000);
    expect(inspected.State.Health.Status).toBe('healthy');
  }, 200000);

  test('docker inspect shows the hardening: read-only root, one capability, no-new-privileges, seccomp, fixed hostname, two networks', () => {
    const c = host.inspect('db-backup');
    expect(c.HostConfig.ReadonlyRootfs).toBe(true);
    expect(c.HostConfig.CapDrop).toEqual(['ALL']);
    expect(c.HostConfig.CapAdd).toEqual(['DAC_READ_SEARCH']);
    expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
    expect(c.HostConfig.SecurityOpt.find((o: string) => o.startsWith('seccomp='))).toBeDefined();
    expect(c.Config.Hostname).toBe('db-backup');
    expect(Object.keys(c.NetworkSettings.Networks).sort()).toEqual(['db-backup-docker-api', 'db-host-backup-egress']);
    const mounts = Object.fromEntries(c.Mounts.map((m: any) => [m.Destination, m.RW]));
    expect(mounts).toMatchObject({ '/backup/install': false, '/backup/sources/pgdata': false, '/backup/agent': true });
    const status = host.docker(['exec', 'db-backup', 'cat', '/proc/1/status']).stdout;
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    // Effective capabilities: DAC_READ_SEARCH (bit 2) only.
    expect(status).toMatch(/^CapEff:\s+0000000000000004$/m);
    // The proxy: on the internal network alone, no capabilities, read-only root.
    const proxy = host.inspect('db-backup-docker-api');
    expect(Object.keys(proxy.NetworkSettings.Networks)).toEqual(['db-backup-docker-api']);
    expect(proxy.HostConfig.ReadonlyRootfs).toBe(true);
    expect(proxy.HostConfig.CapDrop).toEqual(['ALL']);
    const network = JSON.parse(host.docker(['network', 'inspect', 'db-backup-docker-api']).stdout)[0];
    expect(network.Internal).toBe(true);
    expect(Object.values<any>(network.Containers).map((x) => x.Name).sort()).toEqual(['db-backup', 'db-backup-docker-api']);
  });

  test('secrets are files of mode 0400 on the read-only install volume', () => {
    const listing = host.docker(['exec', 'db-backup', 'sh', '-c', "stat -c '%a %u %n' /backup/install/secrets/*"]).stdout.trim().split('\n');
    expect(listing.length).toBeGreaterThanOrEqual(3);
    for (const line of listing) {
      expect(line).toMatch(/^400 0 \/backup\/install\/secrets\//);
    }
    const write = host.docker(['exec', 'db-backup', 'sh', '-c', 'echo x > /backup/install/bin/backup-agent'], { allowFail: true });
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  test('open_by_handle_at ("shocker") is refused in the sidecar, which still read the 0700 folder of uid 999', () => {
    const probe = runProbeIn(host.engine, 'db-backup');
    expect(probe.outcome).toBe('EPERM');
    const pgdata = host.docker(['exec', 'db', 'stat', '-c', '%a %u', '/var/lib/postgresql/data']).stdout.trim();
    expect(pgdata).toBe('700 999');
    expect(status().targets.every((t: any) => t.result === 'ok')).toBe(true);
  });

  test('a setuid-root program that a compromised sidecar writes in its local target gives an unprivileged host user nothing', () => {
    // GIVEN the backup disk as a host has it: any user may traverse /mnt/backup-disk
    fs.chmodSync(host.backupDisk, 0o755);
    // WHEN the sidecar (uid 0) writes a program into its repository and marks it setuid
    const planted = plantSetuidProbe(host.docker, 'db-backup', '/backup/targets/local');
    // THEN on the host it is a setuid-root program, under the folder the installer keeps 0700
    const onHost = path.join(host.backupDisk, 'db', 'repository', path.basename(planted));
    const stat = fs.statSync(onHost);
    expect({ setuid: (stat.mode & 0o4000) !== 0, uid: stat.uid }).toEqual({ setuid: true, uid: 0 });
    const folder = fs.statSync(path.join(host.backupDisk, 'db'));
    expect({ mode: (folder.mode & 0o7777).toString(8), uid: folder.uid }).toEqual({ mode: '700', uid: 0 });
    // AND user 65534 cannot even reach it, while a reachable copy would have run as root
    const run = runAsUnprivileged(onHost);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/Permission denied/);
    expect(runReachableCopyAsUnprivileged(onHost).output).toBe(`uid=${UNPRIVILEGED_UID} euid=0`);
    fs.rmSync(onHost);
  });

  test('the Docker API proxy refuses what a compromised sidecar would try, from inside the sidecar', () => {
    const before = host.docker(['ps', '-aq']).stdout.trim().split('\n').sort();
    const ctx = { container: 'db', other: 'db-backup-docker-api', execCommand: PG_DUMP };
    const forbidden = forbiddenRequests(QuiesceMode.EXEC, ctx);
    expect(forbidden.length).toBeGreaterThanOrEqual(20);
    for (const request of forbidden) {
      const answer = sendFromSidecar(rawRequest(request));
      expect({ request: request.name, status: answer.status, refused: (request.refusedWith ?? [403]).includes(answer.status) }).toEqual({
        request: request.name,
        status: answer.status,
        refused: true,
      });
      if (answer.status === 403) {
        expect(answerBody(answer.raw)).toMatch(/Request forbidden by administrative rules/);
      }
    }
    // Nothing happened: no container made or removed, both still running.
    expect(host.docker(['ps', '-aq']).stdout.trim().split('\n').sort()).toEqual(before);
    expect(host.inspect('db').State.Running).toBe(true);
    // And the calls of exec mode pass (the cycle above used them too).
    for (const request of allowedRequests(QuiesceMode.EXEC, ctx).filter((r) => !r.target.includes('EXEC_ID'))) {
      const answer = sendFromSidecar(rawRequest(request));
      expect({ request: request.name, passed: [200, 201].includes(answer.status) }).toEqual({ request: request.name, passed: true });
    }
  });

  describe('faults in the middle of a cycle: the next cycle succeeds, no snapshot is lost, the database keeps running', () => {
    beforeAll(() => {
      // Enough new data that a backup runs for a few seconds.
      host.docker(['exec', 'db', 'sh', '-c', 'head -c 157286400 /dev/urandom > /var/lib/postgresql/data/ballast.bin']);
    }, 120000);

    test('docker restart of the sidecar', () => {
      const before = snapshotIds();
      host.docker(['restart', 'db-backup']);
      expectCleanCycle(before);
    }, 300000);

    test('docker rm -f and re-apply of the sidecar in the middle of a backup: its own stale locks are removed at once', async () => {
      const before = snapshotIds();
      const cycle = startCycle();
      await waitForRestic('backup');
      await host.deployment.reapply('db-backup');
      await cycle;
      // Same hostname, so restic knows the dead process's locks for stale ones: the next
      // cycle's forget and check (exclusive locks) run now, not 30 minutes later.
      expect(host.inspect('db-backup').Config.Hostname).toBe('db-backup');
      expectCleanCycle(before);
    }, 300000);

    test('kill -9 of the agent and its restic in the middle of a backup', async () => {
      const before = snapshotIds();
      const cycle = startCycle();
      await waitForRestic('backup');
      host.docker(['exec', 'db-backup', 'sh', '-c', 'pkill -9 -f "backup-agent run"; pkill -9 restic; true']);
      await cycle;
      expectCleanCycle(before);
    }, 300000);

    afterAll(() => {
      host.docker(['exec', 'db', 'rm', '-f', '/var/lib/postgresql/data/ballast.bin'], { allowFail: true });
      // A cycle without the ballast, so the runbook below restores a snapshot of the seeded data;
      // with the weekly drill due, so that it records the manifest the runbook's step 7 checks.
      host.sidecar('db').markDue('drill');
      // (replicated offsite meanwhile: the drill checks the replica too)
      host.replicate('db');
      host.sidecar('db').run(['run']);
    }, 300000);
  });

  test('docs/restore.md "Was history forged?", run as written: a snapshot the sidecar wrote dated 30 days back is flagged, the genuine ones are not', () => {
    // GIVEN a snapshot of other data written from inside the sidecar, with its own password,
    // dated 30 days back, its file's mtime set back too (the kernel keeps the ctime)
    const genuine = snapshotIds().local.map((x) => x.id.slice(0, 8));
    const when = new Date(Date.now() - 30 * 86400 * 1000).toISOString().replace('T', ' ').slice(0, 19);
    const { passwordFile, repository } = host.sidecar('db').plan.targets[0];
    host.docker(['exec', 'db-backup', 'sh', '-c', [
      'set -e',
      'mkdir -p /tmp/evil && echo "the attacker\'s data" > /tmp/evil/file',
      `ls ${repository}/snapshots > /tmp/before`,
      `restic -r ${repository} --password-file ${passwordFile} --no-cache backup --host db --tag cdktf-container-backup --tag db --time '${when}' /tmp/evil`,
      `cd ${repository}/snapshots && for f in *; do grep -qx "$f" /tmp/before || touch -d '${when}' "$f"; done`,
    ].join('\n')]);
    const forged = snapshotIds().local.map((x) => x.id.slice(0, 8)).filter((id) => !genuine.includes(id));
    expect(forged).toHaveLength(1);
    // WHEN the runbook's audit of the disk target runs
    const shell = runbookShell(host);
    shell.run(RUNBOOK.image);
    shell.run(RUNBOOK.envFile);
    shell.run('TARGET=local');
    const audit = shell.run(RUNBOOK.audit, { allowFail: true });
    shell.cleanup();
    // THEN it exits 1, flags the forged snapshot and no other
    expect(audit.status).toBe(1);
    const flagged = audit.stdout.split('\n').filter((l) => / BACKDATED /.test(l)).map((l) => l.slice(0, 8));
    expect(flagged).toEqual(forged);
    expect(audit.stdout.split('\n').filter((l) => /  ok$/.test(l))).toHaveLength(genuine.length);
    // (gone again, for the tests after this one)
    host.docker(['exec', 'db-backup', 'restic', '-r', repository, '--password-file', passwordFile, '--no-cache', 'forget', forged[0]]);
  });

  test('docs/restore.md "Volume corrupted", run as written: the volume comes back, and the dump loads with the same row counts', async () => {
    const last: string = status().targets.find((t: any) => t.name === 'local').snapshot_id;
    // Damage: a table dropped and a file of the data folder destroyed.
    host.docker(['exec', 'db', 'psql', '-U', 'postgres', '-c', 'DROP TABLE orders']);
    const shell = runbookShell(host);
    shell.run(RUNBOOK.stop);
    shell.run(RUNBOOK.image);
    shell.run(RUNBOOK.envFile);
    shell.run('TARGET=local');
    const listed = shell.run(RUNBOOK.list);
    expect(listed.stdout).toContain(last.slice(0, 8));
    shell.run(`SNAPSHOT=${last.slice(0, 8)}`);
    shell.run(RUNBOOK.createAside);
    shell.run(RUNBOOK.keepAside);
    shell.run(RUNBOOK.empty);
    const restored = shell.run(RUNBOOK.restore);
    expect(restored.stderr).not.toMatch(/WARN.*owner/);
    const checked = shell.run(RUNBOOK.checkManifest);
    const lines = checked.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.filter((l) => !/: OK$/.test(l))).toEqual([]);
    shell.run(RUNBOOK.start);
    const pgdata = host.docker(['exec', 'db', 'stat', '-c', '%a %u', '/var/lib/postgresql/data']).stdout.trim();
    expect(pgdata).toBe('700 999');
    shell.cleanup();

    // The restored dump, loaded into a fresh PostgreSQL, has the rows the backup had.
    expect(await rowCountsOfDump(host.engine, { kind: 'postgres', image: host.inspect('db').Config.Image, volume: 'pgdata' })).toEqual(seeded);
  }, 300000);
});

/** The snapshots per target, as the agent lists them: id and time. */
function snapshotIds(): Record<string, Array<{ id: string; time: string }>> {
  const ids: Record<string, Array<{ id: string; time: string }>> = {};
  for (const target of ['local', 's3']) {
    const out = host.sidecar('db').run(['snapshots', '--target', target, '--', '--json']).stdout;
    ids[target] = JSON.parse(out.slice(out.indexOf('['))).map((x: any) => ({ id: x.id, time: x.time }));
  }
  return ids;
}

/** A `backup-agent run` in the sidecar, in the background; settles with its exit status. */
function startCycle(): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('docker', ['-H', host.engine.dockerHost, 'exec', 'db-backup', '/bin/sh', AGENT, 'run'], { stdio: 'ignore' });
    child.on('close', (code) => resolve(code));
  });
}

/** Waits until a `restic COMMAND` runs in the sidecar. */
async function waitForRestic(command: string): Promise<void> {
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    const ps = host.docker(['exec', 'db-backup', 'ps', '-o', 'args'], { allowFail: true }).stdout;
    if (ps.split('\n').some((l) => /restic/.test(l) && l.includes(` ${command} `))) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no restic ${command} started in db-backup`);
}

/**
 * Nothing was lost to the fault: on every target, the newest snapshot from before it is still
 * listed, or a newer one that the interrupted cycle completed (whose retention may then have
 * forgotten the older one of the same day, as the example's GFS policy keeps one a day). Then
 * the next cycle is complete: every target ok, retention and a due check included, the new
 * snapshot listed.
 */
function expectCleanCycle(before: Record<string, Array<{ id: string; time: string }>>): void {
  const afterFault = snapshotIds();
  for (const target of Object.keys(before)) {
    const newest = before[target].map((x) => x.time).sort().pop()!;
    const kept = afterFault[target].some((x) => x.time >= newest);
    expect({ target, kept, before: before[target], afterFault: afterFault[target] }).toEqual({ target, kept: true, before: before[target], afterFault: afterFault[target] });
  }
  host.sidecar('db').markDue('check');
  const run = host.sidecar('db').run(['run'], { allowFail: true });
  expect({ status: run.code, stderr: run.stderr.slice(-1500) }).toMatchObject({ status: 0 });
  const s = status();
  expect(s.state).toBe('ok');
  expect(s.targets.map((t: any) => [t.name, t.result])).toEqual([['local', 'ok'], ['s3', 'ok']]);
  expect(s.targets.map((t: any) => [t.name, t.retention.result])).toEqual([['local', 'ok'], ['s3', 'ok']]);
  expect(s.verification.targets.map((t: any) => [t.name, t.result, t.epoch >= s.last_success_epoch - 60])).toEqual([
    ['local', 'ok', true],
    ['s3', 'ok', true],
  ]);
  const after = snapshotIds();
  for (const t of s.targets) {
    expect({ target: t.name, listed: after[t.name].some((x) => x.id.startsWith(t.snapshot_id)) }).toEqual({ target: t.name, listed: true });
  }
  expect(host.inspect('db').State.Running).toBe(true);
  expect(host.inspect('db-backup').State.Running).toBe(true);
}

/** Sends raw request bytes to the proxy from inside the sidecar (busybox nc), as a compromised agent would. */
function sendFromSidecar(bytes: Buffer): { status: number; raw: string } {
  const r = host.docker(['exec', '-i', 'db-backup', 'nc', '-w', '5', 'db-backup-docker-api', '2375'], { input: bytes, allowFail: true });
  // (the final answer: HAProxy answers `Expect: 100-continue` with a 100 first)
  return finalAnswer(r.stdout);
}
