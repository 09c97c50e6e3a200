/**
 * The sidecar's seccomp profile on the real engine (Debian docker.io 20.10, vfs on the host's
 * ext4), sent the way the docker provider sends `security_opts`: as strings in
 * HostConfig.SecurityOpt of ContainerCreate, the profile's JSON content after `seccomp=`.
 *
 * Every container here has the sidecar's privileges: `CapDrop: ALL`, `CapAdd: DAC_READ_SEARCH`,
 * `no-new-privileges`. The probe (test/support/engine/probes/open-by-handle-at.c) is copied onto
 * a named volume at /backup/agent, the sidecar's state volume, and run with `docker exec`, as
 * the e2e test runs it in the deployed sidecar (runProbeIn).
 *
 * Image: ccb-seccomp-busybox (probes/throwaway-image.ts), Debian's busybox + jq + restic 0.14,
 * standing in for the official restic image (alpine: busybox sh, jq, restic). The probe is
 * static, so the C library of the image plays no part in what it shows.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import { dockerDefaultSeccompProfile, sidecarSeccompProfile } from '../../src/docker/seccomp/sidecar-seccomp';
import { DockerApi } from '../support/engine/docker-api';
import { currentEngine, docker, dockerOk } from '../support/engine/docker-engine';
import { buildProbe, runProbeIn, SIDECAR_STATE_DIR } from '../support/engine/probes/probe';
import { ensureThrowawayImage } from '../support/engine/probes/throwaway-image';

const engine = currentEngine();
const api = DockerApi.forTestEngine();
const run = crypto.randomBytes(3).toString('hex');
const made: { containers: string[]; volumes: string[] } = { containers: [], volumes: [] };
let image: string;

/** The sidecar's capabilities, plus the given security options. */
function sidecarHostConfig(securityOpt: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    CapDrop: ['ALL'],
    CapAdd: ['DAC_READ_SEARCH'],
    SecurityOpt: ['no-new-privileges', ...securityOpt],
    NetworkMode: 'none',
    ...extra,
  };
}

/** ContainerCreate + ContainerStart through the API, a state volume at /backup/agent. */
async function startContainer(label: string, hostConfig: Record<string, unknown>, cmd = ['sleep', '600'], env: string[] = []): Promise<string> {
  const name = `ccb-seccomp-${run}-${label}`;
  const state = `${name}-state`;
  made.volumes.push(state);
  const mounts = [...((hostConfig.Mounts as unknown[]) ?? []), { Type: 'volume', Source: state, Target: SIDECAR_STATE_DIR }];
  await api.call('POST', `/containers/create?name=${name}`, {
    body: { Image: image, Cmd: cmd, Env: env, HostConfig: { ...hostConfig, Mounts: mounts } },
  });
  made.containers.push(name);
  await api.call('POST', `/containers/${name}/start`);
  return name;
}

/** Runs a command to its end in a container; its exit code and output. */
async function runToEnd(label: string, hostConfig: Record<string, unknown>, script: string, env: string[] = []) {
  const name = await startContainer(label, hostConfig, ['sh', '-c', script], env);
  const { StatusCode } = (await api.call('POST', `/containers/${name}/wait`)).json<{ StatusCode: number }>();
  const logs = docker(engine, ['logs', name]);
  return { status: StatusCode, stdout: logs.stdout, stderr: logs.stderr };
}

beforeAll(() => {
  image = ensureThrowawayImage(engine);
  buildProbe();
});

afterAll(() => {
  if (made.containers.length) docker(engine, ['rm', '-f', ...made.containers]);
  if (made.volumes.length) docker(engine, ['volume', 'rm', '-f', ...made.volumes]);
});

describe('open_by_handle_at with CAP_DAC_READ_SEARCH ("shocker")', () => {
  test('the engine is the version the vendored default comes from', async () => {
    const version = (await api.call('GET', '/version')).json<{ Version: string }>().Version;
    const vendored = /\| Upstream version \| (\S+) \|/.exec(fs.readFileSync(`${__dirname}/../../src/docker/seccomp/README.md`, 'utf8'))?.[1];
    expect(version.replace(/[+~-].*$/, '')).toBe(vendored);
  });

  test('under Docker\'s default profile: the probe lists the HOST\'s filesystem root through /etc/hosts', async () => {
    // GIVEN the sidecar's privileges and no seccomp option (the engine's built-in default)
    const name = await startContainer('default', sidecarHostConfig([]));
    // WHEN the probe opens inode 2 of the filesystem under the bind-mounted /etc/hosts
    const result = runProbeIn(engine, name);
    // THEN it reads the host's root directory (the engine's data root is on the host's ext4
    // root filesystem, so /etc/hosts, kept under it, leads there), not the container's
    expect(result.outcome).toBe('OK');
    expect(result.entries).toEqual(fs.readdirSync('/').sort().slice(0, 64));
    const containerRoot = dockerOk(engine, ['exec', name, 'ls', '-A', '/']).split('\n').filter(Boolean).sort();
    expect(result.entries).not.toEqual(containerRoot);
  });

  test('under the vendored default sent as seccomp=<json>: the same (the vendored file is this engine\'s default)', async () => {
    const name = await startContainer('vendored', sidecarHostConfig([`seccomp=${JSON.stringify(dockerDefaultSeccompProfile())}`]));
    const result = runProbeIn(engine, name);
    expect(result.outcome).toBe('OK');
    expect(result.entries).toEqual(fs.readdirSync('/').sort().slice(0, 64));
  });

  test('under the sidecar\'s profile sent as seccomp=<json>: EPERM', async () => {
    // GIVEN the same container but for the profile, passed as the provider passes security_opts
    const name = await startContainer('sidecar', sidecarHostConfig([`seccomp=${sidecarSeccompProfile()}`]));
    // THEN the engine kept the profile, and the container still holds the capability
    const inspected = JSON.parse(dockerOk(engine, ['inspect', name]))[0];
    expect(inspected.HostConfig.SecurityOpt).toEqual(['no-new-privileges', `seccomp=${sidecarSeccompProfile()}`]);
    const status = dockerOk(engine, ['exec', name, 'cat', '/proc/self/status']);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(status)![1]}`)).toBe(1n << 2n); // CAP_DAC_READ_SEARCH = 2
    // WHEN the probe tries
    const result = runProbeIn(engine, name);
    // THEN seccomp refuses the call
    expect(result).toEqual(expect.objectContaining({ outcome: 'EPERM', line: 'EPERM', exitCode: 10 }));
  });
});

describe('the sidecar\'s work under its profile', () => {
  const data = `ccb-seccomp-${run}-pgdata`;

  beforeAll(async () => {
    // GIVEN a database-like volume: a 0700 folder owned by uid 999 holding 0600 files
    made.volumes.push(data);
    const setup = await runToEnd('setup', { Mounts: [{ Type: 'volume', Source: data, Target: '/data' }], NetworkMode: 'none' }, [
      'set -e',
      'mkdir -p /data/pgdata/base',
      'echo 16 > /data/pgdata/PG_VERSION',
      'head -c 100000 /dev/urandom > /data/pgdata/base/1234',
      'chown -R 999:999 /data/pgdata',
      'chmod 700 /data/pgdata /data/pgdata/base',
      'chmod 600 /data/pgdata/PG_VERSION /data/pgdata/base/1234',
      'stat -c "%a %u" /data/pgdata',
    ].join('\n'));
    expect(setup).toEqual(expect.objectContaining({ status: 0, stdout: '700 999\n' }));
  });

  const source = () => ({ Type: 'volume', Source: data, Target: '/backup/sources/pgdata', ReadOnly: true });

  test('without CAP_DAC_READ_SEARCH the folder is closed (why the sidecar keeps the capability)', async () => {
    const r = await runToEnd('nocap', { ...sidecarHostConfig([`seccomp=${sidecarSeccompProfile()}`], { Mounts: [source()] }), CapAdd: [] },
      'cat /backup/sources/pgdata/pgdata/PG_VERSION');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  test('with the profile it reads the folder, and busybox sh, jq and restic work', async () => {
    // WHEN the sidecar-like container backs the folder up with restic to a local repository
    const r = await runToEnd('work', sidecarHostConfig([`seccomp=${sidecarSeccompProfile()}`], { Mounts: [source()] }), [
      'set -e',
      'cat /backup/sources/pgdata/pgdata/PG_VERSION',
      'ls /backup/sources/pgdata/pgdata/base',
      'echo \'{"targets":[{"name":"local"}]}\' | jq -r ".targets[0].name"',
      'restic init -q',
      'restic backup -q --host sidecar /backup/sources/pgdata',
      'restic dump latest /backup/sources/pgdata/pgdata/PG_VERSION',
      'restic dump latest /backup/sources/pgdata/pgdata/base/1234 | cmp - /backup/sources/pgdata/pgdata/base/1234 && echo same',
      'restic check -q && echo checked',
    ].join('\n'), ['RESTIC_REPOSITORY=/backup/agent/repo', 'RESTIC_PASSWORD=not-a-secret', 'RESTIC_CACHE_DIR=/backup/agent/cache']);
    // THEN every step worked
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('16\n1234\nlocal\n16\nsame\nchecked\n');
  });
});
