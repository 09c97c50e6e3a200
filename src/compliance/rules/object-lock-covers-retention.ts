import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { NO_BACKUP } from './describe';

/**
 * Hygiene: every Object Lock period covers the backup retention, so no snapshot the retention
 * still keeps can be deleted from the immutable copy.
 */
export class ObjectLockCoversRetentionRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'ObjectLockCoversRetention';
  public readonly ruleId = ObjectLockCoversRetentionRule.RULE_ID;
  public readonly description = 'Every Object Lock period is at least as long as the retention keeps snapshots';

  public evaluate(topology: Topology): RuleResult {
    const plan = topology.backup;
    if (!plan) {
      return RuleResult.notApplicable(NO_BACKUP);
    }
    const locked = topology.copies.filter((c) => c.immutable && c.immutableRetentionDays !== undefined);
    if (locked.length === 0) {
      return RuleResult.notApplicable('no copy has an Object Lock period');
    }
    const horizon = plan.retentionHorizonDays;
    const short = locked.filter((c) => c.immutableRetentionDays! < horizon);
    const describe = (cs: typeof locked) => cs.map((c) => `${c.name} locked ${c.immutableRetentionDays} days`).join(', ');
    return short.length === 0
      ? RuleResult.compliant(`${describe(locked)}; retention keeps snapshots up to ${horizon} days`)
      : RuleResult.nonCompliant(`${describe(short)}; retention keeps snapshots up to ${horizon} days`);
  }
}

/** The finding when the rule is not met. */
export function lockShorterThanRetention(where: string, observed: string, horizonDays: number): ConfigurationError {
  return new ConfigurationError(
    where,
    `an Object Lock period is shorter than the retention (${observed}), so snapshots the retention still keeps could be deleted from the immutable copy`,
    `lock for at least ${horizonDays} days, or shorten the retention to the lock period`,
  );
}
