/**
 * The stack's ledger as the constructs write it and the synth reads it: what passes (deliberate
 * sharing, references to the stack's own volumes, prefixes of their own), what the data rule
 * sees (the user's own containers, acknowledged with a reason), and what it leaves alone.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { Aspects, TerraformStack, Testing } from 'cdktf';
import {
  BackupBucket,
  BackupSidecar,
  BackupSuppressions,
  OffsiteReplica,
  ProtectedContainer,
  StorageTarget,
  ThreeTwoOneChecks,
} from '../../src';
import { StackLedger } from '../../src/docker/stack-ledger';
import { ESCROWED, PG_DUMP, annotations, app, checkedStack, fullSynthError, hostStack, postgres } from '../compliance/stacks';
import { agentPlanOf, containerNamed, synthJson } from '../support/synth';

describe('what the ledger lets through', () => {
  test('a volume one container creates and another mounts with existing: true (deliberate sharing): the synth passes, and the data is read once', () => {
    // GIVEN db creates and backs up pgdata; a reporting container mounts it too (its owner backs it
    // up: `backup: false` here), and a container of the user's own mounts it as well
    const stack = checkedStack((s) => {
      postgres(s);
      new ProtectedContainer(s, 'report', { image: 'metabase:0.50', volumes: [{ name: 'pgdata', containerPath: '/srv/pg', existing: true, backup: false }] });
      new Container(s, 'exporter', { name: 'pg-exporter', image: 'postgres-exporter:0.15', mounts: [{ type: 'volume', source: 'pgdata', target: '/pg' }] });
    });
    // WHEN
    const error = fullSynthError(stack);
    // THEN: no refusal, no warning; each sharer's mount is read by db's sidecar
    expect(error).toBeUndefined();
    expect(annotations(stack, 'warn')).toEqual([]);
    expect(StackLedger.of(stack).mountsOf('db-host/report')).toEqual([
      { kind: 'volume', source: 'pgdata', containerPath: '/srv/pg', excluded: true, backedUpBy: ['db-host/db/backup'] },
    ]);
    expect(StackLedger.of(stack).mountsOf('db-host/exporter')).toEqual([{ kind: 'volume', source: 'pgdata', containerPath: '/pg', backedUpBy: ['db-host/db/backup'] }]);
  });

  test('a sidecar on its own may name a docker_volume of the stack by reference: checked by its name, mounted by the reference', () => {
    // GIVEN
    const stack = hostStack(app());
    const data = new Volume(stack, 'runner-data', { name: 'act-runner-data' });
    new Container(stack, 'runner', { name: 'act-runner', image: 'gitea/act_runner:0.2', mounts: [{ type: 'volume', source: data.name, target: '/data' }] });
    const sidecar = new BackupSidecar(stack, 'runner-backup', {
      containerName: 'act-runner',
      sources: [{ volumeName: data.name }],
      targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/act-runner' })],
    });
    // WHEN
    const json = synthJson(stack);
    // THEN
    expect(() => Testing.fullSynth(stack)).not.toThrow();
    expect(sidecar.sources).toEqual([{ volumeName: 'act-runner-data' }]);
    expect(containerNamed(json, 'act-runner-backup').mounts).toContainEqual({
      type: 'volume',
      source: expect.stringMatching(/^\$\{docker_volume\.runner-data\.name\}$/),
      target: '/backup/sources/act-runner-data',
      read_only: true,
    });
    expect(JSON.stringify(agentPlanOf(json, 'act-runner'))).toContain('act-runner-data');
  });

  test('a source made outside the stack is accepted when marked external', () => {
    const stack = hostStack(app());
    new BackupSidecar(stack, 'compose-backup', {
      containerName: 'gitea',
      sources: [{ volumeName: 'gitea_data', external: true }],
      targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/gitea' })],
    });
    expect(() => Testing.fullSynth(stack)).not.toThrow();
  });

  test('the checks are the library\'s: a stack of the user\'s own resources only is left alone', () => {
    const stack = hostStack(app());
    new Volume(stack, 'a', { name: 'same' });
    new Volume(stack, 'b', { name: 'same' });
    expect(() => Testing.fullSynth(stack)).not.toThrow();
  });
});

describe('one bucket, across the app', () => {
  /** A storage stack with a real BackupBucket, and `hosts` Docker hosts each with a "db" backed up to it. */
  function twoHosts(prefix?: (host: string) => string): TerraformStack[] {
    const a = app();
    const storage = new TerraformStack(a, 'storage');
    new AwsProvider(storage, 'aws', { region: 'eu-west-1' });
    const vault = new BackupBucket(storage, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1') });
    return ['host-1', 'host-2'].map((id) => {
      const host = hostStack(a, id);
      postgres(host, { targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db' }), StorageTarget.s3(vault, prefix ? { prefix: prefix(id) } : {})], quiesce: PG_DUMP(), password: ESCROWED(host) });
      return host;
    });
  }

  test('a "db" on two hosts into one BackupBucket folder is refused on the second host', () => {
    // GIVEN
    const [one, two] = twoHosts();
    // WHEN / THEN
    expect(fullSynthError(one)).toBeUndefined();
    expect(fullSynthError(two)).toMatch(
      /\[host-2\/db\/backup\] host-2\/db\/backup: the target "s3" writes the restic repository s3:https:\/\/s3\.eu-west-1\.amazonaws\.com\/\$\{[^}]+\}\/db, which the target "s3" of host-1\/db\/backup writes too: two sidecars under one restic host name \("db"\)/,
    );
  });

  test('with a prefix of their own, both pass', () => {
    const [one, two] = twoHosts((host) => `${host}/db`);
    expect(fullSynthError(one)).toBeUndefined();
    expect(fullSynthError(two)).toBeUndefined();
  });
});

describe('what the data rule sees', () => {
  test('a container of your own is evaluated for its data; acknowledged with a reason, it is an info, not a warning', () => {
    // GIVEN a redis cache next to the protected database, acknowledged
    const stack = checkedStack((s) => {
      postgres(s);
      const cache = new Container(s, 'cache', { name: 'cache', image: 'redis:7', mounts: [{ type: 'volume', source: 'redis-data', target: '/data' }] });
      BackupSuppressions.addToConstruct(cache, [{ ruleId: 'AllDataBackedUp', reason: 'cache, rebuilt from the database on start' }]);
    });
    // WHEN
    Testing.fullSynth(stack);
    // THEN
    expect(annotations(stack, 'warn')).toEqual([]);
    expect(annotations(stack, 'info')).toEqual(['db-host/cache: db-host/cache [AllDataBackedUp]: finding suppressed, reason: cache, rebuilt from the database on start']);
  });

  test('a stack of your own containers alone: the pack still reads them (no construct of the library made a ledger)', () => {
    // GIVEN only a redis cache, declared with the provider, under a pack added to its stack
    const stack = hostStack(app());
    new Container(stack, 'cache', { name: 'cache', image: 'redis:7', mounts: [{ type: 'volume', source: 'redis-data', target: '/data' }] });
    Aspects.of(stack).add(new ThreeTwoOneChecks({ printSummary: false }));
    // WHEN
    Testing.fullSynth(stack);
    // THEN its volume, which no backup reads, is a warning
    expect(annotations(stack, 'warn').filter((a) => a.includes('[AllDataBackedUp]'))).toEqual([
      expect.stringContaining('db-host/cache: db-host/cache [AllDataBackedUp]'),
    ]);
  });

  test('the library\'s own containers are not evaluated, nor a volume declared backup: false', () => {
    // GIVEN a protected database with a scratch volume, its sidecar, installer and proxy
    const stack = checkedStack((s) =>
      postgres(s, {}, { volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }, { name: 'pgscratch', containerPath: '/scratch', backup: false }] }),
    );
    // WHEN
    Testing.fullSynth(stack);
    // THEN: no warning; only the protected container is a subject
    expect(annotations(stack, 'warn')).toEqual([]);
    const ledger = StackLedger.of(stack);
    const libraryMade = stack.node.findAll().filter((n) => (n as any).terraformResourceType === 'docker_container');
    expect(libraryMade.map((n) => ledger.isUnmanagedContainer(n))).toEqual(libraryMade.map(() => false));
    expect(ledger.mountsOf('db-host/db')).toEqual([
      { kind: 'volume', source: 'pgdata', containerPath: '/var/lib/postgresql/data', backedUpBy: ['db-host/db/backup'] },
      { kind: 'volume', source: 'pgscratch', containerPath: '/scratch', excluded: true, backedUpBy: [] },
    ]);
  });

  test('a container of your own that writes nothing (read-only mounts, the socket) is not a subject at all', () => {
    const a = app();
    const stack = hostStack(a);
    postgres(stack);
    new Container(stack, 'proxy', {
      name: 'traefik',
      image: 'traefik:3',
      volumes: [{ hostPath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock' }, { hostPath: '/etc/traefik', containerPath: '/etc/traefik', readOnly: true }],
    });
    Aspects.of(a).add(new ThreeTwoOneChecks({ printSummary: false }));
    Testing.fullSynth(stack);
    expect(annotations(stack, 'warn')).toEqual([]);
    expect(stack.node.findAll().flatMap((n) => n.node.metadata).filter((m) => m.type === '@cdktf/info')).toEqual([]);
  });
});

describe('cost', () => {
  /** How often the stack's tree is walked by a full synth of `count` protected containers. */
  function walks(count: number): number {
    const stack = checkedStack((s) => {
      for (let i = 1; i <= count; i++) {
        postgres(s, { targets: [StorageTarget.localPath({ hostPath: `/mnt/backup-disk/db${i}` })] }, { volumes: [{ name: `pgdata${i}`, containerPath: '/var/lib/postgresql/data' }] }, `db${i}`);
      }
    }, new ThreeTwoOneChecks({ printSummary: false }));
    const findAll = jest.spyOn(stack.node, 'findAll');
    fullSynthError(stack);
    const n = findAll.mock.calls.length;
    findAll.mockRestore();
    return n;
  }

  test('the ledger is read once per phase of the synth, however many constructs rely on it (a walk per construct made synth quadratic)', () => {
    // WHEN / THEN: as many walks of the stack for 12 containers as for 3
    expect(walks(12)).toBe(walks(3));
  });
});
