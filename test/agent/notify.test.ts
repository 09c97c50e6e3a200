/**
 * The failure webhook: the URL comes from a sensitive Terraform variable, is uploaded as a
 * file, and the agent POSTs a small JSON report over https when a cycle fails (busybox
 * `nc -e` + `ssl_client`, so that the URL is in no process's arguments). Stand-in: Debian's
 * busybox ssl_client is busybox's own TLS (TLS 1.2, verifies no certificate), so the hook here
 * is a TLS 1.2 server with a self-signed certificate; in the official restic image (Alpine)
 * `ssl_client` is Alpine's own helper (aports main/busybox/ssl_client.c), which verifies the
 * certificate, as Alpine's wget does with the same helper. A
 * webhook that fails or hangs is logged and recorded, and never changes the cycle's outcome;
 * the URL (it carries the hook's token) never appears in the logs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execCreateBody } from '../../src/docker-api/exec-body';
import { PlanPatch } from '../support/sidecar-sandbox';
import { SynthesizedSidecar, synthesizedSidecar } from '../support/synthesized-sidecar';
import { Hook, webhook } from '../support/servers/webhook';

const TOKEN = 'T0KEN-5ecret-4d2f';
const REFUSED = 'rest:http://127.0.0.1:1/';

/** The plan with its (only) target on a port that refuses connections, and more. */
const refused = (more: (plan: any) => void = () => undefined) => (plan: any) => {
  plan.targets[0].repository = REFUSED;
  more(plan);
};

/** A URL file in the state volume's secrets folder (as the sandbox maps it), for one run. */
let writeUrlFile: (url: string) => string;

describe('the failure webhook', () => {
  let hook: Hook;
  let sidecar: SynthesizedSidecar;
  const run = (plan?: PlanPatch) => sidecar.run(['run'], { plan });

  beforeAll(async () => {
    hook = await webhook();
    // GIVEN notifyUrl from a sensitive variable, resolved at apply to the hook's URL
    sidecar = synthesizedSidecar({ notifyUrl: `https://127.0.0.1:${hook.port}/hooks/${TOKEN}` });
    fs.writeFileSync(path.join(sidecar.sourceDirs.appdata, 'table.dat'), 'rows\n');
    writeUrlFile = (url: string) => {
      fs.mkdirSync(sidecar.stateDir, { recursive: true });
      fs.writeFileSync(path.join(sidecar.stateDir, 'http-url'), url);
      return '/backup/agent/http-url';
    };
  });

  afterAll(async () => {
    await hook.close();
    sidecar.cleanup();
  });

  beforeEach(() => {
    hook.requests.splice(0);
    hook.answer = 200;
  });

  test('the URL reaches the sidecar as a file only', () => {
    expect(sidecar.plan.notify).toEqual({ urlFile: '/backup/install/secrets/notify-url', timeoutSeconds: expect.any(Number) });
    expect(JSON.stringify(sidecar.resource)).not.toContain(TOKEN);
  });

  test('a successful cycle sends nothing', async () => {
    const r = await run();
    expect(r.code).toBe(0);
    expect(hook.requests).toEqual([]);
    expect(sidecar.status().notification).toBeUndefined();
  });

  test('a failed cycle POSTs a small JSON report: host, state, the failed targets and why', async () => {
    // WHEN the target cannot be reached
    const r = await run(refused());
    // THEN
    expect(r.code).toBe(1);
    expect(hook.requests).toHaveLength(1);
    const [request] = hook.requests;
    expect(request).toMatchObject({ method: 'POST', url: `/hooks/${TOKEN}`, contentType: 'application/json' });
    const report = JSON.parse(request.body);
    expect(report).toEqual({
      host: 'db',
      kind: 'cycle',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      state: 'failed',
      failed_targets: [{ name: 'local', result: 'failed', error: expect.stringMatching(/^cannot open the repository/) }],
      quiesce: { mode: 'none', result: 'none', error: null, release: 'not-needed', release_error: null },
      verification: expect.objectContaining({ state: expect.any(String) }),
      status: { started_at: expect.any(String), finished_at: expect.any(String), last_success_at: expect.any(String) },
    });
    expect(request.body.length).toBeLessThan(2000);
    expect(r.stderr).toMatch(/INFO step=notify webhook notified \(HTTP 200\)/);
    expect(sidecar.status().notification).toMatchObject({ result: 'ok', detail: 'HTTP 200' });
    // AND the token is in no log line
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  test.each([
    [500, /WARN step=notify webhook not notified: HTTP 500; the cycle's result stands/],
    ['hang' as const, /WARN step=notify webhook not notified: no answer within 2s; the cycle's result stands/],
  ])('a webhook answering %p is logged and recorded, and the cycle fails for its own reason only', async (answer, warning) => {
    hook.answer = answer;
    const started = Date.now();
    const r = await run(
      refused((plan) => {
        plan.notify.timeoutSeconds = 2;
      }),
    );
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(60000);
    expect(hook.requests).toHaveLength(1);
    expect(r.stderr).toMatch(warning);
    expect(sidecar.status().notification).toMatchObject({ result: 'failed' });
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  test('an http:// webhook is refused at start and never called: the token would cross the network in clear', async () => {
    // GIVEN the uploaded URL file holds an http:// URL
    const urlFile = writeUrlFile(`http://127.0.0.1:${hook.port}/hooks/${TOKEN}`);
    const r = await run(
      refused((plan) => {
        plan.notify.urlFile = urlFile;
      }),
    );
    // THEN the cycle's own result stands, nothing was sent, and the log says why
    expect(r.code).toBe(1);
    expect(hook.requests).toEqual([]);
    expect(r.stderr).toMatch(/ERROR step=config webhook: refused: the webhook URL in \S+ is http:\/\/, which would send its token in clear; use an https:\/\/ URL; failures will not be notified/);
    expect(sidecar.status().notification).toMatchObject({ result: 'failed', detail: expect.stringMatching(/^refused: .* is http:\/\//) });
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  test('a failed quiesce that continues crash-consistent is reported, and a failing webhook leaves exit 0', async () => {
    // GIVEN an exec quiesce whose Docker API is unreachable, onError continue, a webhook that fails
    hook.answer = 503;
    const r = await run({
      quiesce: {
        mode: 'exec',
        container: 'db',
        command: ['true'],
        execBody: execCreateBody(['true']),
        onError: 'continue',
        timeoutSeconds: 5,
        dockerApi: 'http://127.0.0.1:1',
      },
    });
    // THEN
    expect(r.code).toBe(0);
    expect(hook.requests).toHaveLength(1);
    expect(JSON.parse(hook.requests[0].body)).toMatchObject({
      state: 'ok',
      failed_targets: [],
      quiesce: { mode: 'exec', result: 'failed', error: expect.stringMatching(/^exec in container db: .*Connection refused/) },
    });
    expect(r.stderr).toMatch(/WARN step=notify webhook not notified: HTTP 503/);
  });
});
