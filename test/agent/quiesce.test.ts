/**
 * Quiesce through the Docker Engine API: the sidecar synthesized with Quiesce.stop/pause/exec
 * runs against a fake Docker API (test/support/servers/fake-docker-api.ts) that its plan's
 * quiesce.dockerApi is pointed at. Whatever fails (the backup, the Docker API, the agent itself: SIGTERM, SIGINT,
 * SIGKILL), what was stopped or paused is started or unpaused again.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Quiesce, QuiesceFailure } from '../../src';
import { FakeDockerApi } from '../support/servers/fake-docker-api';
import { PlanPatch } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, sidecarBesideServer, synthesizedSidecar } from '../support/synthesized-sidecar';
import { snapshotsOf } from '../support/restic';
import { blackHole } from '../support/servers/black-hole';

/** A repository that refuses connections at once: the backup fails quickly. */
const REFUSED = 'rest:http://127.0.0.1:1/';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The plan with its (only) target's repository at `repository`, and `more` merged in. */
const repositoryAt =
  (repository: string, more: Record<string, unknown> = {}) =>
  (plan: any) => {
    plan.targets[0].repository = repository;
    Object.assign(plan, more);
  };

/** The plan's Docker API: the fake's URL instead of the socket proxy's. */
const fakeApi = (api: FakeDockerApi) => ({ quiesce: { dockerApi: api.url } });

describe('Quiesce.stop', () => {
  let api: FakeDockerApi;
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let sidecar: SynthesizedSidecar;
  const run = (plan?: PlanPatch) => sidecar.run(['run'], { plan });

  beforeAll(async () => {
    api = await FakeDockerApi.start(['db']);
    hole = await blackHole();
    sidecar = synthesizedSidecar({ backup: { quiesce: Quiesce.stop({ timeoutSeconds: 5 }) }, plan: fakeApi(api) });
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'table.dat'), 'rows\n'.repeat(1000));
  });

  afterAll(async () => {
    await api.close();
    await hole.close();
    sidecar.cleanup();
  });

  beforeEach(() => {
    api.calls.splice(0);
    api.setState('db', 'running');
  });

  test('stops the container, backs up, starts it again: in that order, with the snapshot taken while it was stopped', async () => {
    // GIVEN the plan as synthesized: the proxy, the container, the timeout
    expect(sidecar.plan.quiesce).toMatchObject({
      mode: 'stop',
      container: 'db',
      timeoutSeconds: 5,
      dockerApi: 'http://db-backup-docker-api:2375',
    });
    // WHEN
    const r = await run();
    // THEN
    expect(r.code).toBe(0);
    expect(api.summary()).toEqual(['stop 204', 'start 204']);
    expect(api.calls[0]).toMatchObject({ method: 'POST', path: '/containers/db/stop?t=5' });
    expect(api.calls[1]).toMatchObject({ method: 'POST', path: '/containers/db/start' });
    expect(api.state('db')).toBe('running');
    const snapshot = snapshotsOf(sidecar.targetDirs.local).pop()!;
    const taken = Date.parse((snapshot as any).time);
    expect(taken).toBeGreaterThanOrEqual(api.calls[0].at);
    expect(taken).toBeLessThanOrEqual(api.calls[1].at);
    const order = ['step=quiesce stop container=db', 'step=backup target=local started', 'step=release container=db start done'];
    const positions = order.map((line) => r.stderr.indexOf(line));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(sidecar.status().quiesce).toEqual({
      mode: 'stop',
      container: 'db',
      result: 'ok',
      consistency: 'application',
      on_error: 'abort',
      error: null,
      note: null,
      duration_seconds: expect.any(Number),
      release: 'ok',
      release_attempts: 1,
      release_error: null,
    });
    expect(fs.existsSync(path.join(sidecar.stateDir, 'quiesce.held'))).toBe(false);
  });

  test('a backup that fails still starts the container', async () => {
    const r = await run(repositoryAt(REFUSED));
    expect(r.code).toBe(1);
    expect(sidecar.status().targets[0]).toMatchObject({ result: 'failed' });
    expect(api.summary()).toEqual(['stop 204', 'start 204']);
    expect(api.state('db')).toBe('running');
  });

  test.each([
    ['busybox', 'SIGTERM', 'the daemon as PID 1 (docker stop)'],
    ['dash', 'SIGINT', 'a run started by hand (Ctrl-C)'],
  ] as const)('under %s, %s to %s while the container is stopped: it is started before the agent exits', async (shell, signal, _who) => {
    // GIVEN a cycle blocked on an endpoint that never answers, the container stopped
    const daemon = signal === 'SIGTERM';
    const running = sidecar.start({
      shell,
      pidNamespace: daemon,
      command: daemon ? ['daemon'] : ['run'],
      plan: repositoryAt(hole.url, { networkTimeoutSeconds: 90, runOnStart: true }),
    });
    await running.waitForOutput(/step=backup target=local started/);
    await sleep(300);
    expect(api.state('db')).toBe('stopped');
    // WHEN
    const signalled = Date.now();
    await running.kill(signal);
    const r = await running.result;
    // THEN the agent ended on its own, well before restic's timeout, and started the container
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(daemon ? 0 : 1);
    expect(api.summary()).toEqual(['stop 204', 'start 204']);
    expect(api.calls[1].at).toBeGreaterThanOrEqual(signalled);
    expect(api.state('db')).toBe('running');
    expect(sidecar.status().quiesce).toMatchObject({ result: 'ok', release: 'ok' });
  });

  test('an agent killed with SIGKILL leaves the container stopped; the next agent (daemon start or cycle) starts it first', async () => {
    // GIVEN an agent killed (the whole sidecar) while the container was stopped
    const running = sidecar.start({ command: ['run'], plan: repositoryAt(hole.url, { networkTimeoutSeconds: 90 }) });
    await running.waitForOutput(/step=backup target=local started/);
    running.killAll('SIGKILL');
    await running.result;
    expect(api.state('db')).toBe('stopped');
    expect(fs.readFileSync(path.join(sidecar.stateDir, 'quiesce.held'), 'utf8')).toMatch(/^stop db \d+\n$/);
    // WHEN the sidecar's daemon starts again (restart: unless-stopped)
    const daemon = sidecar.start({ pidNamespace: true });
    await daemon.waitForOutput(/INFO step=daemon due work finished with exit code 0/);
    await daemon.kill('SIGTERM');
    const r = await daemon.result;
    // THEN it started the container at once, before any schedule
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARN step=quiesce container db was left stopped by an agent that did not finish \(since \S+\); undoing it now/);
    expect(api.summary()).toEqual(['stop 204', 'start 204']);
    expect(api.state('db')).toBe('running');
    expect(fs.existsSync(path.join(sidecar.stateDir, 'quiesce.held'))).toBe(false);
  });

  test('a cycle that finds a marker left by a killed agent starts the container before its own stop', async () => {
    // GIVEN the marker a SIGKILLed agent leaves, the container stopped
    fs.writeFileSync(path.join(sidecar.stateDir, 'quiesce.held'), 'stop db 1795658400\n');
    api.setState('db', 'stopped');
    // WHEN
    const r = await run();
    // THEN
    expect(r.code).toBe(0);
    expect(api.summary()).toEqual(['start 204', 'stop 204', 'start 204']);
    expect(api.state('db')).toBe('running');
  });

  test('a Docker API failure while the container is stopped: start is retried until it succeeds', async () => {
    // GIVEN the proxy fails the first two starts
    api.fail('start', 500, 2);
    // WHEN
    const r = await run();
    // THEN
    expect(r.code).toBe(0);
    expect(api.summary()).toEqual(['stop 204', 'start 500', 'start 500', 'start 204']);
    expect(r.stderr).toMatch(/WARN step=release start container db: HTTP 500; retrying in 1s \(attempt 1 of 6\)/);
    expect(r.stderr).toMatch(/WARN step=release start container db: HTTP 500; retrying in 2s \(attempt 2 of 6\)/);
    expect(api.state('db')).toBe('running');
    expect(sidecar.status().quiesce).toMatchObject({ release: 'ok', release_attempts: 3 });
  });

  test('start failing on every attempt: the cycle fails, health is red and says so, the next cycle starts the container', async () => {
    // GIVEN a proxy that fails both allowed attempts
    api.fail('start', 503, 2);
    // WHEN
    const r = await run({ quiesce: { releaseAttempts: 2 } });
    // THEN
    expect(r.code).toBe(1);
    expect(api.summary()).toEqual(['stop 204', 'start 503', 'start 503']);
    expect(api.state('db')).toBe('stopped');
    expect(r.stderr).toMatch(/ERROR step=release start container db: HTTP 503 after 2 attempts; container db is still stopped: run 'docker start db'/);
    const status = sidecar.status();
    expect(status.state).toBe('ok'); // the backup itself is complete
    expect(status.quiesce).toMatchObject({ release: 'failed', release_attempts: 2, release_error: 'start container db: HTTP 503 after 2 attempts' });
    const health = await sidecar.run({ healthcheck: true });
    expect(health.code).toBe(1);
    expect(health.stdout).toMatch(/^unhealthy: container db may still be stopped or paused: start container db: HTTP 503 after 2 attempts; last successful backup/);
    // AND the next cycle (the proxy works again) starts it before anything else
    api.calls.splice(0);
    const next = await run();
    expect(next.code).toBe(0);
    expect(api.summary()).toEqual(['start 204', 'stop 204', 'start 204']);
    expect(api.state('db')).toBe('running');
    expect((await sidecar.run({ healthcheck: true })).code).toBe(0);
  });

  test('a stop that fails (HTTP 500): no backup (onError abort), the status says why, and start is sent anyway', async () => {
    const before = snapshotsOf(sidecar.targetDirs.local).length;
    api.fail('stop', 500, 1);
    // WHEN
    const r = await run();
    // THEN
    expect(r.code).toBe(1);
    expect(api.summary()).toEqual(['stop 500', 'start 304']);
    expect(snapshotsOf(sidecar.targetDirs.local)).toHaveLength(before);
    const status = sidecar.status();
    expect(status.state).toBe('failed');
    expect(status.quiesce).toMatchObject({ result: 'failed', consistency: null, error: 'stop container db: HTTP 500', release: 'ok' });
    expect(status.targets[0]).toMatchObject({
      result: 'failed',
      error: 'not attempted: quiesce failed (quiesce.onError=abort): stop container db: HTTP 500',
    });
  });

  test('a stop the proxy refuses (HTTP 404): nothing to undo, no start sent', async () => {
    api.fail('stop', 404, 1);
    const r = await run();
    expect(r.code).toBe(1);
    expect(api.summary()).toEqual(['stop 404']);
  });

  test('a container that was not running is backed up and left stopped', async () => {
    api.setState('db', 'stopped');
    const r = await run();
    expect(r.code).toBe(0);
    expect(api.summary()).toEqual(['stop 304']);
    expect(api.state('db')).toBe('stopped');
    expect(sidecar.status().quiesce).toMatchObject({ result: 'ok', note: 'the container was not running; it is left stopped', release: 'not-needed' });
  });
});

describe('Quiesce.pause', () => {
  const beside = sidecarBesideServer(
    () => FakeDockerApi.start(['db']),
    (api) => ({ backup: { quiesce: Quiesce.pause({ timeoutSeconds: 5 }) }, plan: fakeApi(api) }),
    { 'table.dat': 'rows\n' },
  );

  test('pauses, backs up, unpauses, also when the backup fails', async () => {
    const ok = await beside.sidecar.run(['run']);
    expect(ok.code).toBe(0);
    expect(beside.server.summary()).toEqual(['pause 204', 'unpause 204']);
    expect(beside.sidecar.status().quiesce).toMatchObject({ mode: 'pause', result: 'ok', consistency: 'application', release: 'ok' });
    // WHEN the backup fails
    beside.server.calls.splice(0);
    const failed = await beside.sidecar.run(['run'], { plan: repositoryAt(REFUSED) });
    // THEN it is unpaused all the same
    expect(failed.code).toBe(1);
    expect(beside.server.summary()).toEqual(['pause 204', 'unpause 204']);
    expect(beside.server.state('db')).toBe('running');
  });
});

describe('Quiesce.exec', () => {
  const COMMAND = ['sh', '-c', 'pg_dumpall -U postgres > /data/appdata/dump.sql'];
  let api: FakeDockerApi;
  let abort: SynthesizedSidecar;
  let cont: SynthesizedSidecar;
  const run = (sidecar: SynthesizedSidecar) => sidecar.run(['run']);

  beforeAll(async () => {
    api = await FakeDockerApi.start(['db']);
    abort = synthesizedSidecar({ backup: { quiesce: Quiesce.exec(COMMAND, { timeoutSeconds: 3 }) }, plan: fakeApi(api) });
    cont = synthesizedSidecar({ backup: { quiesce: Quiesce.exec(COMMAND, { timeoutSeconds: 3, onError: QuiesceFailure.CONTINUE }) }, plan: fakeApi(api) });
    // The command writes its dump (the agent checks it was written: backed-up-content.test.ts).
    api.execEffect = (_cmd, container) => {
      for (const s of [abort, cont]) {
        fs.writeFileSync(path.join(s.sourceDirs.appdata, 'dump.sql'), `-- dump of ${container}\n`);
      }
    };
  });

  afterAll(async () => {
    await api.close();
    abort.cleanup();
    cont.cleanup();
  });

  beforeEach(() => {
    api.calls.splice(0);
    api.execExitCode = 0;
  });

  test('runs the command in the container through the exec API, waits for it, then backs up', async () => {
    const r = await run(abort);
    expect(r.code).toBe(0);
    expect(api.summary()).toEqual(['exec-create 201', 'exec-start 200', 'exec-inspect 200']);
    expect(api.calls[0]).toMatchObject({ path: '/containers/db/exec', contentType: 'application/json' });
    expect(JSON.parse(api.calls[0].body)).toEqual({ Cmd: COMMAND, AttachStdout: true, AttachStderr: true });
    expect(JSON.parse(api.calls[1].body)).toEqual({ Detach: false, Tty: false });
    expect(api.calls[2].method).toBe('GET');
    const snapshot = snapshotsOf(abort.targetDirs.local).pop()!;
    expect(Date.parse((snapshot as any).time)).toBeGreaterThanOrEqual(api.calls[2].at);
    expect(abort.status().quiesce).toMatchObject({ mode: 'exec', result: 'ok', consistency: 'application', release: 'not-needed' });
  });

  test('a command that exits non-zero aborts the backup (onError abort), and the status says why', async () => {
    const before = snapshotsOf(abort.targetDirs.local).length;
    api.execExitCode = 3;
    const r = await run(abort);
    expect(r.code).toBe(1);
    expect(snapshotsOf(abort.targetDirs.local)).toHaveLength(before);
    expect(r.stderr).toMatch(/ERROR step=quiesce exec in container db: the command exited with code 3/);
    const status = abort.status();
    expect(status.state).toBe('failed');
    expect(status.quiesce).toMatchObject({ result: 'failed', consistency: null, error: expect.stringMatching(/^exec in container db: the command exited with code 3 /) });
    expect(status.targets[0].error).toMatch(/^not attempted: quiesce failed \(quiesce.onError=abort\): exec in container db: the command exited with code 3/);
  });

  test('a command that does not finish in time aborts after the quiesce timeout', async () => {
    api.hang('exec-start', 1);
    const started = Date.now();
    const r = await run(abort);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(60000);
    expect(abort.status().quiesce.error).toBe(
      'exec in container db: the command did not finish within 3s (quiesce.timeoutSeconds); it may still be running',
    );
  });

  test('with onError continue, a failed command is reported and the backup is made crash-consistent', async () => {
    api.execExitCode = 1;
    const r = await run(cont);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARN step=quiesce backing up crash-consistent \(quiesce.onError=continue\)/);
    expect(snapshotsOf(cont.targetDirs.local)).toHaveLength(1);
    const status = cont.status();
    expect(status.state).toBe('ok');
    expect(status.quiesce).toMatchObject({ result: 'failed', consistency: 'crash', on_error: 'continue' });
  });
});
