import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { stateless, describeCopies } from './describe';

/** 3-2-1, the "3": at least three copies of the data, the live data counting as one. */
export class ThreeCopiesRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'ThreeCopies';
  public readonly ruleId = ThreeCopiesRule.RULE_ID;
  public readonly description = 'At least 3 copies of the data: the live data plus two backup copies';

  public evaluate(topology: Topology): RuleResult {
    if (topology.isStateless()) {
      return RuleResult.notApplicable(stateless(topology));
    }
    const observed = describeCopies(topology);
    return topology.copies.length >= 3 ? RuleResult.compliant(observed) : RuleResult.nonCompliant(observed);
  }
}

/** The finding when the rule is not met: what 3-2-1 needs, and how to add the missing copies. */
export function tooFewCopies(where: string, observed: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `only ${observed}; 3-2-1 needs the live data plus at least two backup copies`,
    'add backup copies: a second storage target in `backup.targets` (e.g. StorageTarget.s3(...), or a NAS with StorageTarget.localPath({ ..., medium: Medium.NAS })), or a replica of an existing target',
  );
}
