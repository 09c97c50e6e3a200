/**
 * A cycle that backed up nothing it was told to fails (issue 22), from the sidecar as
 * synthesized. The dump a Quiesce.exec declares (the plan's quiesce.output) must be there,
 * non-empty and written since the command began, or the quiesce step fails (onError abort: no
 * backup, no retention; continue: backed up crash-consistent, reported); a source with no file
 * fails the cycle before anything is backed up or forgotten, unless it is declared
 * `allowEmpty`. Either way status.json's `content` record, `backup-agent health` (red at once,
 * however fresh the last success) and the failure webhook say what was expected, what was
 * found, and the fix.
 *
 * The exec runs against the fake Docker API (test/support/servers/fake-docker-api.ts), whose
 * `execEffect` does what the command would do in the container: write the dump into the host
 * folder behind the volume, or write nothing, or an empty file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Quiesce, QuiesceFailure, Retention } from '../../src';
import { snapshotsOf } from '../support/restic';
import { FakeDockerApi } from '../support/servers/fake-docker-api';
import { Hook, webhook } from '../support/servers/webhook';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';

/** pg_dumpall writing into the volume mounted at /data/appdata: synth reads the output from `-f`. */
const DUMP = ['pg_dumpall', '-U', 'postgres', '-f', '/data/appdata/dump.sql'];
const DUMP_IN_SIDECAR = '/backup/sources/appdata/dump.sql';
const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ';
const DUMP_TEXT = '-- PostgreSQL database cluster dump\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The plan's Docker API: the fake's URL instead of the socket proxy's. */
const fakeApi = (api: FakeDockerApi) => ({ quiesce: { dockerApi: api.url } });

function health(sidecar: SynthesizedSidecar) {
  return sidecar.run({ healthcheck: true });
}

/** The one report the webhook got, parsed. */
function report(hook: Hook): any {
  expect(hook.requests).toHaveLength(1);
  return JSON.parse(hook.requests[0].body);
}

/** The dump's fix, as the agent words it (this cycle's log folder varies). */
const DUMP_FIX = new RegExp(
  '^check the command, its output path \\(it must write /data/appdata/dump\\.sql, quiesce\\.output\\) and the database credentials it uses; ' +
    'run it by hand with docker exec db and read what it prints \\(this cycle\'s: /backup/agent/logs/run-[^/]+/docker-exec-start\\.out\\)$',
);

describe('the dump a Quiesce.exec declares', () => {
  let api: FakeDockerApi;
  let hook: Hook;
  let abort: SynthesizedSidecar;
  let cont: SynthesizedSidecar;

  /** What the command writes into `sidecar`'s volume: the dump, an empty file, or nothing. */
  const command = (sidecar: SynthesizedSidecar, writes: 'a dump' | 'an empty file' | 'nothing') => {
    api.execEffect = () => {
      if (writes !== 'nothing') {
        fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'dump.sql'), writes === 'a dump' ? DUMP_TEXT : '');
      }
    };
  };
  const dumpOn = (sidecar: SynthesizedSidecar) => path.join(sidecar.sourceDirs.appdata, 'dump.sql');

  beforeAll(async () => {
    api = await FakeDockerApi.start(['db']);
    hook = await webhook();
    const notifyUrl = `https://127.0.0.1:${hook.port}/hook`;
    // GIVEN two sidecars whose exec quiesce declares its dump (read from pg_dumpall's -f), one
    // with onError abort (the default), one with continue, each with a failure webhook
    abort = synthesizedSidecar({ backup: { quiesce: Quiesce.exec(DUMP, { timeoutSeconds: 5 }), retention: Retention.keepLast(1) }, notifyUrl, plan: fakeApi(api) });
    cont = synthesizedSidecar({
      backup: { quiesce: Quiesce.exec(DUMP, { timeoutSeconds: 5, onError: QuiesceFailure.CONTINUE }) },
      notifyUrl,
      plan: fakeApi(api),
    });
    for (const s of [abort, cont]) {
      fs.writeFileSync(path.join(s.sourceDirs.appdata, 'table.dat'), 'rows\n'.repeat(1000));
    }
  });

  afterAll(async () => {
    await api.close();
    await hook.close();
    abort?.cleanup();
    cont?.cleanup();
  });

  beforeEach(() => {
    api.calls.splice(0);
    hook.requests.splice(0);
  });

  test('the plan carries the output as the sidecar reads it and as the command writes it', () => {
    expect(abort.plan.quiesce.output).toEqual({ path: DUMP_IN_SIDECAR, containerPath: '/data/appdata/dump.sql' });
    expect(abort.plan.sourcesAllowedEmpty).toEqual([]);
  });

  test('a dump the command wrote: the cycle is ok, and status.json says what was checked', async () => {
    // GIVEN a command that writes its dump
    command(abort, 'a dump');
    // WHEN
    const r = await abort.run(['run']);
    // THEN
    expect(r.code).toBe(0);
    expect(api.summary()).toEqual(['exec-create 201', 'exec-start 200', 'exec-inspect 200']);
    expect(hook.requests).toEqual([]);
    const status = abort.status();
    expect(status.state).toBe('ok');
    expect(status.content).toEqual({
      result: 'ok',
      at: expect.stringMatching(new RegExp(`^${ISO}$`)),
      epoch: expect.any(Number),
      dump: {
        path: DUMP_IN_SIDECAR,
        container_path: '/data/appdata/dump.sql',
        result: 'ok',
        size: DUMP_TEXT.length,
        modified_at: new Date(Math.floor(fs.statSync(dumpOn(abort)).mtimeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      },
      sources: [{ path: '/backup/sources/appdata', result: 'ok' }],
      problems: [],
    });
    expect((await health(abort)).code).toBe(0);
  });

  test.each(['busybox', 'dash'] as const)(
    'under %s, a command that exits 0 and writes nothing: no backup, no retention, the cycle fails and says what was expected, found and the fix; health red at once; the webhook says why',
    async (shell) => {
      // GIVEN no dump on the volume (a first cycle), and a command that exits 0 without writing one
      fs.rmSync(dumpOn(abort), { force: true });
      command(abort, 'nothing');
      const before = snapshotsOf(abort.targetDirs.local).map((s) => s.id);
      // WHEN
      const r = await abort.run(['run'], { shell });
      // THEN the quiesce step failed with what was expected, what was found and the fix
      expect(r.code).toBe(1);
      const error = 'the command exited 0 but wrote nothing to /data/appdata/dump.sql: there is no such file (/backup/sources/appdata/dump.sql in the sidecar)';
      expect(r.stderr).toContain(`ERROR step=quiesce exec in container db: ${error}; fix: check the command`);
      // AND nothing was backed up or forgotten
      expect(snapshotsOf(abort.targetDirs.local).map((s) => s.id)).toEqual(before);
      expect(r.stderr).not.toMatch(/step=(backup|retention) /);
      const status = abort.status();
      expect(status.state).toBe('failed');
      expect(status.quiesce).toMatchObject({ mode: 'exec', result: 'failed', consistency: null, error: expect.stringContaining(`exec in container db: ${error}; fix: `) });
      expect(status.targets[0]).toMatchObject({ result: 'failed', error: expect.stringContaining(`not attempted: quiesce failed (quiesce.onError=abort): exec in container db: ${error}`) });
      expect(status.targets[0].retention).toBeUndefined();
      expect(status.content).toMatchObject({
        result: 'failed',
        dump: { path: DUMP_IN_SIDECAR, result: 'missing', size: null, modified_at: null },
        sources: [{ path: '/backup/sources/appdata', result: 'unchecked' }],
        problems: [{ kind: 'dump-missing', path: DUMP_IN_SIDECAR, error, fix: expect.stringMatching(DUMP_FIX) }],
      });
      // AND health is red at once, though the last success (the test before) is fresh, and says why
      const h = await health(abort);
      expect(h.code).toBe(1);
      expect(h.stdout).toMatch(
        new RegExp(`^unhealthy: the cycle at ${ISO} missed what it was told to back up: ${literal(error)}; fix: check the command, .*; last successful backup \\d+s ago at ${ISO}; last cycle failed \\(incomplete: local\\)\\n$`),
      );
      // AND the webhook got the reason
      expect(report(hook)).toMatchObject({
        state: 'failed',
        quiesce: { result: 'failed', error: expect.stringContaining(error) },
        content: { result: 'failed', problems: [{ kind: 'dump-missing', path: DUMP_IN_SIDECAR, error, fix: expect.stringMatching(DUMP_FIX) }] },
      });
    },
  );

  test('a command that writes an empty file: the cycle fails, and says the file is empty', async () => {
    command(abort, 'an empty file');
    const before = snapshotsOf(abort.targetDirs.local).length;
    const r = await abort.run(['run']);
    expect(r.code).toBe(1);
    expect(snapshotsOf(abort.targetDirs.local)).toHaveLength(before);
    const error = 'the command exited 0 but wrote nothing to /data/appdata/dump.sql: the file is empty (0 bytes)';
    expect(abort.status().content).toMatchObject({ result: 'failed', dump: { result: 'empty', size: 0 }, problems: [{ kind: 'dump-empty', error }] });
    expect((await health(abort)).stdout).toContain(`missed what it was told to back up: ${error}; fix: `);
    expect(report(hook).content.problems).toEqual([expect.objectContaining({ kind: 'dump-empty', error })]);
  });

  test('a dump left by an earlier cycle, which the command did not write again: the cycle fails, the snapshots are all kept; a good cycle turns health green again', async () => {
    // GIVEN an earlier cycle that wrote its dump and backed it up
    command(abort, 'a dump');
    expect((await abort.run(['run'])).code).toBe(0);
    const before = snapshotsOf(abort.targetDirs.local).map((s) => s.id);
    const written = fs.statSync(dumpOn(abort)).mtimeMs;
    // (older than the agent's 2 s of slack for the clock's rounding)
    await sleep(Math.max(0, written + 3500 - Date.now()));
    // WHEN the next cycle's command exits 0 without writing it
    command(abort, 'nothing');
    hook.requests.splice(0);
    const r = await abort.run(['run']);
    // THEN
    expect(r.code).toBe(1);
    expect(snapshotsOf(abort.targetDirs.local).map((s) => s.id)).toEqual(before);
    const writtenAt = new Date(Math.floor(written / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const error = new RegExp(
      `^the command exited 0 but did not write /data/appdata/dump\\.sql: it was last written at ${writtenAt}, before the command began at ${ISO} \\(a dump of an earlier cycle\\)$`,
    );
    const status = abort.status();
    expect(status.content).toMatchObject({ result: 'failed', dump: { result: 'stale', modified_at: writtenAt }, problems: [{ kind: 'dump-stale', error: expect.stringMatching(error) }] });
    expect(status.quiesce.error).toContain('did not write /data/appdata/dump.sql');
    const red = await health(abort);
    expect(red.code).toBe(1);
    expect(red.stdout).toMatch(/^unhealthy: the cycle at \S+ missed what it was told to back up: the command exited 0 but did not write/);
    expect(report(hook).content.problems[0]).toMatchObject({ kind: 'dump-stale', error: expect.stringMatching(error) });
    // WHEN the command writes its dump again
    command(abort, 'a dump');
    expect((await abort.run(['run'])).code).toBe(0);
    // THEN health is green again
    expect(abort.status().content).toMatchObject({ result: 'ok', problems: [] });
    const green = await health(abort);
    expect(green.code).toBe(0);
    expect(green.stdout).toMatch(/^healthy: /);
  });

  test('with onError continue, a command that writes nothing: backed up crash-consistent, exit 0, but reported: status, health red at once, webhook', async () => {
    // GIVEN no dump, and a command that writes none
    command(cont, 'nothing');
    // WHEN
    const r = await cont.run(['run']);
    // THEN the backup was made crash-consistent, the cycle exits 0
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARN step=quiesce backing up crash-consistent \(quiesce.onError=continue\)/);
    expect(snapshotsOf(cont.targetDirs.local)).toHaveLength(1);
    const status = cont.status();
    expect(status.state).toBe('ok');
    expect(status.quiesce).toMatchObject({ result: 'failed', consistency: 'crash', on_error: 'continue' });
    const error = 'the command exited 0 but wrote nothing to /data/appdata/dump.sql: there is no such file (/backup/sources/appdata/dump.sql in the sidecar)';
    expect(status.content).toMatchObject({
      result: 'failed',
      sources: [{ path: '/backup/sources/appdata', result: 'ok' }],
      problems: [{ kind: 'dump-missing', error }],
    });
    // AND health is red at once, though this very cycle is the last success: the missing dump
    // will not come back by itself
    const h = await health(cont);
    expect(h.code).toBe(1);
    expect(h.stdout).toMatch(new RegExp(`^unhealthy: the cycle at ${ISO} missed what it was told to back up: ${literal(error)}; fix: .*; last successful backup \\d+s ago at ${ISO}; last cycle ok\\n$`));
    expect(report(hook)).toMatchObject({ state: 'ok', failed_targets: [], content: { result: 'failed', problems: [{ kind: 'dump-missing', error }] } });
    // AND a cycle whose command writes its dump turns it green again
    command(cont, 'a dump');
    expect((await cont.run(['run'])).code).toBe(0);
    expect((await health(cont)).code).toBe(0);
  });
});

describe('a dump folder (mongodump --out)', () => {
  let api: FakeDockerApi;
  let sidecar: SynthesizedSidecar;

  beforeAll(async () => {
    api = await FakeDockerApi.start(['db']);
    // GIVEN an exec whose output is a folder (read from mongodump's --out)
    sidecar = synthesizedSidecar({ backup: { quiesce: Quiesce.exec(['mongodump', '--out', '/data/appdata/dump'], { timeoutSeconds: 5 }) }, plan: fakeApi(api) });
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'collection.wt'), 'data\n');
  });

  afterAll(async () => {
    await api.close();
    sidecar?.cleanup();
  });

  /** The command writes these files (relative to the dump folder), and nothing else. */
  const writes = (files: Record<string, string>) => {
    api.execEffect = () => {
      for (const [file, content] of Object.entries(files)) {
        const full = path.join(sidecar.sourceDirs.appdata, 'dump', file);
        fs.mkdirSync(path.dirname(full), { recursive: true });
        fs.writeFileSync(full, content);
      }
    };
  };

  test('with no file of more than 0 bytes in it, the cycle fails; with one, it passes', async () => {
    expect(sidecar.plan.quiesce.output).toEqual({ path: '/backup/sources/appdata/dump', containerPath: '/data/appdata/dump' });
    // WHEN the command leaves only an empty file in the folder
    writes({ 'shop/orders.metadata.json': '' });
    const empty = await sidecar.run(['run']);
    // THEN
    expect(empty.code).toBe(1);
    expect(sidecar.status().content).toMatchObject({
      result: 'failed',
      dump: { result: 'empty', size: 0, modified_at: null },
      problems: [{ kind: 'dump-empty', error: 'the command exited 0 but wrote nothing to /data/appdata/dump: the folder holds no file of more than 0 bytes' }],
    });
    // WHEN it writes a collection
    writes({ 'shop/orders.bson': 'BSON', 'shop/orders.metadata.json': '{}' });
    const written = await sidecar.run(['run']);
    // THEN
    expect(written.code).toBe(0);
    expect(sidecar.status().content).toMatchObject({ result: 'ok', dump: { result: 'ok', size: 6 }, problems: [] });
  });
});

describe('a source volume with no file', () => {
  let hook: Hook;
  let sidecar: SynthesizedSidecar;

  beforeAll(async () => {
    hook = await webhook();
    // GIVEN a container with two volumes, the second of which may not be empty, retention
    // keeping the last snapshot only (an empty snapshot would be the one kept)
    sidecar = synthesizedSidecar({
      volumes: ['appdata', 'uploads'],
      backup: { retention: Retention.keepLast(1) },
      notifyUrl: `https://127.0.0.1:${hook.port}/hook`,
    });
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'table.dat'), 'rows\n'.repeat(1000));
    fs.mkdirSync(path.join(sidecar.sourceDirs.uploads, '2026', '12'), { recursive: true });
    fs.writeFileSync(path.join(sidecar.sourceDirs.uploads, '2026', '12', 'photo.jpg'), 'jpeg\n');
  });

  afterAll(async () => {
    await hook.close();
    sidecar?.cleanup();
  });

  beforeEach(() => hook.requests.splice(0));

  test('a source with content passes: the cycle is ok, status.json lists each source checked', async () => {
    expect(sidecar.plan.sourcesAllowedEmpty).toEqual([]);
    const r = await sidecar.run(['run']);
    expect(r.code).toBe(0);
    expect(sidecar.status().content).toMatchObject({
      result: 'ok',
      dump: null,
      sources: [
        { path: '/backup/sources/appdata', result: 'ok' },
        { path: '/backup/sources/uploads', result: 'ok' },
      ],
      problems: [],
    });
    expect((await health(sidecar)).code).toBe(0);
  });

  test.each(['busybox', 'dash'] as const)(
    'under %s, an empty one (folders only) fails the cycle before anything is backed up or forgotten: no snapshot, no retention, the earlier snapshots all kept; health red at once; the webhook says why',
    async (shell) => {
      // GIVEN the volume emptied (a mistyped volume name gives the same: a new, empty volume),
      // an empty folder left in it
      const before = snapshotsOf(sidecar.targetDirs.local).map((s) => s.id);
      expect(before.length).toBeGreaterThanOrEqual(1);
      fs.rmSync(path.join(sidecar.sourceDirs.uploads, '2026', '12', 'photo.jpg'));
      // WHEN
      const r = await sidecar.run(['run'], { shell });
      // THEN
      expect(r.code).toBe(1);
      const error = 'source /backup/sources/uploads (volume uploads) is empty: no file in it';
      expect(r.stderr).toContain(`ERROR step=sources ${error}; nothing is backed up or forgotten in this cycle; fix: check that volume uploads is the one the application writes`);
      expect(r.stderr).not.toMatch(/step=(backup|retention) /);
      expect(snapshotsOf(sidecar.targetDirs.local).map((s) => s.id)).toEqual(before);
      const status = sidecar.status();
      expect(status.state).toBe('failed');
      expect(status.targets[0]).toMatchObject({ result: 'failed', error: expect.stringMatching(new RegExp(`^not attempted: ${literal(error)}; fix: `)) });
      expect(status.targets[0].retention).toBeUndefined();
      const fix =
        'check that volume uploads is the one the application writes (a mistyped volume name makes Docker create a new, empty one: docker volume ls, ' +
        "and the container's mounts in docker inspect); if it may be empty, declare it allowEmpty: true (the plan's sourcesAllowedEmpty)";
      expect(status.content).toMatchObject({
        result: 'failed',
        sources: [
          { path: '/backup/sources/appdata', result: 'ok' },
          { path: '/backup/sources/uploads', result: 'empty' },
        ],
        problems: [{ kind: 'source-empty', path: '/backup/sources/uploads', error, fix }],
      });
      // AND health is red at once, though the last success is fresh, and says why
      const h = await health(sidecar);
      expect(h.code).toBe(1);
      expect(h.stdout).toBe(
        `unhealthy: the cycle at ${status.content.at} missed what it was told to back up: ${error}; fix: ${fix}; ` +
          `last successful backup ${h.stdout.match(/last successful backup (\d+)s/)![1]}s ago at ${status.last_success_at}; last cycle failed (incomplete: local)\n`,
      );
      // AND the webhook got the reason
      expect(report(hook)).toMatchObject({
        state: 'failed',
        failed_targets: [{ name: 'local', result: 'failed', error: expect.stringContaining(error) }],
        content: { result: 'failed', problems: [{ kind: 'source-empty', path: '/backup/sources/uploads', error, fix }] },
      });
      // (the file back, for what follows)
      fs.writeFileSync(path.join(sidecar.sourceDirs.uploads, '2026', '12', 'photo.jpg'), 'jpeg\n');
    },
  );

  test('with a file in it again, the next cycle backs up and health is green again', async () => {
    const r = await sidecar.run(['run']);
    expect(r.code).toBe(0);
    expect(sidecar.status().content).toMatchObject({ result: 'ok', problems: [] });
    expect((await health(sidecar)).code).toBe(0);
  });

  test('a source that does not exist stays what it was: a partial cycle, not an empty source', async () => {
    const r = await sidecar.run(['run'], { plan: (plan: any) => plan.sources.push('/backup/sources/gone') });
    expect(r.code).toBe(3);
    expect(sidecar.status().content).toMatchObject({ result: 'ok', sources: expect.arrayContaining([{ path: '/backup/sources/gone', result: 'missing' }]) });
  });
});

describe('a volume declared allowEmpty', () => {
  let sidecar: SynthesizedSidecar;

  beforeAll(() => {
    // GIVEN a spool volume that may be empty, beside one with data
    sidecar = synthesizedSidecar({ volumes: ['appdata', { name: 'spool', allowEmpty: true }] });
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'table.dat'), 'rows\n');
  });

  afterAll(() => sidecar?.cleanup());

  test('is backed up empty: the plan lists it, the cycle is ok, status.json says it was empty and allowed', async () => {
    expect(sidecar.plan.sourcesAllowedEmpty).toEqual(['/backup/sources/spool']);
    const r = await sidecar.run(['run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('INFO step=sources /backup/sources/spool is empty, which sourcesAllowedEmpty allows');
    expect(snapshotsOf(sidecar.targetDirs.local)).toHaveLength(1);
    expect(sidecar.status().content).toMatchObject({
      result: 'ok',
      sources: [
        { path: '/backup/sources/appdata', result: 'ok' },
        { path: '/backup/sources/spool', result: 'allowed-empty' },
      ],
    });
    expect((await health(sidecar)).code).toBe(0);
  });
});

/** `text` as a literal part of a regular expression. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
