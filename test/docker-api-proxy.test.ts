/**
 * The DockerApiProxy construct: the HAProxy container as synthesized (pinned image, read-only
 * root, no capability, internal network only, generated config in its environment), and its
 * entrypoint run by busybox sh and dash: it writes the config byte for byte and hands it to
 * haproxy (Debian's, which validates it with -c here).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DockerApiProxy } from '../src/docker/docker-api-proxy';
import { execCreateBody } from '../src/docker/exec-body';
import { Quiesce, QuiesceMode } from '../src/policy/quiesce';
import { dockerStack, resources, synthJson } from './support/synth';

/** What Terraform makes of `$${` and `%%{` in a string. */
const unescape = (s: string) => s.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');

function synthProxy(quiesce: Quiesce) {
  const stack = dockerStack();
  const proxy = new DockerApiProxy(stack, 'docker-api', { containerName: 'db', mode: quiesce.mode, quiesce });
  const json = synthJson(stack);
  const container = resources(json, 'docker_container')[0];
  const network = resources(json, 'docker_network')[0];
  const env = Object.fromEntries((container.env as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return { proxy, container, network, env };
}

describe('DockerApiProxy', () => {
  test('runs the official HAProxy image pinned by digest, as uid 0 with no capability, read-only, on the internal network only', () => {
    // WHEN
    const { container, network } = synthProxy(Quiesce.stop());
    // THEN
    expect(container.image).toMatch(/^haproxy:[0-9.]+-alpine@sha256:[0-9a-f]{64}$/);
    expect(container.user).toBe('0:0');
    expect(container.capabilities).toEqual({ drop: ['ALL'] });
    expect(container.security_opts).toEqual(['no-new-privileges:true']);
    expect(container.read_only).toBe(true);
    expect(container.upload).toBeUndefined();
    expect(network.internal).toBe(true);
    expect(container.network_mode).toMatch(/^\$\{docker_network\..*\.name\}$/);
    expect(container.networks_advanced).toBeUndefined();
    expect(container.ports).toBeUndefined();
    expect(container.volumes).toEqual([{ host_path: '/var/run/docker.sock', container_path: '/var/run/docker.sock', read_only: true }]);
  });

  test('carries the generated config in its environment, with the exec body pinned from the Quiesce command', () => {
    // GIVEN a command that Terraform would otherwise interpolate
    const command = ['sh', '-c', 'pg_dumpall -f "${PGDATA}/dump.sql" # %{x}'];
    // WHEN
    const { proxy, env } = synthProxy(Quiesce.exec(command, { timeoutSeconds: 900 }));
    // THEN: Terraform hands HAProxy exactly the generated text
    expect(unescape(env.HAPROXY_CONFIG)).toBe(proxy.config);
    expect(proxy.config).toContain('timeout server 960s');
    const sha = require('crypto').createHash('sha256').update(execCreateBody(command)).digest('hex').toUpperCase();
    expect(proxy.config).toContain(`acl b_exec_create req.body,sha2(256),hex -m str ${sha}`);
  });

  test('refuses a Quiesce of another mode', () => {
    const stack = dockerStack();
    expect(() => new DockerApiProxy(stack, 'p', { containerName: 'db', mode: QuiesceMode.STOP, quiesce: Quiesce.pause() })).toThrow(
      /serves quiesce mode "stop" but was given a Quiesce of mode "pause"/,
    );
  });

  test.each(['busybox sh', 'dash'])('its entrypoint, run by %s, writes the config byte for byte and starts haproxy on it', (shell) => {
    // GIVEN the entrypoint with its file moved out of /tmp, and haproxy replaced by a shim
    // that runs Debian's `haproxy -c` on the same arguments
    const { proxy, container, env } = synthProxy(Quiesce.exec(['true']));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-entrypoint-'));
    try {
      fs.writeFileSync(path.join(dir, 'haproxy'), '#!/bin/sh\nexec /usr/sbin/haproxy -c "$@"\n', { mode: 0o755 });
      const [sh, flag, script] = container.entrypoint as string[];
      expect([sh, flag]).toEqual(['/bin/sh', '-c']);
      const cfg = path.join(dir, 'haproxy.cfg');
      // WHEN
      const r = spawnSync(shell.split(' ')[0], [...shell.split(' ').slice(1), '-c', script.replace(/\/tmp\/haproxy\.cfg/g, cfg)], {
        env: { PATH: `${dir}:/usr/bin:/bin`, HAPROXY_CONFIG: unescape(env.HAPROXY_CONFIG) },
        encoding: 'utf8',
      });
      // THEN
      expect(r.stdout + r.stderr).toMatch(/Configuration file is valid/);
      expect(r.status).toBe(0);
      expect(fs.readFileSync(cfg, 'utf8')).toBe(proxy.config);
      expect(fs.statSync(cfg).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
