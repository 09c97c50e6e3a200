/**
 * The contract of a compliance rule: a small pure evaluation of one container's topology with
 * three outcomes. No cdktf here. The rule decides the outcome and states what it observed;
 * the rule pack that applies it sets the finding's level (cdk-nag style). A finding's wording
 * and fix sit beside its built-in rule (src/compliance/rules/), or come with an additional rule.
 */
import { Topology } from './topology';

/** The outcome of one rule for one container. */
export enum RuleOutcome {
  /** The topology meets the rule. */
  COMPLIANT = 'compliant',
  /** The topology breaks the rule. */
  NON_COMPLIANT = 'non-compliant',
  /** The rule does not apply (e.g. a stateless container, no Object Lock, no declared RPO). */
  NOT_APPLICABLE = 'not-applicable',
}

/** What a rule found for one container. */
export class RuleResult {
  /** The topology meets the rule; `observed` states the facts, e.g. "3 copies: live data, local, vault". */
  public static compliant(observed: string): RuleResult {
    return new RuleResult(RuleOutcome.COMPLIANT, observed);
  }

  /** The topology breaks the rule; `observed` states the value received, e.g. "1 site: docker-host". */
  public static nonCompliant(observed: string): RuleResult {
    return new RuleResult(RuleOutcome.NON_COMPLIANT, observed);
  }

  /** The rule does not apply; `reason` says why, e.g. "no recovery point objective declared". */
  public static notApplicable(reason: string): RuleResult {
    return new RuleResult(RuleOutcome.NOT_APPLICABLE, reason);
  }

  private constructor(
    /** Compliant, non-compliant or not applicable. */
    public readonly outcome: RuleOutcome,
    /** The facts the rule looked at (or why it does not apply), for findings and the report. */
    public readonly observed: string,
  ) {}
}

/**
 * A compliance rule. Implement it (in any jsii language) and hand it to
 * `ThreeTwoOneChecks` through `additionalRules` to check your own policy.
 *
 * @example
 * class NoLatestTag implements IBackupRule {
 *   public readonly ruleId = 'Acme-PinnedImage';
 *   public readonly description = 'The protected container image is pinned by tag or digest';
 *   public evaluate(topology: Topology): RuleResult {
 *     if (topology.image === undefined) return RuleResult.notApplicable('image unknown');
 *     return topology.image.endsWith(':latest')
 *       ? RuleResult.nonCompliant(`image ${topology.image}`)
 *       : RuleResult.compliant(`image ${topology.image}`);
 *   }
 * }
 */
export interface IBackupRule {
  /** A stable identifier: letters, digits and '-', e.g. "Acme-PinnedImage". Suppressions name it. */
  readonly ruleId: string;
  /** What the rule checks, in one line, for the report. */
  readonly description: string;
  /** Evaluates one container. Must not throw for a valid topology. */
  evaluate(topology: Topology): RuleResult;
}
