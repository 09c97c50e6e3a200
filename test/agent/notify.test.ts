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
import { execCreateBody } from '../../src/docker/exec-body';
import { PlanPatch } from '../support/sidecar-sandbox';
import { sidecarBesideServer } from '../support/synthesized-sidecar';
import { webhook } from '../support/servers/webhook';

const TOKEN = 'T0KEN-5ecret-4d2f';
const REFUSED = 'rest:http://127.0.0.1:1/';

/** The plan with its (only) target on a port that refuses connections, and more. */
const refused = (more: (plan: any) => void = () => undefined) => (plan: any) => {
  plan.targets[0].repository = REFUSED;
  more(plan);
};

describe('the failure webhook', () => {
  // GIVEN notifyUrl from a sensitive variable, resolved at apply to the hook's URL
  const beside = sidecarBesideServer(webhook, (hook) => ({ notifyUrl: `https://127.0.0.1:${hook.port}/hooks/${TOKEN}` }), { 'table.dat': 'rows\n' });
  const run = (plan?: PlanPatch) => beside.sidecar.run(['run'], { plan });

  /** A URL file in the state volume's secrets folder (as the sandbox maps it), for one run. */
  const writeUrlFile = (url: string) => {
    fs.mkdirSync(beside.sidecar.stateDir, { recursive: true });
    fs.writeFileSync(path.join(beside.sidecar.stateDir, 'http-url'), url);
    return '/backup/agent/http-url';
  };

  beforeEach(() => {
    beside.server.requests.splice(0);
    beside.server.answer = 200;
  });

  test('the URL reaches the sidecar as a file only', () => {
    expect(beside.sidecar.plan.notify).toEqual({ urlFile: '/backup/install/secrets/notify-url', timeoutSeconds: expect.any(Number) });
    expect(JSON.stringify(beside.sidecar.resource)).not.toContain(TOKEN);
  });

  test('a successful cycle sends nothing', async () => {
    const r = await run();
    expect(r.code).toBe(0);
    expect(beside.server.requests).toEqual([]);
    expect(beside.sidecar.status().notification).toBeUndefined();
  });

  test('a failed cycle POSTs a small JSON report: host, state, the failed targets and why', async () => {
    // WHEN the target cannot be reached
    const r = await run(refused());
    // THEN
    expect(r.code).toBe(1);
    expect(beside.server.requests).toHaveLength(1);
    const [request] = beside.server.requests;
    expect(request).toMatchObject({ method: 'POST', url: `/hooks/${TOKEN}`, contentType: 'application/json' });
    const report = JSON.parse(request.body);
    expect(report).toEqual({
      host: 'db',
      kind: 'cycle',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      state: 'failed',
      failed_targets: [{ name: 'local', result: 'failed', error: expect.stringMatching(/^cannot open the repository/) }],
      quiesce: { mode: 'none', result: 'none', error: null, release: 'not-needed', release_error: null },
      content: { result: 'ok', at: expect.any(String), problems: [] },
      verification: expect.objectContaining({ state: expect.any(String) }),
      status: { started_at: expect.any(String), finished_at: expect.any(String), last_success_at: expect.any(String) },
    });
    expect(request.body.length).toBeLessThan(2000);
    expect(r.stderr).toMatch(/INFO step=notify webhook notified \(HTTP 200\)/);
    expect(beside.sidecar.status().notification).toMatchObject({ result: 'ok', detail: 'HTTP 200' });
    // AND the token is in no log line
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  test.each([
    [500, /WARN step=notify webhook not notified: HTTP 500; the cycle's result stands/],
    ['hang' as const, /WARN step=notify webhook not notified: no answer within 2s; the cycle's result stands/],
  ])('a webhook answering %p is logged and recorded, and the cycle fails for its own reason only', async (answer, warning) => {
    beside.server.answer = answer;
    const started = Date.now();
    const r = await run(
      refused((plan) => {
        plan.notify.timeoutSeconds = 2;
      }),
    );
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(60000);
    expect(beside.server.requests).toHaveLength(1);
    expect(r.stderr).toMatch(warning);
    expect(beside.sidecar.status().notification).toMatchObject({ result: 'failed' });
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  test('an http:// webhook is refused at start and never called: the token would cross the network in clear', async () => {
    // GIVEN the uploaded URL file holds an http:// URL
    const urlFile = writeUrlFile(`http://127.0.0.1:${beside.server.port}/hooks/${TOKEN}`);
    const r = await run(
      refused((plan) => {
        plan.notify.urlFile = urlFile;
      }),
    );
    // THEN the cycle's own result stands, nothing was sent, and the log says why
    expect(r.code).toBe(1);
    expect(beside.server.requests).toEqual([]);
    expect(r.stderr).toMatch(/ERROR step=config webhook: refused: the webhook URL in \S+ is http:\/\/, which would send its token in clear; use an https:\/\/ URL; failures will not be notified/);
    expect(beside.sidecar.status().notification).toMatchObject({ result: 'failed', detail: expect.stringMatching(/^refused: .* is http:\/\//) });
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  test('a failed quiesce that continues crash-consistent is reported, and a failing webhook leaves exit 0', async () => {
    // GIVEN an exec quiesce whose Docker API is unreachable, onError continue, a webhook that fails
    beside.server.answer = 503;
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
    expect(beside.server.requests).toHaveLength(1);
    expect(JSON.parse(beside.server.requests[0].body)).toMatchObject({
      state: 'ok',
      failed_targets: [],
      quiesce: { mode: 'exec', result: 'failed', error: expect.stringMatching(/^exec in container db: .*Connection refused/) },
    });
    expect(r.stderr).toMatch(/WARN step=notify webhook not notified: HTTP 503/);
  });
});
