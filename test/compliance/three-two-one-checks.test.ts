import { Aspects, Testing } from 'cdktf';
import {
  BackupSidecar,
  BackupSuppressions,
  ComplianceLevel,
  FindingLevel,
  IBackupRule,
  Medium,
  Quiesce,
  RuleOutcome,
  RuleResult,
  Site,
  StorageTarget,
  ThreeTwoOneChecks,
  Topology,
  Verification,
} from '../../src';
import { FakeBucketTarget, compliantTopology, localOnlyTopology } from './fixtures';
import { LOCAL, PG_DUMP, annotations, app, checkedStack, fullSynthError, hostStack, postgres } from './stacks';

const quiet = { printSummary: false };
const OFFSITE_FINDING =
  "db-host/db [OneOffsite]: only 1 site (docker-host): every copy is where the container runs, so one fire, flood or lost host takes them all. Fix: add an offsite copy: StorageTarget.s3(...) in another region, or an offsite replica on the bucket, or a target at another site (e.g. StorageTarget.localPath({ ..., site: Site.named('office-nas') }) for a NAS in another building)";

describe('ThreeTwoOneChecks', () => {
  test('a malformed rule id is refused with the ids of the rules the pack registers, every one of them', () => {
    // GIVEN the pack's own rules
    const ids = new ThreeTwoOneChecks().rules.map((r) => r.ruleId);
    // WHEN a suppression names a rule id that cannot be one
    const stack = hostStack(app(), 'db-host');
    // THEN the fix lists exactly those ids, in the pack's order
    expect(() => BackupSuppressions.addToConstruct(stack, [{ ruleId: 'no such rule', reason: 'a reason' }])).toThrow(
      `(the built-in ids are ${ids.join(', ')})`,
    );
    expect(ids).toContain('QuiesceOutputBackedUp');
  });

  test('a full 3-2-1-1-0 topology synthesizes with no finding', () => {
    // GIVEN
    const stack = checkedStack((s) => postgres(s));
    // THEN
    expect(fullSynthError(stack)).toBeUndefined();
    expect([...annotations(stack, 'error'), ...annotations(stack, 'warn')]).toEqual([]);
  });

  test('added to the App, it reaches the containers of every stack (cdktf alone skips App aspects)', () => {
    // GIVEN
    const a = app();
    const one = hostStack(a, 'host-one');
    const two = hostStack(a, 'host-two');
    postgres(one, { targets: [LOCAL()] });
    postgres(two, { targets: [LOCAL()] });
    // WHEN
    Aspects.of(a).add(new ThreeTwoOneChecks(quiet));
    Testing.synth(one);
    Testing.synth(two);
    // THEN
    expect(annotations(one, 'error').some((m) => m.startsWith('host-one/db: host-one/db [OneOffsite]'))).toBe(true);
    expect(annotations(two, 'error').some((m) => m.startsWith('host-two/db: host-two/db [OneOffsite]'))).toBe(true);
  });

  test('added to one stack, it checks only that stack', () => {
    const a = app();
    const checked = hostStack(a, 'checked');
    const other = hostStack(a, 'other');
    postgres(checked, { targets: [LOCAL()] });
    postgres(other, { targets: [LOCAL()] });
    Aspects.of(checked).add(new ThreeTwoOneChecks(quiet));
    Testing.synth(checked);
    Testing.synth(other);
    expect(annotations(checked, 'error')).toHaveLength(4);
    expect(annotations(other, 'error')).toEqual([]);
  });

  test('without its offsite copy the full synth fails, naming the path, the rule, the value and the fix', () => {
    // GIVEN: the S3 target and its replica removed
    const stack = checkedStack((s) => postgres(s, { targets: [LOCAL()] }));
    // WHEN
    const error = fullSynthError(stack);
    // THEN
    expect(error).toContain(`[db-host/db] ${OFFSITE_FINDING}`);
    expect(annotations(stack, 'error')).toContain(`db-host/db: ${OFFSITE_FINDING}`);
  });

  test('findings carry no stack trace (the CLI would print it under each error)', () => {
    const stack = checkedStack((s) => postgres(s, { targets: [LOCAL()] }));
    Testing.synth(stack);
    const entries = stack.node.findAll().flatMap((n) => n.node.metadata.filter((m) => m.type.startsWith('@cdktf/')));
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((m) => m.trace === undefined)).toBe(true);
  });

  test('each container is evaluated once, however often the aspects run', () => {
    const stack = checkedStack((s) => postgres(s, { targets: [LOCAL()] }));
    Testing.synth(stack);
    Testing.synth(stack);
    expect(annotations(stack, 'error')).toHaveLength(4);
  });

  test('the sidecar inside a ProtectedContainer is evaluated with its container, not twice', () => {
    const stack = checkedStack((s) => postgres(s, { targets: [LOCAL()] }));
    Testing.synth(stack);
    expect(annotations(stack, 'error').every((m) => m.startsWith('db-host/db: '))).toBe(true);
  });

  test('a BackupSidecar on its own is evaluated (image unknown: the database rule does not apply)', () => {
    const stack = checkedStack((s) => {
      new BackupSidecar(s, 'db-backup', { containerName: 'db', sources: [{ volumeName: 'pgdata' }], targets: [LOCAL()] });
    });
    Testing.synth(stack);
    expect(annotations(stack, 'error').map((m) => m.slice(0, m.indexOf(']') + 1))).toEqual([
      'db-host/db-backup: db-host/db-backup [ThreeCopies]',
      'db-host/db-backup: db-host/db-backup [TwoMedia]',
      'db-host/db-backup: db-host/db-backup [OneOffsite]',
      'db-host/db-backup: db-host/db-backup [OneImmutableOrOffline]',
    ]);
  });

  test('a container with data and no backup is refused; a stateless one passes', () => {
    const stack = checkedStack((s) => {
      postgres(s, null);
      postgres(s, null, { image: 'nginx:1.27', containerName: 'web', volumes: [{ name: 'cache', containerPath: '/cache', backup: false }] }, 'web');
    });
    Testing.synth(stack);
    const errors = annotations(stack, 'error');
    expect(errors).toContain(
      'db-host/db: db-host/db [ThreeCopies]: only 1 copy (live data); 3-2-1 needs the live data plus at least two backup copies. Fix: add backup copies: a second storage target in `backup.targets` (e.g. StorageTarget.s3(...), or a NAS with StorageTarget.localPath({ ..., medium: Medium.NAS })), or a replica of an existing target',
    );
    expect(errors.filter((m) => m.startsWith('db-host/web'))).toEqual([]);
  });

  describe('levels', () => {
    test('3-2-1: no immutable copy and no read-back are warnings, the synth goes on', () => {
      // GIVEN: 3 copies, 2 media, offsite, but nothing locked and structure checks only
      const stack = checkedStack(
        (s) => postgres(s, { targets: [LOCAL(), new FakeBucketTarget()], verification: Verification.structureOnly() }),
        new ThreeTwoOneChecks({ ...quiet, level: ComplianceLevel.THREE_TWO_ONE }),
      );
      // WHEN
      const error = fullSynthError(stack);
      // THEN
      expect(error).toBeUndefined();
      expect(annotations(stack, 'warn').map((m) => m.slice(0, m.indexOf(']') + 1))).toEqual([
        'db-host/db: db-host/db [OneImmutableOrOffline]',
        'db-host/db: db-host/db [ZeroErrors]',
      ]);
    });

    test('3-2-1-1-0 (the default): the same topology fails on the immutable copy', () => {
      const pack = new ThreeTwoOneChecks(quiet);
      expect(pack.level).toBe(ComplianceLevel.THREE_TWO_ONE_ONE_ZERO);
      const stack = checkedStack((s) => postgres(s, { targets: [LOCAL(), new FakeBucketTarget()] }), pack);
      expect(fullSynthError(stack)).toContain('db-host/db [OneImmutableOrOffline]: no immutable or offline copy among local, vault');
    });
  });

  describe('suppressions', () => {
    test('a crash-consistent database is accepted with a suppression and its reason', () => {
      // GIVEN
      const stack = checkedStack((s) => {
        const db = postgres(s, { quiesce: Quiesce.none() });
        BackupSuppressions.addToConstruct(db, [{ ruleId: 'DatabaseConsistency', reason: 'a read replica; the primary is dumped nightly' }]);
      });
      // WHEN / THEN
      expect(fullSynthError(stack)).toBeUndefined();
      expect(annotations(stack, 'info')).toEqual([
        'db-host/db: db-host/db [DatabaseConsistency]: finding suppressed, reason: a read replica; the primary is dumped nightly',
      ]);
    });

    test('a suppression on the stack or the App covers the containers below it', () => {
      const stack = checkedStack((s) => {
        postgres(s, { quiesce: Quiesce.none() });
        BackupSuppressions.addToConstruct(s.node.root, [{ ruleId: 'DatabaseConsistency', reason: 'test data only, nothing to keep' }]);
      });
      expect(fullSynthError(stack)).toBeUndefined();
    });

    test('a suppression of another rule does not hide the finding', () => {
      const stack = checkedStack((s) => {
        const db = postgres(s, { quiesce: Quiesce.none() });
        BackupSuppressions.addToConstruct(db, [{ ruleId: 'OneOffsite', reason: 'not what fails here at all' }]);
      });
      expect(fullSynthError(stack)).toContain('db-host/db [DatabaseConsistency]');
      expect(annotations(stack, 'info')).toEqual([]);
    });
  });

  describe('rules of your own', () => {
    class PinnedImage implements IBackupRule {
      public readonly ruleId = 'Acme-PinnedImage';
      public readonly description = 'The container image is pinned by digest';
      public evaluate(t: Topology): RuleResult {
        if (t.image === undefined) {
          return RuleResult.notApplicable('image unknown');
        }
        return t.image.includes('@sha256:') ? RuleResult.compliant(`image ${t.image}`) : RuleResult.nonCompliant(`image ${t.image}`);
      }
    }

    test('a finding at ERROR level names the path, the rule, the value and your fix', () => {
      const pack = new ThreeTwoOneChecks({ ...quiet, additionalRules: [{ rule: new PinnedImage(), fix: 'pin the image, e.g. "postgres:16@sha256:<digest>"' }] });
      const stack = checkedStack((s) => postgres(s), pack);
      expect(fullSynthError(stack)).toContain(
        '[db-host/db] db-host/db [Acme-PinnedImage]: The container image is pinned by digest: not met (image postgres:16). Fix: pin the image, e.g. "postgres:16@sha256:<digest>"',
      );
    });

    test('at WARNING level it does not stop the synth', () => {
      const pack = new ThreeTwoOneChecks({ ...quiet, additionalRules: [{ rule: new PinnedImage(), fix: 'pin it', level: FindingLevel.WARNING }] });
      const stack = checkedStack((s) => postgres(s), pack);
      expect(fullSynthError(stack)).toBeUndefined();
      expect(annotations(stack, 'warn')).toHaveLength(1);
    });

    test('a rule that throws becomes a finding, not a crash', () => {
      const broken: IBackupRule = {
        ruleId: 'Acme-Broken',
        description: 'always throws',
        evaluate: () => {
          throw new Error('boom');
        },
      };
      const findings = new ThreeTwoOneChecks({ additionalRules: [{ rule: broken, fix: 'n/a' }] }).evaluate(Topology.of(compliantTopology()));
      expect(findings.find((f) => f.ruleId === 'Acme-Broken')).toEqual({
        ruleId: 'Acme-Broken',
        description: 'always throws',
        outcome: RuleOutcome.NON_COMPLIANT,
        observed: 'the rule failed',
        level: FindingLevel.ERROR,
        message:
          "db-host/db [Acme-Broken]: the rule could not evaluate the topology: boom. Fix: fix the rule's evaluate() so it returns RuleResult.compliant/nonCompliant/notApplicable, or remove it from additionalRules",
      });
    });
  });

  test('evaluate() is the pure core: every rule, its outcome, level and message', () => {
    const findings = new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE }).evaluate(Topology.of(localOnlyTopology()));
    expect(findings.map((f) => [f.ruleId, f.outcome, f.level])).toEqual([
      ['ThreeCopies', 'non-compliant', 'error'],
      ['TwoMedia', 'non-compliant', 'error'],
      ['OneOffsite', 'non-compliant', 'error'],
      ['OneImmutableOrOffline', 'non-compliant', 'warning'],
      ['ZeroErrors', 'compliant', 'warning'],
      ['ObjectLockCoversRetention', 'not-applicable', 'error'],
      ['ScheduleMeetsRpo', 'not-applicable', 'error'],
      ['RepositoriesEncrypted', 'compliant', 'error'],
      ['DatabaseConsistency', 'compliant', 'error'],
      ['QuiesceOutputBackedUp', 'compliant', 'error'],
      ['ServiceDataPinned', 'not-applicable', 'error'],
      ['ReplicatedServiceData', 'not-applicable', 'warning'],
      ['AllDataBackedUp', 'not-applicable', 'warning'],
      ['PasswordEscrowed', 'not-applicable', 'warning'],
    ]);
    expect(findings.filter((f) => f.message !== undefined).map((f) => f.ruleId)).toEqual(['ThreeCopies', 'TwoMedia', 'OneOffsite', 'OneImmutableOrOffline']);
  });

  test('a NAS in another building is an offsite copy', () => {
    const nas = StorageTarget.localPath({ hostPath: '/mnt/office-nas/db', medium: Medium.NAS, site: Site.named('office'), name: 'nas' });
    const stack = checkedStack((s) => postgres(s, { targets: [LOCAL(), nas], quiesce: PG_DUMP() }), new ThreeTwoOneChecks({ ...quiet, level: ComplianceLevel.THREE_TWO_ONE }));
    expect(fullSynthError(stack)).toBeUndefined();
  });
});
