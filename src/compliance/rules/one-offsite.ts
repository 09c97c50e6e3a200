import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { STATELESS, describeSites } from './describe';

/** 3-2-1, the "1": at least one copy at another site than the container's. */
export class OneOffsiteRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'OneOffsite';
  public readonly ruleId = OneOffsiteRule.RULE_ID;
  public readonly description = 'At least 1 copy at another site than the container (another region or data centre)';

  public evaluate(topology: Topology): RuleResult {
    if (topology.isStateless()) {
      return RuleResult.notApplicable(STATELESS);
    }
    const observed = describeSites(topology);
    return topology.offsiteCopies().length > 0 ? RuleResult.compliant(observed) : RuleResult.nonCompliant(observed);
  }
}
