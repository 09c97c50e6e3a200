import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { stateless, describeSites } from './describe';

/** 3-2-1, the "1": at least one copy at another site than the container's. */
export class OneOffsiteRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'OneOffsite';
  public readonly ruleId = OneOffsiteRule.RULE_ID;
  public readonly description = 'At least 1 copy at another site than the container (another region or data centre)';

  public evaluate(topology: Topology): RuleResult {
    if (topology.isStateless()) {
      return RuleResult.notApplicable(stateless(topology));
    }
    const observed = describeSites(topology);
    return topology.offsiteCopies().length > 0 ? RuleResult.compliant(observed) : RuleResult.nonCompliant(observed);
  }
}

/** The finding when the rule is not met: why offsite, and the ways to get a copy there. */
export function noOffsiteCopy(where: string, observed: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `only ${observed}: every copy is where the container runs, so one fire, flood or lost host takes them all`,
    "add an offsite copy: StorageTarget.s3(...) in another region, or an offsite replica on the bucket, or a target at another site (e.g. StorageTarget.localPath({ ..., site: Site.named('office-nas') }) for a NAS in another building)",
  );
}
