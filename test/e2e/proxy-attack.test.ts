/**
 * Issue 21's attack on the real engine, refused. A ProtectedContainer quiesced by
 * `Quiesce.stop()` is synthesized by the library and deployed by THE applier
 * (test/support/engine/applier.ts through deployed-host.ts), with stand-in images
 * (test/support/engine/images.ts):
 *
 * - restic/restic:0.17.3 (the sidecar) -> busybox + Debian's restic 0.14 + jq;
 * - haproxy:3.0.28-alpine (the Docker API proxy) -> Debian 12's HAProxy 2.6 + busybox, then
 *   the same synthesized container re-created on Debian 13's HAProxy 3.0 + busybox;
 * - busybox:1.36 (the protected container `db`) -> Debian's busybox.
 *
 * The attack, as found on Engine 20.10: while `db` is stopped by the stop call the proxy allows,
 * a compromised sidecar sends `POST /v1.23/containers/db/start` with the body
 * `{"Binds":["db-backup-state:/usr/local/bin","/:/host"]}` and its headers padded until they
 * fill HAProxy's buffer: `req.body` then held nothing, matched the empty body pinned on start,
 * the body went on to Docker, and below API 1.24 Docker applied it as db's new HostConfig (the
 * host's root mounted in the protected container). Here it is sent from the sidecar's own
 * network, with every padding up to the buffer's limit and at API 1.23, 1.12 and 1.0: every
 * one is refused (403), db stays stopped with its HostConfig unchanged, and then a real agent
 * cycle still stops and starts db through the proxy. The engine's side of the attack is checked
 * first, on a throwaway container: it does apply a start body at 1.23.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, TerraformStack } from 'cdktf';
import { BackupSuppressions, Medium, ProtectedContainer, Quiesce, StorageTarget } from '../../src';
import { DEFAULT_DOCKER_API_PROXY_IMAGE, DOCKER_API_PROXY_PORT } from '../../src/docker/docker-api-proxy';
import { deployAroundTheFile, DeployedHost, standInImages } from '../support/engine/deployed-host';
import { DockerApi } from '../support/engine/docker-api';
import { currentEngine } from '../support/engine/docker-engine';
import { ensureImage } from '../support/engine/images';
import { containerIp, containerPid, sendFromNetworkOf } from '../support/engine/send-from-container';
import { HOST_CONFIG_BODY, paddedRequest, ProxyRequest, rawRequest } from '../support/proxy-requests';

const APP_IMAGE = 'busybox:1.36';
const PROXY = 'db-backup-docker-api';
const SIDECAR = 'db-backup';
/** How many paddings below the buffer's limit are sent one by one (the hole was the last 9). */
const WINDOW = 24;

let host: DeployedHost;
/** db's HostConfig as deployed, before any attack. */
let original: any;
/** The applier's image map (reference -> stand-in): read again whenever it creates a container. */
const images: Record<string, string> = {};

deployAroundTheFile(
  async () => {
    Object.assign(images, await standInImages({ [APP_IMAGE]: () => ensureImage('busybox') }));
    return { build: (app) => ({ host: attackedHost(app) }), hostStack: 'attacked-host', variables: { restic_password: 'the repository password' }, images };
  },
  async (deployed) => {
    host = deployed;
  },
);

/** `db`, a busybox writing its volume every second, backed up to a local disk and stopped for it. */
function attackedHost(app: App): TerraformStack {
  const stack = new TerraformStack(app, 'attacked-host');
  new DockerProvider(stack, 'docker', {});
  const db = new ProtectedContainer(stack, 'db', {
    image: APP_IMAGE,
    // Exits at once on docker stop's SIGTERM (sh as pid 1 ignores it otherwise).
    command: ['/bin/sh', '-c', 'trap "exit 0" TERM; while true; do date > /data/now; sleep 1 & wait $!; done'],
    volumes: [{ name: 'dbdata', containerPath: '/data' }],
    backup: {
      quiesce: Quiesce.stop({ timeoutSeconds: 5 }),
      targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK })],
    },
  });
  // One local copy is all this test needs: the attack is on the proxy, not on the topology.
  const reason = 'a test of the Docker API proxy: one local backup copy is enough';
  BackupSuppressions.addToConstruct(db, ['ThreeCopies', 'TwoMedia', 'OneOffsite', 'OneImmutableOrOffline'].map((ruleId) => ({ ruleId, reason })));
  return stack;
}

/** The proxy's address on its network (it changes when the proxy is re-created), and the sidecar's pid. */
let proxyIp = '';
let sidecarPid = 0;

/** Raw requests sent to the proxy from the sidecar's network, as the compromised agent would. */
function fromSidecar(requests: ProxyRequest[]): number[] {
  return sendFromNetworkOf(sidecarPid, proxyIp, DOCKER_API_PROXY_PORT, requests.map((r) => rawRequest(r))).map((a) => a.status);
}

/**
 * The padding at which the proxy's parser refuses `request`'s headers (400), found by a
 * 16-way search (a batch of probes per round, one process each).
 */
function headerLimit(request: ProxyRequest): number {
  let fits = 0;
  let tooLong = 20000;
  expect(fromSidecar([paddedRequest(request, tooLong, HOST_CONFIG_BODY)])).toEqual([400]);
  while (tooLong - fits > 1) {
    const step = Math.max(1, Math.floor((tooLong - fits) / 16));
    const probes: number[] = [];
    for (let p = fits + step; p < tooLong; p += step) probes.push(p);
    const statuses = fromSidecar(probes.map((p) => paddedRequest(request, p, HOST_CONFIG_BODY)));
    const first = statuses.indexOf(400);
    [fits, tooLong] = first === -1 ? [probes[probes.length - 1], tooLong] : [first === 0 ? fits : probes[first - 1], probes[first]];
  }
  return tooLong;
}

/** The attacker's start of db at API `version`, its body a HostConfig. */
function startAt(version: string): ProxyRequest {
  return { name: `start at ${version}`, method: 'POST', target: `/v${version}/containers/db/start`, body: HOST_CONFIG_BODY, headers: ['Content-Type: application/json'] };
}

/** What an attack could change in db's HostConfig. */
function hostConfigOf(container: string): any {
  const c = host.inspect(container).HostConfig;
  return { Binds: c.Binds, Mounts: c.Mounts, Privileged: c.Privileged, CapAdd: c.CapAdd, Devices: c.Devices, PidMode: c.PidMode, NetworkMode: c.NetworkMode, SecurityOpt: c.SecurityOpt, all: c };
}

describe('the padded start below API 1.24 (issue 21) on the real engine', () => {
  test("the engine's side: Engine 20.10 applies a body sent to start at API 1.23 as the container's HostConfig, and refuses it at 1.24", async () => {
    // GIVEN a throwaway container and a folder to bind
    const api = DockerApi.forTestEngine();
    const folder = fs.mkdtempSync(path.join(currentEngine().dir, 'start-body-'));
    const id = (await api.call('POST', '/containers/create', { body: { Image: await ensureImage('busybox'), Cmd: ['sleep', '60'] } })).json().Id;
    try {
      const body = { Binds: [`${folder}:/host-folder`] };
      // WHEN the body is sent to start at 1.24, then at 1.23
      const at124 = await api.request('POST', `/v1.24/containers/${id}/start`, { body });
      const at123 = await api.request('POST', `/v1.23/containers/${id}/start`, { body });
      // THEN 1.24 refuses any body; 1.23 started it with the bind
      expect({ status: at124.status, message: at124.json().message }).toEqual({
        status: 400,
        message: expect.stringMatching(/non-empty request body was deprecated since (API )?v1\.22 and removed in v1\.24/),
      });
      expect(at123.status).toBe(204);
      const inspected = (await api.call('GET', `/containers/${id}/json`)).json();
      expect(inspected.HostConfig.Binds).toEqual([`${folder}:/host-folder`]);
    } finally {
      await api.request('DELETE', `/containers/${id}?force=true`);
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  describe.each([
    ['haproxy', '2.6'],
    ['haproxy-3.0', '3.0'],
  ] as const)('through the deployed proxy on the %s stand-in', (kind, branch) => {
    beforeAll(async () => {
      original ??= hostConfigOf('db');
      // The same synthesized proxy container, re-created (terraform apply -replace) on this image.
      images[DEFAULT_DOCKER_API_PROXY_IMAGE] = await ensureImage(kind);
      await host.deployment.reapply(PROXY);
      proxyIp = containerIp(host.engine, PROXY, PROXY);
      sidecarPid = containerPid(host.engine, SIDECAR);
      expect(await waitForPing()).toBe(200);
    }, 300000);

    test(`the proxy runs HAProxy ${branch}`, () => {
      expect(host.docker(['exec', PROXY, 'haproxy', '-v']).stdout).toMatch(new RegExp(`^HAProxy version ${branch.replace('.', '[.]')}[.]`));
    });

    test('GIVEN db stopped by the allowed stop WHEN the sidecar sends the padded start with a HostConfig at API 1.23, 1.12 and 1.0, every padding up to the buffer\'s limit THEN each is refused (403), db stays stopped, its HostConfig unchanged', () => {
      // GIVEN
      expect(fromSidecar([{ name: 'stop', method: 'POST', target: '/containers/db/stop?t=5', body: '' }])).toEqual([204]);
      expect(host.inspect('db').State.Running).toBe(false);
      const limits: Record<string, number> = {};
      for (const version of ['1.23', '1.12', '1.0']) {
        const limit = (limits[version] = headerLimit(startAt(version)));
        const start = startAt(version);
        const paddings = [0, ...Array.from({ length: WINDOW }, (_, i) => limit - WINDOW + i)];
        // WHEN
        const statuses = fromSidecar(paddings.map((p) => paddedRequest(start, p, HOST_CONFIG_BODY)));
        // THEN
        expect({ version, limit, statuses }).toEqual({ version, limit, statuses: paddings.map(() => 403) });
      }
      // AND the same, once with the sidecar's own busybox nc (in the window: 5 below the limit)
      const bytes = rawRequest(paddedRequest(startAt('1.23'), limits['1.23'] - 5, HOST_CONFIG_BODY));
      const nc = host.docker(['exec', '-i', SIDECAR, 'nc', '-w', '2', PROXY, String(DOCKER_API_PROXY_PORT)], { input: bytes, allowFail: true });
      expect(nc.stdout).toMatch(/^HTTP\/1\.[01] 403 /);
      expect(host.inspect('db').State.Running).toBe(false);
      expect(hostConfigOf('db')).toEqual(original);
      // AND the agent's own start still passes
      expect(fromSidecar([{ name: 'start', method: 'POST', target: '/containers/db/start', body: '' }])).toEqual([204]);
      expect(host.inspect('db').State.Running).toBe(true);
    });

    test('a real agent cycle (backup-agent run) still stops and starts db through the proxy, and ends ok', () => {
      // GIVEN
      const startedBefore = host.inspect('db').State.StartedAt;
      const logsBefore = host.docker(['logs', PROXY]).stdout.length;
      // WHEN
      const run = host.sidecar('db').run(['run'], { allowFail: true });
      // THEN
      expect({ code: run.code, stderr: run.stderr.slice(-1500) }).toMatchObject({ code: 0 });
      const status = host.sidecar('db').status();
      expect(status.state).toBe('ok');
      expect(status.quiesce).toMatchObject({ mode: 'stop', result: 'ok' });
      expect(status.targets.map((t: any) => [t.name, t.result])).toEqual([['local', 'ok']]);
      const db = host.inspect('db');
      expect(db.State.Running).toBe(true);
      expect(db.State.StartedAt > startedBefore).toBe(true);
      expect(hostConfigOf('db')).toEqual(original);
      // The proxy's own log: the stop and the start passed it (204 from Docker).
      const log = host.docker(['logs', PROXY]).stdout.slice(logsBefore);
      expect(log).toMatch(/ 204 .*"POST \/containers\/db\/stop\?t=5 HTTP\/1\.1"/);
      expect(log).toMatch(/ 204 .*"POST \/containers\/db\/start HTTP\/1\.1"/);
    });
  });
});

/** Waits until the proxy answers the sidecar's ping (it was just re-created); returns the status. */
async function waitForPing(): Promise<number> {
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    try {
      [status] = fromSidecar([{ name: 'ping', method: 'GET', target: '/_ping' }]);
    } catch {
      status = 0;
    }
    if (status !== 200) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return status;
}
