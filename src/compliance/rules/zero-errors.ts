import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { outOfRange } from '../../core/validation';
import { NO_BACKUP, stateless, count, days } from './describe';

/** Options of the `ZeroErrorsRule`. */
export interface ZeroErrorsRuleProps {
  /**
   * All data must be read back within this many days.
   * @default 31
   */
  readonly readBackWithinDays?: number;
  /**
   * A restore drill must run at least every this many days.
   * @default 31
   */
  readonly restoreDrillWithinDays?: number;
}

/**
 * 3-2-1-1-0, the "0": backups are proven readable with zero errors. The verification reads
 * all data back within N days and a restore drill runs at least every M days.
 */
export class ZeroErrorsRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'ZeroErrors';
  public readonly ruleId = ZeroErrorsRule.RULE_ID;
  public readonly description: string;
  /** The longest read-back period accepted, in days. */
  public readonly readBackWithinDays: number;
  /** The longest gap between two restore drills accepted, in days. */
  public readonly restoreDrillWithinDays: number;

  constructor(props: ZeroErrorsRuleProps = {}) {
    this.readBackWithinDays = checkDays('readBackWithinDays', props.readBackWithinDays ?? 31);
    this.restoreDrillWithinDays = checkDays('restoreDrillWithinDays', props.restoreDrillWithinDays ?? 31);
    this.description = `Verification reads all data back within ${this.readBackWithinDays} days and runs a restore drill at least every ${this.restoreDrillWithinDays} days`;
  }

  public evaluate(topology: Topology): RuleResult {
    if (topology.isStateless()) {
      return RuleResult.notApplicable(stateless(topology));
    }
    const plan = topology.backup;
    if (!plan) {
      return RuleResult.notApplicable(`${NO_BACKUP}: nothing to verify`);
    }
    const gaps: string[] = [];
    const facts: string[] = [];
    if (plan.readAllDataWithinDays === undefined) {
      gaps.push('data is never read back (structure checks only)');
    } else {
      facts.push(`all data read back within ${plan.readAllDataWithinDays} days`);
      if (plan.readAllDataWithinDays > this.readBackWithinDays) {
        gaps.push(`all data is read back within ${plan.readAllDataWithinDays} days, more than the ${count(this.readBackWithinDays, 'day', 'days')} allowed`);
      }
    }
    if (plan.restoreDrillMaxIntervalSeconds === undefined) {
      gaps.push('no restore drill');
    } else {
      facts.push(`restore drill every ${days(plan.restoreDrillMaxIntervalSeconds)}`);
      if (plan.restoreDrillMaxIntervalSeconds > this.restoreDrillWithinDays * 86400) {
        gaps.push(`restore drills run up to ${days(plan.restoreDrillMaxIntervalSeconds)} apart, more than the ${count(this.restoreDrillWithinDays, 'day', 'days')} allowed`);
      }
    }
    return gaps.length === 0 ? RuleResult.compliant(facts.join(', ')) : RuleResult.nonCompliant(gaps.join('; '));
  }
}

function checkDays(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 366) {
    throw outOfRange('ZeroErrorsRule', field, value, 1, 366);
  }
  return value;
}

/** The finding when the rule is not met, with the limits the pack was given. */
export function unverifiedBackups(where: string, observed: string, readBackDays: number, drillDays: number): ConfigurationError {
  return new ConfigurationError(
    where,
    `backups are not proven readable: ${observed}; 3-2-1-1-0 needs all data read back within ${readBackDays} days and a restore drill at least every ${drillDays} days`,
    'set `verification: Verification.standard()` (all data within 28 days, a weekly drill) or Verification.readBack({ readAllDataWithinDays, restoreDrill }) within those limits',
  );
}
