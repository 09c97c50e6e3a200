/** Where the file a quiesce command writes lands (src/model/quiesce-output.ts). */
import { Quiesce } from '../../src';
import { resolveQuiesceOutput } from '../../src/model/quiesce-output';

const PGDATA = { volumeName: 'pgdata', containerPath: '/var/lib/postgresql/data' };
const resolve = (command: string[], sources = [PGDATA], notBackedUp: any[] = []) =>
  resolveQuiesceOutput('db-host/db/backup', Quiesce.exec(command), sources, notBackedUp, '/backup/sources');

describe('resolveQuiesceOutput', () => {
  test('a dump in a backed-up volume is read by the sidecar under that source', () => {
    expect(resolve(['pg_dumpall', '-f', '/var/lib/postgresql/data/dump.sql'])).toEqual({
      containerPath: '/var/lib/postgresql/data/dump.sql',
      volumeName: 'pgdata',
      sidecarPath: '/backup/sources/pgdata/dump.sql',
    });
  });

  test('the deepest mount holds the output', () => {
    const cache = { volumeName: 'cache', containerPath: '/var/lib/postgresql/data/cache' };
    expect(resolve(['pg_dumpall', '-f', '/var/lib/postgresql/data/cache/x/dump.sql'], [PGDATA, cache])).toMatchObject({
      volumeName: 'cache',
      sidecarPath: '/backup/sources/cache/x/dump.sql',
    });
    expect(() => resolve(['pg_dumpall', '-f', '/var/lib/postgresql/data/cache/dump.sql'], [PGDATA], [cache])).toThrow(/into volume "cache", which is not backed up/);
  });

  test('a folder that merely starts like the mount point is not in it', () => {
    expect(() => resolve(['pg_dumpall', '-f', '/var/lib/postgresql/data2/dump.sql'])).toThrow(/lies in no volume of the container/);
  });

  test('without mount points (a sidecar on its own) the output is known but not placed', () => {
    expect(resolve(['pg_dumpall', '-f', '/x/dump.sql'], [{ volumeName: 'pgdata' } as any])).toEqual({ containerPath: '/x/dump.sql' });
  });

  test('no exec output: undefined', () => {
    expect(resolve(['redis-cli', 'SAVE'])).toBeUndefined();
  });
});
