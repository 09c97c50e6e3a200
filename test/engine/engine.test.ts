/**
 * The real-engine tier's foundation: the daemon jest started answers on its own socket, is
 * Debian's Engine 20.10 (API 1.41), and lives in a network namespace of its own.
 */
import * as fs from 'fs';
import { DockerApi } from '../support/engine/docker-api';
import { currentEngine } from '../support/engine/docker-engine';

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
});
