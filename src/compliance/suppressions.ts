import { IConstruct } from 'constructs';
import { ConfigurationError, show } from '../core/configuration-error';
import { checkRuleId } from './rule-id';

/** The metadata type under which suppressions are stored on a construct. */
export const SUPPRESSION_METADATA = 'cdktf-container-backup/suppression';

const MIN_REASON = 10;

/** One rule switched off for a construct and everything below it, with the reason why. */
export interface RuleSuppression {
  /** The rule's id, e.g. "DatabaseConsistency". */
  readonly ruleId: string;
  /** Why the finding does not apply here: at least 10 characters, shown in the report. */
  readonly reason: string;
}

/**
 * Suppresses compliance findings, cdk-nag style: on a `ProtectedContainer`, a stack, or the
 * app (then it covers every container below it). Each suppression needs a reason of at
 * least 10 characters; the report lists every suppressed finding with its reason.
 *
 * A database deliberately backed up crash-consistent is acknowledged this way:
 *
 * @example
 * BackupSuppressions.addToConstruct(cache, [
 *   { ruleId: 'DatabaseConsistency', reason: 'redis holds a cache only, rebuilt on start' },
 * ]);
 */
export class BackupSuppressions {
  /** Adds suppressions to `scope` and everything below it. */
  public static addToConstruct(scope: IConstruct, suppressions: RuleSuppression[]): void {
    for (const s of suppressions) {
      checkRuleId(`BackupSuppressions.addToConstruct(${scope.node.path || '<app>'})`, s.ruleId);
      if (s.reason.trim().length < MIN_REASON) {
        throw shortSuppressionReason(scope.node.path || '<app>', s.ruleId, s.reason);
      }
      scope.node.addMetadata(SUPPRESSION_METADATA, { ruleId: s.ruleId, reason: s.reason.trim() });
    }
  }

  /** The suppressions that apply to `scope`: its own and its ancestors', nearest first. */
  public static of(scope: IConstruct): RuleSuppression[] {
    return [...scope.node.scopes]
      .reverse()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === SUPPRESSION_METADATA).map((m) => m.data as RuleSuppression));
  }

  private constructor() {}
}

function shortSuppressionReason(path: string, ruleId: string, reason: string): ConfigurationError {
  return new ConfigurationError(
    `BackupSuppressions.addToConstruct(${path})`,
    `the suppression of ${show(ruleId)} has the reason ${show(reason)} (${reason.trim().length} characters); a suppression needs a reason of at least 10 characters`,
    'say why the finding does not apply here, e.g. "redis holds a cache only, rebuilt on start"',
  );
}
