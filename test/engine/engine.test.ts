/**
 * The real-engine tier's foundation: the daemon jest started answers on its own socket, is
 * Debian's Engine 20.10 (API 1.41), and lives in a network namespace of its own.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DockerApi } from '../support/engine/docker-api';
import { currentEngine, dockerOk, reapOrphanedEngines, startEngine } from '../support/engine/docker-engine';

describe('the tests\' Docker Engine', () => {
  test('answers on its own socket with API 1.41', async () => {
    const api = DockerApi.forTestEngine();
    const version = (await api.call('GET', '/version')).json<{ ApiVersion: string; Version: string }>();
    expect(version.ApiVersion).toBe('1.41');
    expect(version.Version).toMatch(/^20\.10\./);
    const info = (await api.call('GET', '/info')).json<{ Driver: string; DockerRootDir: string }>();
    expect(info.Driver).toBe('vfs');
    expect(info.DockerRootDir.startsWith(currentEngine().dir)).toBe(true);
  });

  test('runs in a network namespace of its own', () => {
    const engine = currentEngine();
    expect(fs.readlinkSync(`/proc/${engine.pid}/ns/net`)).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
  });

  test('an engine whose owner is gone (a run killed before its teardown) is reaped by the next run; a live owner\'s is not', async () => {
    // GIVEN an engine with a container, whose owner process no longer exists
    const orphan = await startEngine({ current: false, dirPrefix: 'ccb-engine-' });
    dockerOk(orphan, ['volume', 'create', 'left-behind']);
    fs.writeFileSync(path.join(orphan.dir, 'owner'), '2147483646 1');
    // WHEN the next run's globalSetup reaps
    const reaped = await reapOrphanedEngines();
    // THEN that engine is stopped and its folder gone; this run's own engine is untouched
    expect(reaped).toContain(orphan.dir);
    expect(reaped).not.toContain(currentEngine().dir);
    expect(() => process.kill(orphan.pid, 0)).toThrow();
    expect(fs.existsSync(orphan.dir)).toBe(false);
    expect(fs.readFileSync('/proc/self/mounts', 'utf8')).not.toContain(orphan.dir);
    expect((await DockerApi.forTestEngine().call('GET', '/_ping')).status).toBe(200);
  }, 60000);
});
