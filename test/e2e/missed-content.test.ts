/**
 * Issue 22's acceptance on a real Docker Engine: a cycle that backed up nothing it was told to
 * fails. One deployment of a variant of the default example (examples/postgres, stack db-host,
 * its synthesized output applied by THE applier, as deployed-postgres.test.ts does for the
 * unchanged example, which stays green there): its dump command exits 0 and writes nothing
 * (`Quiesce.exec(['true'], { output: '/var/lib/postgresql/data/dump.sql' })`, the example's
 * `quiesce` option), and beside Postgres a second protected container, `spare`, whose volume
 * holds no file (what a mistyped volume name gives: Docker creates a new, empty volume).
 * Each cycle ends failed, with the reason and the fix in status.json, and `backup-agent health`
 * is unhealthy and says why. The checks run before any backup, so no cycle here calls restic.
 *
 * Stand-ins as in deployed-postgres.test.ts (restic, HAProxy, PostgreSQL, S3), and busybox:1.36
 * (the `spare` application, a shell that sleeps) -> Debian's busybox.
 */
import { BackupSuppressions, Medium, ProtectedContainer, Quiesce, StorageTarget } from '../../src';
import { defaultExample } from '../../examples/postgres/main';
import { ensureDatabaseImage } from '../support/engine/database-images';
import { waitForDatabase } from '../support/engine/databases';
import { deployAroundTheFile, DeployedHost, EXAMPLE_REGIONS, FAKE_STORAGE, standInImages } from '../support/engine/deployed-host';
import { ensureImage } from '../support/engine/images';

const DUMP = '/var/lib/postgresql/data/dump.sql';
const SPARE_IMAGE = 'busybox:1.36';
const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ';

let host: DeployedHost;

deployAroundTheFile(
  async () => ({
    build: (app) => {
      // GIVEN the default example whose dump command exits 0 without writing its dump
      const example = defaultExample(app, { quiesce: Quiesce.exec(['true'], { output: DUMP }) });
      // AND a container whose volume has no file in it, backed up to the local disk
      const spare = new ProtectedContainer(example.host, 'spare', {
        image: SPARE_IMAGE,
        // Exits at once on docker stop's SIGTERM (sh as pid 1 ignores it otherwise).
        command: ['/bin/sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1 & wait $!; done'],
        volumes: [{ name: 'spare-data', containerPath: '/data' }],
        backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/spare', medium: Medium.DISK })] },
      });
      const reason = 'a test of the empty-volume check: one local backup copy is enough';
      BackupSuppressions.addToConstruct(spare, ['ThreeCopies', 'TwoMedia', 'OneOffsite', 'OneImmutableOrOffline'].map((ruleId) => ({ ruleId, reason })));
      return { ...example };
    },
    hostStack: 'db-host',
    storageStack: 'backup-storage',
    storage: FAKE_STORAGE,
    variables: { postgres_password: 'postgres-superuser-password', restic_password: 'the spare repository password' },
    images: await standInImages({ 'postgres:16': () => ensureDatabaseImage('postgres'), [SPARE_IMAGE]: () => ensureImage('busybox') }),
    s3: EXAMPLE_REGIONS,
  }),
  async (deployed) => {
    host = deployed;
    await waitForDatabase(host.engine, { kind: 'postgres', container: 'db' });
  },
);

/** `backup-agent health` in the sidecar of `name`, as Docker's healthcheck runs it. */
function health(name: string): { code: number | null; line: string } {
  const r = host.sidecar(name).run(['health'], { allowFail: true });
  return { code: r.code, line: r.stdout };
}

describe("a variant of the default example whose cycles miss what they were told to back up, on a real Docker Engine", () => {
  test('the plan declares the dump where the sidecar reads it, and no source may be empty', () => {
    expect(host.sidecar('db').plan.quiesce).toMatchObject({ mode: 'exec', command: ['true'], output: { path: '/backup/sources/pgdata/dump.sql', containerPath: DUMP } });
    expect(host.sidecar('db').plan.sourcesAllowedEmpty).toEqual([]);
    expect(host.sidecar('spare').plan.sourcesAllowedEmpty).toEqual([]);
  });

  test('a dump command that exits 0 and writes nothing: the cycle fails, status.json says why and how to fix it, health is unhealthy', () => {
    // WHEN a cycle runs (the exec goes through the deployed proxy; no dump on the fresh volume)
    expect(host.docker(['exec', 'db', 'ls', '/var/lib/postgresql/data']).stdout).not.toMatch(/^dump\.sql$/m);
    const run = host.sidecar('db').run(['run'], { allowFail: true });
    // THEN
    expect({ code: run.code, stderr: run.stderr.slice(-3000) }).toMatchObject({ code: 1 });
    const error = `the command exited 0 but wrote nothing to ${DUMP}: there is no such file (/backup/sources/pgdata/dump.sql in the sidecar)`;
    expect(run.stderr).toContain(`ERROR step=quiesce exec in container db: ${error}; fix: check the command`);
    const s = host.sidecar('db').status();
    expect(s.state).toBe('failed');
    expect(s.quiesce).toMatchObject({ mode: 'exec', result: 'failed', error: expect.stringContaining(error) });
    expect(s.targets.map((t: any) => [t.name, t.result, t.snapshot_id])).toEqual([
      ['local', 'failed', null],
      ['s3', 'failed', null],
    ]);
    expect(s.content).toMatchObject({
      result: 'failed',
      dump: { path: '/backup/sources/pgdata/dump.sql', container_path: DUMP, result: 'missing' },
      problems: [{ kind: 'dump-missing', path: '/backup/sources/pgdata/dump.sql', error, fix: expect.stringContaining(`it must write ${DUMP}`) }],
    });
    const h = health('db');
    expect(h.code).toBe(1);
    expect(h.line).toMatch(new RegExp(`^unhealthy: no successful backup cycle yet; last cycle failed \\(incomplete: local,s3\\); the cycle at ${ISO} missed what it was told to back up: the command exited 0 but wrote nothing to ${DUMP}: .*; fix: check the command`));
  });

  test('a dump left there earlier, which the command does not write again: stale by the kernel\'s own mtime, the cycle fails and says so', async () => {
    // GIVEN a dump written in the container by hand (as an earlier cycle would have), older
    // than the agent's 2 s of slack
    host.docker(['exec', 'db', 'pg_dumpall', '-U', 'postgres', '-f', DUMP]);
    const written = Number(host.docker(['exec', 'db', 'stat', '-c', '%Y', DUMP]).stdout.trim());
    await new Promise((r) => setTimeout(r, 3500));
    // WHEN a cycle runs
    const run = host.sidecar('db').run(['run'], { allowFail: true });
    // THEN
    expect(run.code).toBe(1);
    const writtenAt = new Date(written * 1000).toISOString().replace('.000Z', 'Z');
    const s = host.sidecar('db').status();
    expect(s.content).toMatchObject({
      result: 'failed',
      dump: { result: 'stale', modified_at: writtenAt, size: expect.any(Number) },
      problems: [
        {
          kind: 'dump-stale',
          error: expect.stringMatching(new RegExp(`^the command exited 0 but did not write ${DUMP}: it was last written at ${writtenAt}, before the command began at ${ISO} \\(a dump of an earlier cycle\\)$`)),
        },
      ],
    });
    expect(s.content.dump.size).toBeGreaterThan(0);
    const h = health('db');
    expect(h.code).toBe(1);
    expect(h.line).toContain(`missed what it was told to back up: the command exited 0 but did not write ${DUMP}: it was last written at ${writtenAt}`);
  });

  test('a sidecar whose source volume is empty: the cycle fails before anything is backed up, status.json says why and how to fix it, health is unhealthy', () => {
    // GIVEN spare's volume, empty as Docker made it
    expect(host.docker(['exec', 'spare', 'ls', '-A', '/data']).stdout).toBe('');
    // WHEN a cycle runs
    const run = host.sidecar('spare').run(['run'], { allowFail: true });
    // THEN
    expect({ code: run.code, stderr: run.stderr.slice(-3000) }).toMatchObject({ code: 1 });
    const error = 'source /backup/sources/spare-data (volume spare-data) is empty: no file in it';
    expect(run.stderr).toContain(`ERROR step=sources ${error}; nothing is backed up or forgotten in this cycle; fix: `);
    expect(run.stderr).not.toMatch(/step=backup /);
    const s = host.sidecar('spare').status();
    expect(s.state).toBe('failed');
    expect(s.targets).toEqual([expect.objectContaining({ name: 'local', result: 'failed', snapshot_id: null, error: expect.stringContaining(`not attempted: ${error}`) })]);
    expect(s.content).toMatchObject({
      result: 'failed',
      dump: null,
      sources: [{ path: '/backup/sources/spare-data', result: 'empty' }],
      problems: [{ kind: 'source-empty', path: '/backup/sources/spare-data', error, fix: expect.stringContaining('allowEmpty: true') }],
    });
    const h = health('spare');
    expect(h.code).toBe(1);
    expect(h.line).toMatch(new RegExp(`^unhealthy: no successful backup cycle yet; last cycle failed \\(incomplete: local\\); the cycle at ${ISO} missed what it was told to back up: ${error.replace(/[()]/g, '\\$&')}; fix: check that volume spare-data is the one the application writes`));
  });
});
