/**
 * The checks across constructs, on plain ledgers (no constructs): what is refused, and what is
 * not (deliberate sharing, the user's own names among themselves, external sources).
 */
import { MountType } from '../../src';
import { checkHostLedger } from '../../src/model/check-host-ledger';
import { BackupUse, DockerObjectKind, HostLedger, MountingWorkload, NameClaim, backupsByVolume } from '../../src/model/host-ledger';
import { nearMiss } from '../../src/model/near-miss';
import { sharedRepositories } from '../../src/model/shared-repositories';

function claim(kind: DockerObjectKind, name: string, owner: string, extra: Partial<NameClaim> = {}): NameClaim {
  return { kind, name, owner, library: true, setBy: 'the containerName "x"', ...extra };
}

function container(path: string, volumes: string[], extra: Partial<MountingWorkload> = {}): MountingWorkload {
  return { path, library: false, plumbing: false, mounts: volumes.map((v) => ({ kind: MountType.VOLUME, source: v, containerPath: '/data', backedUpBy: [] })), ...extra };
}

function backup(path: string, extra: Partial<BackupUse> = {}): BackupUse {
  return { path, workload: path.split('/')[1], standalone: false, service: false, sources: [], externalSources: [], localFolders: [], remoteRepositories: [], ...extra };
}

function ledger(extra: Partial<HostLedger>): HostLedger {
  return { stack: 'db-host', names: [], workloads: [], backups: [], ...extra };
}

describe('checkHostLedger: names', () => {
  test('a volume one container creates and another mounts (existing: true) is deliberate sharing: no finding', () => {
    // GIVEN db creates pgdata; web mounts it without creating it
    const l = ledger({
      names: [claim(DockerObjectKind.VOLUME, 'pgdata', 'db-host/db', { declaredVolume: true })],
      workloads: [container('db-host/db', ['pgdata'], { library: true }), container('db-host/web', ['pgdata'], { library: true })],
    });
    // WHEN / THEN
    expect(checkHostLedger(l)).toEqual([]);
  });

  test('two of the user\'s own resources with one name are not the library\'s to refuse', () => {
    const l = ledger({
      names: [
        claim(DockerObjectKind.CONTAINER, 'web', 'db-host/a', { library: false, setBy: 'the `name`' }),
        claim(DockerObjectKind.CONTAINER, 'web', 'db-host/b', { library: false, setBy: 'the `name`' }),
      ],
    });
    expect(checkHostLedger(l)).toEqual([]);
  });

  test('a container and a network may share a name (Docker keeps them apart)', () => {
    const l = ledger({ names: [claim(DockerObjectKind.CONTAINER, 'db-backup-docker-api', 'db-host/db'), claim(DockerObjectKind.NETWORK, 'db-backup-docker-api', 'db-host/db')] });
    expect(checkHostLedger(l)).toEqual([]);
  });

  test('one construct making one name twice is reported on it once, with both settings', () => {
    // GIVEN db declares a volume named like its own sidecar's install volume
    const l = ledger({
      names: [
        claim(DockerObjectKind.VOLUME, 'db-backup-install', 'db-host/db', { declaredVolume: true, setBy: 'the volume\'s name in `volumes`' }),
        claim(DockerObjectKind.VOLUME, 'db-backup-install', 'db-host/db', { setBy: 'the containerName "db"' }),
      ],
    });
    // WHEN
    const findings = checkHostLedger(l);
    // THEN
    expect(findings.map((f) => f.where)).toEqual(['db-host/db']);
    expect(findings[0].message).toContain('the Docker volume "db-backup-install" is made twice by it;');
    expect(findings[0].message).toContain('Fix: rename it: the containerName "db" or the volume\'s name in `volumes`');
  });
});

describe('checkHostLedger: local folders', () => {
  test('folders side by side are fine; one inside another\'s repository is refused, saying so', () => {
    // GIVEN
    const l = ledger({
      backups: [
        backup('db-host/db/backup', { localFolders: [{ target: 'local', hostPath: '/mnt/b/db' }] }),
        backup('db-host/web/backup', { localFolders: [{ target: 'local', hostPath: '/mnt/b/web' }] }),
        backup('db-host/wiki/backup', { localFolders: [{ target: 'local', hostPath: '/mnt/b/db/repository/wiki' }] }),
      ],
    });
    // WHEN
    const findings = checkHostLedger(l);
    // THEN
    expect(findings.map((f) => f.where)).toEqual(['db-host/wiki/backup']);
    expect(findings[0].message).toContain('inside the restic repository it writes: restic would find foreign files there');
  });

  test('two targets of one backup in one folder: one repository counted as two copies', () => {
    const l = ledger({
      backups: [backup('db-host/db/backup', { localFolders: [{ target: 'local', hostPath: '/mnt/b' }, { target: 'nas', hostPath: '/mnt/b' }] })],
    });
    const [finding] = checkHostLedger(l);
    expect(finding.message).toBe(
      'db-host/db/backup: the local target "nas" (/mnt/b) has the same folder as the local target "local": the sidecar would write one restic repository (/mnt/b/repository) twice and count it as two copies. Fix: give each local target a folder of its own, side by side, none inside another: e.g. "/mnt/b/db-nas" for "nas" of db-host/db/backup and "/mnt/b/db-local" for "local"',
    );
  });

  test('"/mnt/b" and "/mnt/backup" are not nested', () => {
    const l = ledger({
      backups: [
        backup('db-host/db/backup', { localFolders: [{ target: 'local', hostPath: '/mnt/b' }] }),
        backup('db-host/web/backup', { localFolders: [{ target: 'local', hostPath: '/mnt/backup' }] }),
      ],
    });
    expect(checkHostLedger(l)).toEqual([]);
  });
});

describe('checkHostLedger: sources of a backup on its own', () => {
  test('a docker_volume, a mount of a container, or an external source: no finding', () => {
    const l = ledger({
      names: [claim(DockerObjectKind.VOLUME, 'made', 'db-host/v', { library: false })],
      workloads: [container('db-host/app', ['mounted'])],
      backups: [backup('db-host/b', { standalone: true, sources: ['made', 'mounted'], externalSources: ['compose-data'] })],
    });
    expect(checkHostLedger(l)).toEqual([]);
  });

  test('the backups\' own mounts declare nothing (the sidecar mounts its source itself)', () => {
    const l = ledger({
      workloads: [container('db-host/b', ['pgdata'], { library: true, plumbing: true })],
      backups: [backup('db-host/b', { standalone: true, sources: ['pgdata'] })],
    });
    expect(checkHostLedger(l)[0].message).toContain('the source volume "pgdata" is declared nowhere in the stack "db-host"');
    expect(checkHostLedger(l)[0].message).toContain('Fix: the stack declares no volume: declare it (a docker_volume, or the container that mounts it);');
  });

  test('a backup inside its workload is not checked (its workload declares its volumes)', () => {
    const l = ledger({ backups: [backup('db-host/db/backup', { sources: ['pgdata'] })] });
    expect(checkHostLedger(l)).toEqual([]);
  });
});

describe('sharedRepositories (across the app)', () => {
  test('two workloads in one bucket folder: reported on the later, naming the earlier', () => {
    // GIVEN
    const repo = { target: 's3', repository: 's3:https://s3.eu-west-1.amazonaws.com/vault/shared', display: 's3:.../vault/shared' };
    const backups = [backup('host-1/db/backup', { remoteRepositories: [repo] }), backup('host-1/wiki/backup', { remoteRepositories: [repo] })];
    // WHEN
    const findings = sharedRepositories(backups);
    // THEN
    expect(findings.map((f) => f.where)).toEqual(['host-1/wiki/backup']);
    expect(findings[0].message).toContain('which the target "s3" of host-1/db/backup writes too: two sidecars in one repository share its locks');
  });

  test('different prefixes of one bucket are different repositories', () => {
    const backups = [
      backup('host-1/db/backup', { remoteRepositories: [{ target: 's3', repository: 's3:x/vault/host-1/db', display: '' }] }),
      backup('host-2/db/backup', { remoteRepositories: [{ target: 's3', repository: 's3:x/vault/host-2/db', display: '' }] }),
    ];
    expect(sharedRepositories(backups)).toEqual([]);
  });
});

test('backupsByVolume: every backup that reads a volume, its external sources included', () => {
  const l = ledger({
    backups: [backup('h/db/backup', { sources: ['pgdata'] }), backup('h/extra', { standalone: true, externalSources: ['pgdata'] })],
  });
  expect(backupsByVolume(l).get('pgdata')).toEqual(['h/db/backup', 'h/extra']);
});

describe('nearMiss', () => {
  test.each([
    ['act_runner-data', ['act-runner-data', 'pgdata'], 'act-runner-data'],
    ['PGDATA', ['pgdata'], 'pgdata'],
    ['pgdta', ['pgdata', 'uploads'], 'pgdata'],
    ['cache', ['pgdata', 'uploads'], undefined],
    ['db', ['dc'], undefined],
  ])('%s among %j -> %s', (name, candidates, expected) => {
    expect(nearMiss(name, candidates)).toBe(expected);
  });
});
