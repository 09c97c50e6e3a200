import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { stateless, describeMedia } from './describe';

/** 3-2-1, the "2": the copies sit on at least two different media. */
export class TwoMediaRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'TwoMedia';
  public readonly ruleId = TwoMediaRule.RULE_ID;
  public readonly description = 'The copies sit on at least 2 different media (disk, NAS, object storage, archive)';

  public evaluate(topology: Topology): RuleResult {
    if (topology.isStateless()) {
      return RuleResult.notApplicable(stateless(topology));
    }
    const observed = describeMedia(topology);
    return topology.media().length >= 2 ? RuleResult.compliant(observed) : RuleResult.nonCompliant(observed);
  }
}

/** The finding when the rule is not met: why two media, and how to add the second. */
export function tooFewMedia(where: string, observed: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `only ${observed}; 3-2-1 needs copies on at least two kinds of storage, so that one failure mode cannot take them all`,
    'put one copy on another medium: object storage (StorageTarget.s3(...)), a NAS (StorageTarget.localPath({ ..., medium: Medium.NAS })) or an archive tier',
  );
}
