/**
 * No secret in any process's arguments: `/proc/<pid>/cmdline` is readable by every user of
 * the host (`ps` shows it), unlike the environment or a 0400 file. While the sidecar runs a
 * cycle against a REST server with basic authentication and an S3 target, and a failing cycle
 * that calls the webhook, every process's command line on the host is sampled every few
 * milliseconds; none may hold the repository password, the REST password, the S3 secret key
 * or the webhook's token.
 */
import * as fs from 'fs';
import * as path from 'path';
import { startRestServer, RestServer } from '../support/servers/rest-server';
import { startS3Server, S3Server } from '../support/servers/s3-server';
import { protocolSidecar, ProtocolSidecar, REPOSITORY_PASSWORD, synthesizedSidecar } from '../support/synthesized-sidecar';
import { SidecarResult } from '../support/sidecar-sandbox';
import { TEST_PASSWORD } from '../support/test-values';
import { Hook, webhook } from '../support/servers/webhook';

/** Every distinct command line seen on the host while `work` runs. */
async function sampleCommandLines<T>(work: () => Promise<T>): Promise<{ result: T; lines: Set<string>; samples: number }> {
  const lines = new Set<string>();
  let samples = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      for (const pid of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(pid)) {
          continue;
        }
        try {
          lines.add(fs.readFileSync(path.join('/proc', pid, 'cmdline'), 'latin1').replace(/\0/g, ' '));
        } catch {
          // gone meanwhile
        }
      }
      samples++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    const result = await work();
    return { result, lines, samples };
  } finally {
    running = false;
    await sampler;
  }
}

/** The test's own REST server gets its password on its command line: not the sidecar's doing. */
const TEST_SERVER = /^rclone serve restic /;

function expectNoSecret(lines: Set<string>, secrets: Record<string, string>): void {
  for (const [name, secret] of Object.entries(secrets)) {
    expect({ name, leaked: [...lines].filter((l) => l.includes(secret) && !TEST_SERVER.test(l)) }).toEqual({ name, leaked: [] });
  }
}

describe('no secret in any process arguments', () => {
  let rest: RestServer;
  let s3: S3Server;
  let sidecar: ProtocolSidecar;
  let hook: Hook;

  beforeAll(async () => {
    [rest, s3, hook] = await Promise.all([startRestServer(), startS3Server(), webhook()]);
    sidecar = protocolSidecar({ containerName: 'argv', s3, rest });
    fs.writeFileSync(path.join(sidecar.sourceDir, 'data.txt'), 'rows\n'.repeat(10000));
  });

  afterAll(async () => {
    await Promise.allSettled([rest?.stop(), s3?.stop(), hook?.close()]);
    sidecar?.cleanup();
  });

  test('a cycle to a REST server with basic auth and to S3', async () => {
    const { result, lines, samples } = await sampleCommandLines(() => sidecar.run(['run']));
    expect(result.code).toBe(0);
    // The sampler saw the cycle's restic calls, so it was looking at the right processes.
    expect(samples).toBeGreaterThan(50);
    expect([...lines].some((l) => /restic .*backup/.test(l))).toBe(true);
    expect([...lines].some((l) => /^jq /.test(l))).toBe(true);
    expectNoSecret(lines, {
      'repository password': REPOSITORY_PASSWORD,
      'REST password': rest.password!,
      'S3 secret key': s3.secretAccessKey,
    });
  });

  test('a failing cycle that calls the webhook', async () => {
    const token = 'hook-T0KEN-in-the-path-9f3c';
    const failing = synthesizedSidecar({
      containerName: 'argvhook',
      targets: [{ name: 'local', readOnly: true }],
      notifyUrl: `https://127.0.0.1:${hook.port}/hooks/${token}`,
    });
    try {
      fs.writeFileSync(path.join(failing.sourceDirs.appdata, 'table.dat'), 'rows\n');
      const { result, lines } = await sampleCommandLines<SidecarResult>(() => failing.run(['run']));
      expect(result.code).toBe(1);
      // The hook was called (over nc + ssl_client), with the token in its path.
      expect(hook.requests.some((r) => r.url.includes(token))).toBe(true);
      expect([...lines].some((l) => /ssl_client|nc /.test(l))).toBe(true);
      expectNoSecret(lines, { 'webhook token': token, 'repository password': TEST_PASSWORD });
    } finally {
      failing.cleanup();
    }
  });
});
