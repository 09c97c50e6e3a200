import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { STATELESS, describeCopies } from './describe';

/** 3-2-1, the "3": at least three copies of the data, the live data counting as one. */
export class ThreeCopiesRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'ThreeCopies';
  public readonly ruleId = ThreeCopiesRule.RULE_ID;
  public readonly description = 'At least 3 copies of the data: the live data plus two backup copies';

  public evaluate(topology: Topology): RuleResult {
    if (topology.isStateless()) {
      return RuleResult.notApplicable(STATELESS);
    }
    const observed = describeCopies(topology);
    return topology.copies.length >= 3 ? RuleResult.compliant(observed) : RuleResult.nonCompliant(observed);
  }
}
