/**
 * Every rule: at least one compliant, one non-compliant and one not-applicable case, on pure
 * topologies (no constructs: the rules are plain evaluations of the model).
 */
import {
  ContainerTopology,
  CopyRole,
  LockStrength,
  DatabaseConsistencyRule,
  IBackupRule,
  Medium,
  ObjectLockCoversRetentionRule,
  OneImmutableOrOfflineRule,
  OneOffsiteRule,
  QuiesceMode,
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

function expectOutcome(rule: IBackupRule, topology: ContainerTopology, outcome: RuleOutcome, observed: string) {
  const result = rule.evaluate(Topology.of(topology));
  expect({ outcome: result.outcome, observed: result.observed }).toEqual({ outcome, observed });
}

const { COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE } = RuleOutcome;

describe('ThreeCopiesRule', () => {
  const rule = new ThreeCopiesRule();
  test('compliant: live data, a local disk, S3 and its replica', () => {
    expectOutcome(rule, compliantTopology(), COMPLIANT, '4 copies (live data, local, vault, vault-offsite)');
  });
  test('non-compliant: live data and one local disk', () => {
    expectOutcome(rule, localOnlyTopology(), NON_COMPLIANT, '2 copies (live data, local)');
  });
  test('non-compliant: data volumes without any backup', () => {
    expectOutcome(rule, unprotectedTopology(), NON_COMPLIANT, '1 copy (live data)');
  });
  test('the live data counts: live data plus two targets is compliant', () => {
    expectOutcome(rule, localOnlyTopology({ copies: [live(), copy('a'), copy('b')] }), COMPLIANT, '3 copies (live data, a, b)');
  });
  test('not applicable: a stateless container', () => {
    expectOutcome(rule, statelessTopology(), NOT_APPLICABLE, 'stateless: no data volumes and no backup');
  });
});

describe('TwoMediaRule', () => {
  const rule = new TwoMediaRule();
  test('compliant: disk and object storage', () => {
    expectOutcome(rule, compliantTopology(), COMPLIANT, '2 media (disk: live data, local; object-storage: vault, vault-offsite)');
  });
  test('compliant: a NAS next to the live disk counts as a second medium', () => {
    expectOutcome(rule, localOnlyTopology({ copies: [live(), copy('nas', { medium: Medium.NAS })] }), COMPLIANT, '2 media (disk: live data; nas: nas)');
  });
  test('non-compliant: every copy on disk', () => {
    expectOutcome(rule, localOnlyTopology(), NON_COMPLIANT, '1 medium (disk: live data, local)');
  });
  test('not applicable: a stateless container', () => {
    expectOutcome(rule, statelessTopology(), NOT_APPLICABLE, 'stateless: no data volumes and no backup');
  });
});

describe('OneOffsiteRule', () => {
  const rule = new OneOffsiteRule();
  test('compliant: copies in two AWS regions', () => {
    expectOutcome(rule, compliantTopology(), COMPLIANT, '3 sites (docker-host, eu-west-1, eu-central-1)');
  });
  test('compliant: a NAS in another building', () => {
    const t = localOnlyTopology({ copies: [live(), copy('nas', { medium: Medium.NAS, site: Site.named('office-nas') })] });
    expectOutcome(rule, t, COMPLIANT, '2 sites (docker-host, office-nas)');
  });
  test('non-compliant: every copy on the Docker host', () => {
    expectOutcome(rule, localOnlyTopology(), NON_COMPLIANT, '1 site (docker-host)');
  });
  test('a copy at a differently named Docker host is offsite', () => {
    const t = localOnlyTopology({ copies: [live(), copy('other', { site: Site.dockerHost('host-b') })] });
    expectOutcome(rule, t, COMPLIANT, '2 sites (docker-host, host-b)');
  });
  test('not applicable: a stateless container', () => {
    expectOutcome(rule, statelessTopology(), NOT_APPLICABLE, 'stateless: no data volumes and no backup');
  });
});

describe('OneImmutableOrOfflineRule', () => {
  const rule = new OneImmutableOrOfflineRule();
  test('compliant: a replica with Object Lock', () => {
    expectOutcome(rule, compliantTopology(), COMPLIANT, '1 immutable or offline copy (vault-offsite: locked 400 days)');
  });
  test('compliant: an offline copy', () => {
    const t = localOnlyTopology({ copies: [live(), copy('tape', { medium: Medium.ARCHIVE, offline: true })] });
    expectOutcome(rule, t, COMPLIANT, '1 immutable or offline copy (tape: offline)');
  });
  test('compliant: an append-only repository without a lock period', () => {
    const t = localOnlyTopology({ copies: [live(), copy('rest', { immutable: true })] });
    expectOutcome(rule, t, COMPLIANT, '1 immutable or offline copy (rest: immutable)');
  });
  test('non-compliant: only mutable copies', () => {
    expectOutcome(rule, localOnlyTopology(), NON_COMPLIANT, 'no immutable or offline copy among local');
  });
  /** The default topology with the replica's lock of the given strength. */
  const locked = (strength: LockStrength) =>
    compliantTopology({ copies: compliantTopology().copies.map((c) => (c.role === CopyRole.REPLICA ? { ...c, lockStrength: strength } : c)) });
  test('compliant: a compliance-mode lock (holds against everyone, root included)', () => {
    expectOutcome(rule, locked(LockStrength.COMPLIANCE), COMPLIANT, '1 immutable or offline copy (vault-offsite: locked 400 days, compliance mode)');
  });
  test('compliant: a governance-mode lock whose bucket policy keeps the bypass to a break-glass principal', () => {
    expectOutcome(
      rule,
      locked(LockStrength.GOVERNANCE_WITH_BREAK_GLASS),
      COMPLIANT,
      '1 immutable or offline copy (vault-offsite: locked 400 days, governance mode, bypass kept to a break-glass principal)',
    );
  });
  test('non-compliant: a governance-mode lock anyone with the bypass can lift does not count', () => {
    expectOutcome(
      rule,
      locked(LockStrength.GOVERNANCE),
      NON_COMPLIANT,
      'no immutable or offline copy among local, vault, vault-offsite (vault-offsite is locked 400 days in governance mode with no break-glass bucket policy: ' +
        'anyone granted s3:BypassGovernanceRetention and s3:DeleteObjectVersion, e.g. an administrator, can delete its locked versions)',
    );
    expect(OneImmutableOrOfflineRule.bypassableCopies(Topology.of(locked(LockStrength.GOVERNANCE))).map((c) => c.name)).toEqual(['vault-offsite']);
  });
  test('compliant: a bypassable governance lock next to an offline copy (the offline copy counts)', () => {
    const t = locked(LockStrength.GOVERNANCE);
    const withTape = { ...t, copies: [...t.copies, copy('tape', { medium: Medium.ARCHIVE, offline: true })] };
    expectOutcome(rule, withTape, COMPLIANT, '1 immutable or offline copy (tape: offline)');
  });
  test('non-compliant: no backup copy at all', () => {
    expectOutcome(rule, unprotectedTopology(), NON_COMPLIANT, 'no backup copy at all');
  });
  test('not applicable: a stateless container', () => {
    expectOutcome(rule, statelessTopology(), NOT_APPLICABLE, 'stateless: no data volumes and no backup');
  });
});

describe('ZeroErrorsRule', () => {
  const rule = new ZeroErrorsRule();
  test('compliant: all data read back within 28 days, weekly drill', () => {
    expectOutcome(rule, compliantTopology(), COMPLIANT, 'all data read back within 28 days, restore drill every 7 days');
  });
  test('non-compliant: structure checks only', () => {
    const t = compliantTopology({ backup: plan({ readAllDataWithinDays: undefined, restoreDrillExpression: undefined, restoreDrillMaxIntervalSeconds: undefined }) });
    expectOutcome(rule, t, NON_COMPLIANT, 'data is never read back (structure checks only); no restore drill');
  });
  test('non-compliant: read-back period longer than the limit', () => {
    const t = compliantTopology({ backup: plan({ readAllDataWithinDays: 60 }) });
    expectOutcome(rule, t, NON_COMPLIANT, 'all data is read back within 60 days, more than the 31 days allowed');
  });
  test('non-compliant: drills too rare for a stricter limit', () => {
    const strict = new ZeroErrorsRule({ readBackWithinDays: 28, restoreDrillWithinDays: 1 });
    expectOutcome(strict, compliantTopology(), NON_COMPLIANT, 'restore drills run up to 7 days apart, more than the 1 day allowed');
  });
  test('not applicable: no backup declared', () => {
    expectOutcome(rule, unprotectedTopology(), NOT_APPLICABLE, 'no backup declared: nothing to verify');
  });
  test('not applicable: a stateless container', () => {
    expectOutcome(rule, statelessTopology(), NOT_APPLICABLE, 'stateless: no data volumes and no backup');
  });
});

describe('ObjectLockCoversRetentionRule', () => {
  const rule = new ObjectLockCoversRetentionRule();
  test('compliant: 400-day lock, 372-day retention', () => {
    expectOutcome(rule, compliantTopology(), COMPLIANT, 'vault-offsite locked 400 days; retention keeps snapshots up to 372 days');
  });
  test('non-compliant: 30-day lock, 372-day retention', () => {
    const t = compliantTopology();
    const copies = t.copies.map((c) => (c.role === CopyRole.REPLICA ? { ...c, immutableRetentionDays: 30 } : c));
    expectOutcome(rule, { ...t, copies }, NON_COMPLIANT, 'vault-offsite locked 30 days; retention keeps snapshots up to 372 days');
  });
  test('not applicable: no Object Lock anywhere', () => {
    expectOutcome(rule, localOnlyTopology(), NOT_APPLICABLE, 'no copy has an Object Lock period');
  });
  test('not applicable: no backup', () => {
    expectOutcome(rule, unprotectedTopology(), NOT_APPLICABLE, 'no backup declared');
  });
});

describe('ScheduleMeetsRpoRule', () => {
  const rule = new ScheduleMeetsRpoRule();
  test('compliant: hourly backups, 60-minute RPO', () => {
    const t = compliantTopology({ backup: plan({ scheduleExpression: '0 * * * *', maxIntervalSeconds: 3600, recoveryPointObjectiveMinutes: 60 }) });
    expectOutcome(rule, t, COMPLIANT, 'schedule "0 * * * *" leaves up to 60 minutes between backups; RPO 60 minutes');
  });
  test('non-compliant: daily backups, 4-hour RPO', () => {
    const t = compliantTopology({ backup: plan({ recoveryPointObjectiveMinutes: 240 }) });
    expectOutcome(rule, t, NON_COMPLIANT, 'schedule "0 2 * * *" leaves up to 1440 minutes between backups; RPO 240 minutes');
  });
  test('not applicable: no RPO declared', () => {
    expectOutcome(rule, compliantTopology(), NOT_APPLICABLE, 'no recovery point objective declared');
  });
});

describe('RepositoriesEncryptedRule', () => {
  const rule = new RepositoriesEncryptedRule();
  test('compliant: restic repositories and their replica', () => {
    expectOutcome(rule, compliantTopology(), COMPLIANT, '3 copies encrypted (local, vault, vault-offsite)');
  });
  test('non-compliant: a target that declares encrypted: false', () => {
    const t = localOnlyTopology({ copies: [live(), copy('local'), copy('plain', { encrypted: false })] });
    expectOutcome(rule, t, NON_COMPLIANT, 'not encrypted: plain');
  });
  test('the live data is not a repository: its encryption is not checked', () => {
    expectOutcome(rule, localOnlyTopology(), COMPLIANT, '1 copy encrypted (local)');
  });
  test('not applicable: no backup', () => {
    expectOutcome(rule, unprotectedTopology(), NOT_APPLICABLE, 'no backup declared');
  });
});

describe('DatabaseConsistencyRule', () => {
  const rule = new DatabaseConsistencyRule();
  test('compliant: postgres dumped first (Quiesce.exec)', () => {
    expectOutcome(rule, compliantTopology(), COMPLIANT, 'image postgres:16 is a database, quiesce exec');
  });
  test.each([QuiesceMode.STOP, QuiesceMode.PAUSE])('compliant: quiesce %s', (mode) => {
    expectOutcome(rule, compliantTopology({ backup: plan({ quiesceMode: mode }) }), COMPLIANT, `image postgres:16 is a database, quiesce ${mode}`);
  });
  test.each(['postgres:16', 'mysql:8.4', 'mariadb:11', 'mongo:7', 'redis:7-alpine', 'registry.example.com:5000/library/postgres:16@sha256:' + 'a'.repeat(64)])(
    'non-compliant: %s backed up crash-consistent',
    (image) => {
      const t = compliantTopology({ image, backup: plan({ quiesceMode: QuiesceMode.NONE }) });
      expectOutcome(rule, t, NON_COMPLIANT, `image ${image} is a database, quiesce none`);
    },
  );
  test('not applicable: not a database image', () => {
    expectOutcome(rule, compliantTopology({ image: 'nginx:1.27', backup: plan({ quiesceMode: QuiesceMode.NONE }) }), NOT_APPLICABLE, 'image nginx:1.27 is not a known database');
  });
  test('not applicable: a sidecar on its own (image unknown)', () => {
    expectOutcome(rule, compliantTopology({ image: undefined }), NOT_APPLICABLE, 'image unknown (a BackupSidecar on its own)');
  });
  test('not applicable: no backup', () => {
    expectOutcome(rule, unprotectedTopology(), NOT_APPLICABLE, 'no backup declared');
  });
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
  ];
  expect(new Set(rules.map((r) => r.ruleId)).size).toBe(9);
  expect(rules.map((r) => r.ruleId)).toEqual([
    ThreeCopiesRule.RULE_ID, TwoMediaRule.RULE_ID, OneOffsiteRule.RULE_ID, OneImmutableOrOfflineRule.RULE_ID, ZeroErrorsRule.RULE_ID,
    ObjectLockCoversRetentionRule.RULE_ID, ScheduleMeetsRpoRule.RULE_ID, RepositoriesEncryptedRule.RULE_ID, DatabaseConsistencyRule.RULE_ID,
  ]);
  void HOST;
});
