import { RuleOutcome } from '../model/rule';

/** How strict a `ThreeTwoOneChecks` pack is. */
export enum ComplianceLevel {
  /** 3 copies, 2 media, 1 offsite, plus the hygiene rules; immutability and verification only warn. */
  THREE_TWO_ONE = '3-2-1',
  /** 3-2-1, plus 1 immutable or offline copy and 0 errors (verified backups). */
  THREE_TWO_ONE_ONE_ZERO = '3-2-1-1-0',
}

/** What a non-compliant rule does to the synth. */
export enum FindingLevel {
  /** An error annotation: `cdktf synth` fails (non-zero exit). */
  ERROR = 'error',
  /** A warning annotation: printed, the synth goes on. */
  WARNING = 'warning',
}

/** One rule's verdict on one container, as the pack reports it. */
export interface RuleFinding {
  /** The rule's id. */
  readonly ruleId: string;
  /** What the rule checks. */
  readonly description: string;
  /** Compliant, non-compliant or not applicable. */
  readonly outcome: RuleOutcome;
  /** What the rule observed (or why it does not apply). */
  readonly observed: string;
  /** The level a non-compliance has at the pack's compliance level. */
  readonly level: FindingLevel;
  /**
   * The finding's message: construct path, rule, value received, fix.
   * @default - none (compliant or not applicable)
   */
  readonly message?: string;
  /**
   * Why the finding is suppressed.
   * @default - not suppressed
   */
  readonly suppressedReason?: string;
}
