import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { NO_BACKUP, count, names } from './describe';

/**
 * Hygiene: every backup copy is encrypted. restic encrypts every repository, so this holds for
 * every target shipped today; it guards against a target that declares `encrypted: false`.
 */
export class RepositoriesEncryptedRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'RepositoriesEncrypted';
  public readonly ruleId = RepositoriesEncryptedRule.RULE_ID;
  public readonly description = 'Every repository and replica is encrypted';

  public evaluate(topology: Topology): RuleResult {
    const copies = topology.backupCopies();
    if (!topology.backup || copies.length === 0) {
      return RuleResult.notApplicable(NO_BACKUP);
    }
    const plain = copies.filter((c) => !c.encrypted);
    return plain.length === 0
      ? RuleResult.compliant(`${count(copies.length, 'copy', 'copies')} encrypted (${names(copies)})`)
      : RuleResult.nonCompliant(`not encrypted: ${names(plain)}`);
  }
}

/** The finding when the rule is not met. */
export function unencryptedRepository(where: string, observed: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `a backup copy is stored in plain text (${observed})`,
    'use a target that encrypts its repository (every restic target of this library does), or remove the target that declares `encrypted: false`',
  );
}
