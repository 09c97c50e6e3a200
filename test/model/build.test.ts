import * as fs from 'fs';
import * as path from 'path';
import { CopyRole, Medium, Quiesce, Retention, Schedule, Site, Topology, Verification } from '../../src';
import { buildTopology } from '../../src/model/build';

const HOST = Site.dockerHost();

function facts(targets: any[], overrides: any = {}) {
  return {
    targets,
    schedule: Schedule.daily({ hour: 2 }),
    retention: Retention.standard(),
    quiesce: Quiesce.none(),
    verification: Verification.standard(),
    ...overrides,
  };
}

describe('buildTopology', () => {
  test('the live data is the first copy: on the Docker host disk, at the container site', () => {
    // WHEN
    const t = buildTopology({ path: 'h/db', containerName: 'db', site: HOST, dataVolumes: ['pgdata'] });
    // THEN
    expect(t.copies).toEqual([
      { name: 'live data', role: CopyRole.LIVE, medium: Medium.DISK, site: HOST, immutable: false, offline: false, encrypted: false, readBack: false },
    ]);
    expect(t.backup).toBeUndefined();
  });

  test('each target, then its replicas, in order; replicas inherit encryption and name their source', () => {
    // GIVEN
    const region = Site.awsRegion('eu-west-1');
    const offsite = Site.awsRegion('eu-central-1');
    const targets = [
      { name: 'local', repository: '/backup/targets/local', medium: Medium.DISK, site: HOST, hostPath: '/mnt/b' },
      {
        name: 'vault',
        repository: 's3:vault/db',
        medium: Medium.OBJECT_STORAGE,
        site: region,
        replicas: [{ name: 'vault-offsite', medium: Medium.ARCHIVE, site: offsite, immutable: true, immutableRetentionDays: 400, verifyRepository: 's3:replica/db' }],
      },
      { name: 'plain', repository: '/x', medium: Medium.NAS, site: HOST, encrypted: false, offline: true, replicas: [{ name: 'plain-copy', medium: Medium.NAS, site: HOST, immutable: false }] },
    ];
    // WHEN
    const t = buildTopology({ path: 'h/db', containerName: 'db', image: 'postgres:16', site: HOST, dataVolumes: ['pgdata'], backup: facts(targets) });
    // THEN
    expect(t.copies.map((c) => [c.name, c.role, c.medium, c.site.id, c.immutable, c.offline, c.encrypted, c.readBack, c.copyOf])).toEqual([
      ['live data', 'live', 'disk', 'docker-host:docker-host', false, false, false, false, undefined],
      ['local', 'target', 'disk', 'docker-host:docker-host', false, false, true, true, undefined],
      ['vault', 'target', 'object-storage', 'aws-region:eu-west-1', false, false, true, true, undefined],
      ['vault-offsite', 'replica', 'archive', 'aws-region:eu-central-1', true, false, true, true, 'vault'],
      ['plain', 'target', 'nas', 'docker-host:docker-host', false, true, false, true, undefined],
      ['plain-copy', 'replica', 'nas', 'docker-host:docker-host', false, false, false, false, 'plain'],
    ]);
    expect(t.copies[3].immutableRetentionDays).toBe(400);
    expect(t.copies[3].repository).toBe('s3:replica/db');
  });

  test('the plan carries schedule gap, retention horizon, quiesce, verification and RPO', () => {
    // WHEN
    const t = buildTopology({
      path: 'h/db',
      containerName: 'db',
      site: HOST,
      dataVolumes: ['pgdata'],
      backup: facts([], { schedule: Schedule.everyHours(6), quiesce: Quiesce.stop(), recoveryPointObjectiveMinutes: 360 }),
    });
    // THEN
    expect(t.backup).toEqual({
      scheduleExpression: '0 */6 * * *',
      maxIntervalSeconds: 6 * 3600,
      retentionHorizonDays: 372,
      retentionForgetArguments: ['--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12'],
      quiesceMode: 'stop',
      readAllDataWithinDays: 28,
      restoreDrillExpression: '0 5 * * 0',
      restoreDrillMaxIntervalSeconds: 7 * 86400,
      recoveryPointObjectiveMinutes: 360,
    });
  });

  test('structure-only verification: no read-back, no drill', () => {
    const t = buildTopology({ path: 'h/db', containerName: 'db', site: HOST, dataVolumes: ['d'], backup: facts([], { verification: Verification.structureOnly() }) });
    expect(t.backup?.readAllDataWithinDays).toBeUndefined();
    expect(t.backup?.restoreDrillExpression).toBeUndefined();
    expect(t.backup?.restoreDrillMaxIntervalSeconds).toBeUndefined();
  });
});

describe('Topology', () => {
  const t = Topology.of(buildTopology({
    path: 'h/db',
    containerName: 'db',
    site: HOST,
    dataVolumes: ['pgdata'],
    backup: facts([
      { name: 'local', repository: '/l', medium: Medium.DISK, site: HOST },
      { name: 'tape', repository: '/t', medium: Medium.ARCHIVE, site: Site.named('vault-room'), offline: true },
    ]),
  }));

  test('media and sites are distinct, in order of appearance, live data included', () => {
    expect(t.media()).toEqual([Medium.DISK, Medium.ARCHIVE]);
    expect(t.sites().map((s) => s.id)).toEqual(['docker-host:docker-host', 'named:vault-room']);
  });

  test('offsite, immutable-or-offline and backup copies', () => {
    expect(t.offsiteCopies().map((c) => c.name)).toEqual(['tape']);
    expect(t.immutableOrOfflineCopies().map((c) => c.name)).toEqual(['tape']);
    expect(t.backupCopies().map((c) => c.name)).toEqual(['local', 'tape']);
  });

  test('stateless: no data volumes and no backup', () => {
    expect(t.isStateless()).toBe(false);
    expect(Topology.of(buildTopology({ path: 'h/web', containerName: 'web', site: HOST, dataVolumes: [] })).isStateless()).toBe(true);
    expect(Topology.of(buildTopology({ path: 'h/db', containerName: 'db', site: HOST, dataVolumes: ['d'] })).isStateless()).toBe(false);
  });
});

test('the model and the rules import no cdktf (they are plain evaluations)', () => {
  const root = path.resolve(__dirname, '..', '..', 'src');
  const files = [
    ...fs.readdirSync(path.join(root, 'model')).map((f) => path.join(root, 'model', f)),
    ...fs.readdirSync(path.join(root, 'compliance', 'rules')).map((f) => path.join(root, 'compliance', 'rules', f)),
    path.join(root, 'compliance', 'report.ts'),
    path.join(root, 'compliance', 'finding.ts'),
  ];
  // Follow relative imports: nothing reachable from the model may import cdktf or a provider.
  const seen = new Set<string>();
  const offenders: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)) {
      const [, typeOnly, spec] = m;
      if (spec.startsWith('.')) {
        if (!typeOnly) visit(path.resolve(path.dirname(file), spec) + '.ts');
      } else if (/^(cdktf|@cdktf\/)/.test(spec)) {
        offenders.push(`${path.relative(root, file)} imports ${spec}`);
      }
    }
  };
  files.forEach(visit);
  expect(offenders).toEqual([]);
  expect(seen.size).toBeGreaterThan(files.length);
});
