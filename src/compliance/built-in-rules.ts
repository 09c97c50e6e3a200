/**
 * The pack's built-in rules, each with the level and wording of its findings: the one list the
 * pack applies (./three-two-one-checks.ts) and the rule ids are read from (./rule-id.ts).
 */
import { ConfigurationError } from '../core/configuration-error';
import { IBackupRule, RuleResult } from '../model/rule';
import { Topology } from '../model/topology';
import { ComplianceLevel, FindingLevel } from './finding';
import { AllDataBackedUpRule, unprotectedData } from './rules/all-data-backed-up';
import { DatabaseConsistencyRule, crashConsistentDatabase, databaseFamily } from './rules/database-consistency';
import { ObjectLockCoversRetentionRule, lockShorterThanRetention } from './rules/object-lock-covers-retention';
import { OneImmutableOrOfflineRule, governanceLockNotImmutable, noImmutableCopy } from './rules/one-immutable-or-offline';
import { OneOffsiteRule, noOffsiteCopy } from './rules/one-offsite';
import { QuiesceOutputBackedUpRule, quiesceOutputUnknown } from './rules/quiesce-output-backed-up';
import { PasswordEscrowedRule, passwordNotEscrowed } from './rules/password-escrowed';
import { ReplicatedServiceDataRule, divergingReplicaData } from './rules/replicated-service-data';
import { RepositoriesEncryptedRule, unencryptedRepository } from './rules/repositories-encrypted';
import { ScheduleMeetsRpoRule, rpoNotMet } from './rules/schedule-meets-rpo';
import { ServiceDataPinnedRule, serviceNotPinned } from './rules/service-data-pinned';
import { ThreeCopiesRule, tooFewCopies } from './rules/three-copies';
import { TwoMediaRule, tooFewMedia } from './rules/two-media';
import { ZeroErrorsRule, ZeroErrorsRuleProps, unverifiedBackups } from './rules/zero-errors';

/** A rule as the pack applies it. */
export interface RegisteredRule {
  readonly rule: IBackupRule;
  readonly level: FindingLevel;
  /** The finding: `where` is "<construct path> [<rule id>]", `result.observed` what the rule saw. */
  readonly message: (where: string, topology: Topology, result: RuleResult) => ConfigurationError;
}

/** The built-in rules at `level`, in the order the pack evaluates them. */
export function builtInRules(level: ComplianceLevel, zeroErrorsProps: ZeroErrorsRuleProps = {}): RegisteredRule[] {
  const zeroErrors = new ZeroErrorsRule(zeroErrorsProps);
  const strictOnly = level === ComplianceLevel.THREE_TWO_ONE_ONE_ZERO ? FindingLevel.ERROR : FindingLevel.WARNING;
  return [
    { rule: new ThreeCopiesRule(), level: FindingLevel.ERROR, message: (w, _t, r) => tooFewCopies(w, r.observed) },
    { rule: new TwoMediaRule(), level: FindingLevel.ERROR, message: (w, _t, r) => tooFewMedia(w, r.observed) },
    { rule: new OneOffsiteRule(), level: FindingLevel.ERROR, message: (w, _t, r) => noOffsiteCopy(w, r.observed) },
    {
      rule: new OneImmutableOrOfflineRule(),
      level: strictOnly,
      // A governance lock without a break-glass policy gets the finding that says what each mode guarantees.
      message: (w, t, r) =>
        OneImmutableOrOfflineRule.bypassableCopies(t).length > 0 ? governanceLockNotImmutable(w, r.observed) : noImmutableCopy(w, r.observed),
    },
    {
      rule: zeroErrors,
      level: strictOnly,
      message: (w, _t, r) => unverifiedBackups(w, r.observed, zeroErrors.readBackWithinDays, zeroErrors.restoreDrillWithinDays),
    },
    {
      rule: new ObjectLockCoversRetentionRule(),
      level: FindingLevel.ERROR,
      message: (w, t, r) => lockShorterThanRetention(w, r.observed, t.backup!.retentionHorizonDays),
    },
    {
      rule: new ScheduleMeetsRpoRule(),
      level: FindingLevel.ERROR,
      message: (w, t) =>
        rpoNotMet(w, t.backup!.recoveryPointObjectiveMinutes!, Math.ceil(t.backup!.maxIntervalSeconds / 60), t.backup!.scheduleExpression),
    },
    { rule: new RepositoriesEncryptedRule(), level: FindingLevel.ERROR, message: (w, _t, r) => unencryptedRepository(w, r.observed) },
    {
      rule: new DatabaseConsistencyRule(),
      level: FindingLevel.ERROR,
      message: (w, t, r) => crashConsistentDatabase(w, r.observed, databaseFamily(t.image!) ?? 'other', DatabaseConsistencyRule.RULE_ID),
    },
    {
      rule: new QuiesceOutputBackedUpRule(),
      level: FindingLevel.ERROR,
      message: (w, _t, r) => quiesceOutputUnknown(w, r.observed, QuiesceOutputBackedUpRule.RULE_ID),
    },
    { rule: new ServiceDataPinnedRule(), level: FindingLevel.ERROR, message: (w, _t, r) => serviceNotPinned(w, r.observed) },
    {
      rule: new ReplicatedServiceDataRule(),
      level: FindingLevel.WARNING,
      message: (w, _t, r) => divergingReplicaData(w, r.observed, ReplicatedServiceDataRule.RULE_ID),
    },
    {
      rule: new AllDataBackedUpRule(),
      level: FindingLevel.WARNING,
      message: (w, t, r) => unprotectedData(w, r.observed, t.unmanaged, AllDataBackedUpRule.unreadHostFolders(t), AllDataBackedUpRule.RULE_ID),
    },
    {
      rule: new PasswordEscrowedRule(),
      level: FindingLevel.WARNING,
      message: (w, _t, r) => passwordNotEscrowed(w, r.observed, PasswordEscrowedRule.RULE_ID),
    },
  ];
}

/** The built-in rules' ids, in the pack's order. */
export function builtInRuleIds(): string[] {
  return builtInRules(ComplianceLevel.THREE_TWO_ONE_ONE_ZERO).map((r) => r.rule.ruleId);
}
