import { IBackupRule, RuleResult } from '../../model/rule';
import { BackupCopy, Topology } from '../../model/topology';
import { STATELESS, count, names } from './describe';

/** 3-2-1-1-0, the second "1": at least one copy is immutable (Object Lock) or offline. */
export class OneImmutableOrOfflineRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'OneImmutableOrOffline';
  public readonly ruleId = OneImmutableOrOfflineRule.RULE_ID;
  public readonly description = 'At least 1 backup copy is immutable (Object Lock) or offline';

  public evaluate(topology: Topology): RuleResult {
    if (topology.isStateless()) {
      return RuleResult.notApplicable(STATELESS);
    }
    const safe = topology.immutableOrOfflineCopies();
    if (safe.length > 0) {
      return RuleResult.compliant(`${count(safe.length, 'immutable or offline copy', 'immutable or offline copies')} (${safe.map(describe).join(', ')})`);
    }
    const backups = topology.backupCopies();
    return RuleResult.nonCompliant(
      backups.length === 0 ? 'no backup copy at all' : `no immutable or offline copy among ${names(backups)}`,
    );
  }
}

function describe(copy: BackupCopy): string {
  if (copy.offline) {
    return `${copy.name}: offline`;
  }
  return copy.immutableRetentionDays === undefined ? `${copy.name}: immutable` : `${copy.name}: locked ${copy.immutableRetentionDays} days`;
}
