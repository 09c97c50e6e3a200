/**
 * Every rule: at least one compliant, one non-compliant and one not-applicable case, on pure
 * topologies (no constructs: the rules are plain evaluations of the model).
 */
import {
  AllDataBackedUpRule,
  ContainerTopology,
  DataMount,
  MountType,
  PasswordEscrowedRule,
  CopyRole,
  LockStrength,
  DatabaseConsistencyRule,
  IBackupRule,
  Medium,
  ObjectLockCoversRetentionRule,
  OneImmutableOrOfflineRule,
  OneOffsiteRule,
  QuiesceMode,
  QuiesceOutputBackedUpRule,
  RepositoriesEncryptedRule,
  RuleOutcome,
  ScheduleMeetsRpoRule,
  Site,
  ThreeCopiesRule,
  Topology,
  TwoMediaRule,
  ZeroErrorsRule,
} from '../../src';
import { databaseFamily } from '../../src/compliance/rules/database-consistency';
import { HOST, compliantTopology, copy, live, localOnlyTopology, plan, statelessTopology, unprotectedTopology } from './fixtures';

/** One case of a rule: its name, the topology, and the outcome and observation the rule gives. */
type Case = [name: string, topology: ContainerTopology, outcome: RuleOutcome, observed: string];

const { COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE } = RuleOutcome;

/** A describe block named after the rule's class, one test per case. */
function describeRule(rule: IBackupRule, cases: Case[]): void {
  describe(rule.constructor.name, () => {
    test.each(cases)('%s', (_name, topology, outcome, observed) => {
      const result = rule.evaluate(Topology.of(topology));
      expect({ outcome: result.outcome, observed: result.observed }).toEqual({ outcome, observed });
    });
  });
}

/** The cases several rules share. */
const STATELESS_CASE: Case = ['not applicable: a stateless container', statelessTopology(), NOT_APPLICABLE, 'stateless: no data volumes and no backup'];
const NO_BACKUP_CASE: Case = ['not applicable: no backup', unprotectedTopology(), NOT_APPLICABLE, 'no backup declared'];

describeRule(new ThreeCopiesRule(), [
  ['compliant: live data, a local disk, S3 and its replica', compliantTopology(), COMPLIANT, '4 copies (live data, local, vault, vault-offsite)'],
  ['non-compliant: live data and one local disk', localOnlyTopology(), NON_COMPLIANT, '2 copies (live data, local)'],
  ['non-compliant: data volumes without any backup', unprotectedTopology(), NON_COMPLIANT, '1 copy (live data)'],
  ['the live data counts: live data plus two targets is compliant', localOnlyTopology({ copies: [live(), copy('a'), copy('b')] }), COMPLIANT, '3 copies (live data, a, b)'],
  STATELESS_CASE,
]);

describeRule(new TwoMediaRule(), [
  ['compliant: disk and object storage', compliantTopology(), COMPLIANT, '2 media (disk: live data, local; object-storage: vault, vault-offsite)'],
  [
    'compliant: a NAS next to the live disk counts as a second medium',
    localOnlyTopology({ copies: [live(), copy('nas', { medium: Medium.NAS })] }),
    COMPLIANT,
    '2 media (disk: live data; nas: nas)',
  ],
  ['non-compliant: every copy on disk', localOnlyTopology(), NON_COMPLIANT, '1 medium (disk: live data, local)'],
  STATELESS_CASE,
]);

describeRule(new OneOffsiteRule(), [
  ['compliant: copies in two AWS regions', compliantTopology(), COMPLIANT, '3 sites (docker-host, eu-west-1, eu-central-1)'],
  [
    'compliant: a NAS in another building',
    localOnlyTopology({ copies: [live(), copy('nas', { medium: Medium.NAS, site: Site.named('office-nas') })] }),
    COMPLIANT,
    '2 sites (docker-host, office-nas)',
  ],
  ['non-compliant: every copy on the Docker host', localOnlyTopology(), NON_COMPLIANT, '1 site (docker-host)'],
  [
    'a copy at a differently named Docker host is offsite',
    localOnlyTopology({ copies: [live(), copy('other', { site: Site.dockerHost('host-b') })] }),
    COMPLIANT,
    '2 sites (docker-host, host-b)',
  ],
  STATELESS_CASE,
]);

/** The default topology with the replica's lock of the given strength. */
const locked = (strength: LockStrength) =>
  compliantTopology({ copies: compliantTopology().copies.map((c) => (c.role === CopyRole.REPLICA ? { ...c, lockStrength: strength } : c)) });
const bypassable = locked(LockStrength.GOVERNANCE);

describeRule(new OneImmutableOrOfflineRule(), [
  ['compliant: a replica with Object Lock', compliantTopology(), COMPLIANT, '1 immutable or offline copy (vault-offsite: locked 400 days)'],
  [
    'compliant: an offline copy',
    localOnlyTopology({ copies: [live(), copy('tape', { medium: Medium.ARCHIVE, offline: true })] }),
    COMPLIANT,
    '1 immutable or offline copy (tape: offline)',
  ],
  [
    'compliant: an append-only repository without a lock period',
    localOnlyTopology({ copies: [live(), copy('rest', { immutable: true })] }),
    COMPLIANT,
    '1 immutable or offline copy (rest: immutable)',
  ],
  ['non-compliant: only mutable copies', localOnlyTopology(), NON_COMPLIANT, 'no immutable or offline copy among local'],
  [
    'compliant: a compliance-mode lock (holds against everyone, root included)',
    locked(LockStrength.COMPLIANCE),
    COMPLIANT,
    '1 immutable or offline copy (vault-offsite: locked 400 days, compliance mode)',
  ],
  [
    'compliant: a governance-mode lock whose bucket policy keeps the bypass to a break-glass principal',
    locked(LockStrength.GOVERNANCE_WITH_BREAK_GLASS),
    COMPLIANT,
    '1 immutable or offline copy (vault-offsite: locked 400 days, governance mode, bypass kept to a break-glass principal)',
  ],
  [
    'non-compliant: a governance-mode lock anyone with the bypass can lift does not count',
    bypassable,
    NON_COMPLIANT,
    'no immutable or offline copy among local, vault, vault-offsite (vault-offsite is locked 400 days in governance mode with no break-glass bucket policy: ' +
      'anyone granted s3:BypassGovernanceRetention and s3:DeleteObjectVersion, e.g. an administrator, can delete its locked versions)',
  ],
  [
    'compliant: a bypassable governance lock next to an offline copy (the offline copy counts)',
    { ...bypassable, copies: [...bypassable.copies, copy('tape', { medium: Medium.ARCHIVE, offline: true })] },
    COMPLIANT,
    '1 immutable or offline copy (tape: offline)',
  ],
  ['non-compliant: no backup copy at all', unprotectedTopology(), NON_COMPLIANT, 'no backup copy at all'],
  STATELESS_CASE,
]);

test('OneImmutableOrOfflineRule.bypassableCopies: the copies only a governance-mode lock without break-glass policy protects', () => {
  expect(OneImmutableOrOfflineRule.bypassableCopies(Topology.of(bypassable)).map((c) => c.name)).toEqual(['vault-offsite']);
});

describeRule(new ZeroErrorsRule(), [
  ['compliant: all data read back within 28 days, weekly drill', compliantTopology(), COMPLIANT, 'all data read back within 28 days, restore drill every 7 days'],
  [
    'non-compliant: structure checks only',
    compliantTopology({ backup: plan({ readAllDataWithinDays: undefined, restoreDrillExpression: undefined, restoreDrillMaxIntervalSeconds: undefined }) }),
    NON_COMPLIANT,
    'data is never read back (structure checks only); no restore drill',
  ],
  [
    'non-compliant: read-back period longer than the limit',
    compliantTopology({ backup: plan({ readAllDataWithinDays: 60 }) }),
    NON_COMPLIANT,
    'all data is read back within 60 days, more than the 31 days allowed',
  ],
  ['not applicable: no backup declared', unprotectedTopology(), NOT_APPLICABLE, 'no backup declared: nothing to verify'],
  STATELESS_CASE,
]);

describeRule(new ZeroErrorsRule({ readBackWithinDays: 28, restoreDrillWithinDays: 1 }), [
  ['non-compliant: drills too rare for a stricter limit', compliantTopology(), NON_COMPLIANT, 'restore drills run up to 7 days apart, more than the 1 day allowed'],
]);

describeRule(new ObjectLockCoversRetentionRule(), [
  ['compliant: 400-day lock, 372-day retention', compliantTopology(), COMPLIANT, 'vault-offsite locked 400 days; retention keeps snapshots up to 372 days'],
  [
    'non-compliant: 30-day lock, 372-day retention',
    compliantTopology({ copies: compliantTopology().copies.map((c) => (c.role === CopyRole.REPLICA ? { ...c, immutableRetentionDays: 30 } : c)) }),
    NON_COMPLIANT,
    'vault-offsite locked 30 days; retention keeps snapshots up to 372 days',
  ],
  ['not applicable: no Object Lock anywhere', localOnlyTopology(), NOT_APPLICABLE, 'no copy has an Object Lock period'],
  NO_BACKUP_CASE,
]);

describeRule(new ScheduleMeetsRpoRule(), [
  [
    'compliant: hourly backups, 60-minute RPO',
    compliantTopology({ backup: plan({ scheduleExpression: '0 * * * *', maxIntervalSeconds: 3600, recoveryPointObjectiveMinutes: 60 }) }),
    COMPLIANT,
    'schedule "0 * * * *" leaves up to 60 minutes between backups; RPO 60 minutes',
  ],
  [
    'non-compliant: daily backups, 4-hour RPO',
    compliantTopology({ backup: plan({ recoveryPointObjectiveMinutes: 240 }) }),
    NON_COMPLIANT,
    'schedule "0 2 * * *" leaves up to 1440 minutes between backups; RPO 240 minutes',
  ],
  ['not applicable: no RPO declared', compliantTopology(), NOT_APPLICABLE, 'no recovery point objective declared'],
]);

describeRule(new RepositoriesEncryptedRule(), [
  ['compliant: restic repositories and their replica', compliantTopology(), COMPLIANT, '3 copies encrypted (local, vault, vault-offsite)'],
  [
    'non-compliant: a target that declares encrypted: false',
    localOnlyTopology({ copies: [live(), copy('local'), copy('plain', { encrypted: false })] }),
    NON_COMPLIANT,
    'not encrypted: plain',
  ],
  ['the live data is not a repository: its encryption is not checked', localOnlyTopology(), COMPLIANT, '1 copy encrypted (local)'],
  NO_BACKUP_CASE,
]);

describeRule(new DatabaseConsistencyRule(), [
  ['compliant: postgres dumped first (Quiesce.exec)', compliantTopology(), COMPLIANT, 'image postgres:16 is a database, quiesce exec'],
  ...[QuiesceMode.STOP, QuiesceMode.PAUSE].map(
    (mode): Case => [`compliant: quiesce ${mode}`, compliantTopology({ backup: plan({ quiesceMode: mode }) }), COMPLIANT, `image postgres:16 is a database, quiesce ${mode}`],
  ),
  ...['postgres:16', 'mysql:8.4', 'mariadb:11', 'mongo:7', 'redis:7-alpine', 'registry.example.com:5000/library/postgres:16@sha256:' + 'a'.repeat(64)].map(
    (image): Case => [
      `non-compliant: ${image} backed up crash-consistent`,
      compliantTopology({ image, backup: plan({ quiesceMode: QuiesceMode.NONE }) }),
      NON_COMPLIANT,
      `image ${image} is a database, quiesce none`,
    ],
  ),
  [
    'not applicable: not a database image',
    compliantTopology({ image: 'nginx:1.27', backup: plan({ quiesceMode: QuiesceMode.NONE }) }),
    NOT_APPLICABLE,
    'image nginx:1.27 is not a known database',
  ],
  ['not applicable: a sidecar on its own (image unknown)', compliantTopology({ image: undefined }), NOT_APPLICABLE, 'image unknown (a BackupSidecar on its own)'],
  NO_BACKUP_CASE,
]);

describeRule(new QuiesceOutputBackedUpRule(), [
  [
    'compliant: the dump lands in a backed-up volume',
    compliantTopology(),
    COMPLIANT,
    'the exec quiesce writes /var/lib/postgresql/data/dump.sql, in volume pgdata, which the backup reads',
  ],
  [
    'non-compliant: an exec whose output is not known',
    compliantTopology({ backup: plan({ quiesceOutput: undefined, quiesceOutputVolume: undefined }) }),
    NON_COMPLIANT,
    'the exec quiesce writes a file synth cannot know',
  ],
  [
    'non-compliant: an output known, the volumes\' mount points not (a sidecar on its own)',
    compliantTopology({ backup: plan({ quiesceOutputVolume: undefined }) }),
    NON_COMPLIANT,
    'the exec quiesce writes /var/lib/postgresql/data/dump.sql, but where the volumes are mounted is not known',
  ],
  ['not applicable: quiesce stop', compliantTopology({ backup: plan({ quiesceMode: QuiesceMode.STOP }) }), NOT_APPLICABLE, 'quiesce stop writes no file'],
  NO_BACKUP_CASE,
]);

/** A mount of `source` at /data (a volume unless it starts with '/'), read by `backedUpBy`. */
function mount(source: string, backedUpBy: string[] = [], extra: Partial<DataMount> = {}): DataMount {
  return { kind: source.startsWith('/') ? MountType.BIND : MountType.VOLUME, source, containerPath: '/data', backedUpBy, ...extra };
}
/** A container of the user's own (not declared with this library) and what it mounts. */
function ownContainer(mounts: DataMount[]): ContainerTopology {
  return { path: 'db-host/cache', containerName: 'cache', image: 'redis:7', site: HOST, dataVolumes: [], copies: [live()], mounts, unmanaged: true };
}

describeRule(new AllDataBackedUpRule(), [
  ['compliant: the protected volume is read by its sidecar', compliantTopology({ mounts: [mount('pgdata', ['db-host/db/backup'])] }), COMPLIANT, 'volume "pgdata" at /data read by db-host/db/backup'],
  [
    'compliant: a volume declared not worth a backup (`backup: false`) is not a finding',
    compliantTopology({ mounts: [mount('pgdata', ['db-host/db/backup']), mount('pgcache', [], { excluded: true })] }),
    COMPLIANT,
    'volume "pgdata" at /data read by db-host/db/backup; volume "pgcache" at /data declared not worth a backup',
  ],
  [
    'compliant: your container mounts a volume another container\'s sidecar reads (deliberate sharing)',
    ownContainer([mount('uploads', ['db-host/app/backup'])]),
    COMPLIANT,
    'volume "uploads" at /data read by db-host/app/backup',
  ],
  ['non-compliant: your container writes a volume no backup reads', ownContainer([mount('redis-data')]), NON_COMPLIANT, '1 writable mount that no backup reads: volume "redis-data" at /data'],
  ['non-compliant: a writable host folder', ownContainer([mount('/srv/uploads')]), NON_COMPLIANT, '1 writable mount that no backup reads: host folder /srv/uploads at /data'],
  [
    'non-compliant: a ProtectedContainer without backup',
    { ...unprotectedTopology(), mounts: [mount('pgdata')] },
    NON_COMPLIANT,
    '1 writable mount that no backup reads: volume "pgdata" at /data',
  ],
  [
    'not applicable: read-only mounts, the Docker socket and the clock hold nothing the container writes',
    ownContainer([mount('site', [], { readOnly: true }), mount('/var/run/docker.sock'), mount('/etc/localtime'), mount('/run/secrets/x')]),
    NOT_APPLICABLE,
    'no volume or host folder the container writes',
  ],
  ['not applicable: mounts unknown (a sidecar on its own)', compliantTopology(), NOT_APPLICABLE, 'mounts unknown (a BackupSidecar or BackupService on its own)'],
]);

const VARIABLE = 'the Terraform variable "restic_password"';
describeRule(new PasswordEscrowedRule(), [
  [
    'non-compliant: the default variable, two copies at other sites',
    compliantTopology({ backup: plan({ passwordSource: VARIABLE }) }),
    NON_COMPLIANT,
    `the repository password (${VARIABLE}) is kept nowhere off the Docker host that synth knows of, and 2 copies at another site (vault, vault-offsite) must be readable after the host is lost`,
  ],
  [
    'compliant: escrowed (KeyEscrow, or a place the user names)',
    compliantTopology({ backup: plan({ passwordSource: 'a Terraform reference', passwordEscrowedIn: 'the SSM SecureString /p in eu-central-1' }) }),
    COMPLIANT,
    'the repository password (a Terraform reference) is escrowed in the SSM SecureString /p in eu-central-1; 2 copies at another site (vault, vault-offsite)',
  ],
  ['not applicable: every copy on the host (OneOffsite says so)', localOnlyTopology(), NOT_APPLICABLE, 'no copy at another site: none outlives the host'],
  NO_BACKUP_CASE,
]);

test('a container of your own: the 3-2-1 rules have nothing to count, and say why', () => {
  // GIVEN a docker_container declared with the provider directly, writing a volume
  const topology = Topology.of(ownContainer([mount('redis-data')]));
  // WHEN
  const results = [new ThreeCopiesRule(), new TwoMediaRule(), new OneOffsiteRule(), new OneImmutableOrOfflineRule(), new ZeroErrorsRule()].map((r) => r.evaluate(topology));
  // THEN
  for (const result of results) {
    expect({ outcome: result.outcome, observed: result.observed }).toEqual({
      outcome: NOT_APPLICABLE,
      observed: 'a container of your own (not declared with this library): nothing declared for backup to count',
    });
  }
});

describe('databaseFamily', () => {
  test.each([
    ['postgres:16', 'postgres'],
    ['bitnami/postgresql:16', 'postgres'],
    ['timescale/timescaledb:latest-pg16', 'postgres'],
    ['mysql', 'mysql'],
    ['docker.io/library/mariadb:11@sha256:' + 'b'.repeat(64), 'mariadb'],
    ['mongo:7', 'mongodb'],
    ['valkey/valkey:8', 'redis'],
    ['cassandra:5', 'other'],
    ['nginx:1.27', undefined],
    ['my-registry:5000/postgres-exporter:1', undefined],
  ])('%s -> %s', (image, family) => {
    expect(databaseFamily(image)).toBe(family);
  });
});

test('every built-in rule id is distinct and matches its static RULE_ID', () => {
  const rules: IBackupRule[] = [
    new ThreeCopiesRule(), new TwoMediaRule(), new OneOffsiteRule(), new OneImmutableOrOfflineRule(), new ZeroErrorsRule(),
    new ObjectLockCoversRetentionRule(), new ScheduleMeetsRpoRule(), new RepositoriesEncryptedRule(), new DatabaseConsistencyRule(),
    new QuiesceOutputBackedUpRule(), new AllDataBackedUpRule(), new PasswordEscrowedRule(),
  ];
  expect(new Set(rules.map((r) => r.ruleId)).size).toBe(12);
  expect(rules.map((r) => r.ruleId)).toEqual([
    ThreeCopiesRule.RULE_ID, TwoMediaRule.RULE_ID, OneOffsiteRule.RULE_ID, OneImmutableOrOfflineRule.RULE_ID, ZeroErrorsRule.RULE_ID,
    ObjectLockCoversRetentionRule.RULE_ID, ScheduleMeetsRpoRule.RULE_ID, RepositoriesEncryptedRule.RULE_ID, DatabaseConsistencyRule.RULE_ID,
    QuiesceOutputBackedUpRule.RULE_ID, AllDataBackedUpRule.RULE_ID, PasswordEscrowedRule.RULE_ID,
  ]);
});
