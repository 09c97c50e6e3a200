import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { NO_BACKUP } from './describe';

/** Hygiene: the schedule's longest gap between two backups is within the declared RPO. */
export class ScheduleMeetsRpoRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'ScheduleMeetsRpo';
  public readonly ruleId = ScheduleMeetsRpoRule.RULE_ID;
  public readonly description = 'The schedule backs up at least as often as the declared recovery point objective';

  public evaluate(topology: Topology): RuleResult {
    const plan = topology.backup;
    if (!plan) {
      return RuleResult.notApplicable(NO_BACKUP);
    }
    if (plan.recoveryPointObjectiveMinutes === undefined) {
      return RuleResult.notApplicable('no recovery point objective declared');
    }
    const gapMinutes = Math.ceil(plan.maxIntervalSeconds / 60);
    const observed = `schedule "${plan.scheduleExpression}" leaves up to ${gapMinutes} minutes between backups; RPO ${plan.recoveryPointObjectiveMinutes} minutes`;
    return gapMinutes <= plan.recoveryPointObjectiveMinutes ? RuleResult.compliant(observed) : RuleResult.nonCompliant(observed);
  }
}

/** The finding when the rule is not met: the schedule's longest gap against the declared RPO. */
export function rpoNotMet(path: string, rpoMinutes: number, gapMinutes: number, expression: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `the schedule "${expression}" leaves up to ${gapMinutes} minutes between backups, more than the declared recovery point objective of ${rpoMinutes} minutes`,
    `run the backup at least every ${rpoMinutes} minutes (e.g. Schedule.everyHours(...) or Schedule.cron(...)), or declare a longer recoveryPointObjectiveMinutes`,
  );
}
