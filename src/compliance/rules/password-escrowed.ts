import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { NO_BACKUP, count, names } from './describe';

/**
 * The key outlives the host: restic encrypts every repository with the repository password, and
 * nothing opens a repository without it. The copies kept at another site are there for the day
 * the Docker host is lost; if the password was kept only on that host (its sidecar's secret
 * file), they are unreadable that day. So a topology with an offsite copy has its password
 * escrowed off the host: `KeyEscrow` (an SSM SecureString in the offsite region), or a place
 * the user names (`RepositoryPassword.fromVariable(stack, name, { escrowedIn })`).
 *
 * A warning, not an error: synth cannot see where a Terraform variable's value comes from, and
 * it is often read from a secret store that already is the escrow; the warning is printed at
 * every synth and in the verdict until the place is named (then the report says where the key
 * is) or the finding is acknowledged with a reason.
 */
export class PasswordEscrowedRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'PasswordEscrowed';
  public readonly ruleId = PasswordEscrowedRule.RULE_ID;
  public readonly description = 'The repository password is kept off the Docker host when a copy must outlive the host';

  public evaluate(topology: Topology): RuleResult {
    const plan = topology.backup;
    if (!plan) {
      return RuleResult.notApplicable(NO_BACKUP);
    }
    const outliving = topology.offsiteCopies();
    if (outliving.length === 0) {
      return RuleResult.notApplicable('no copy at another site: none outlives the host');
    }
    const source = plan.passwordSource ?? 'the repository password';
    const copies = `${count(outliving.length, 'copy', 'copies')} at another site (${names(outliving)})`;
    return plan.passwordEscrowedIn === undefined
      ? RuleResult.nonCompliant(`the repository password (${source}) is kept nowhere off the Docker host that synth knows of, and ${copies} must be readable after the host is lost`)
      : RuleResult.compliant(`the repository password (${source}) is escrowed in ${plan.passwordEscrowedIn}; ${copies}`);
  }
}

/** The finding: why the offsite copies are unreadable without it, and how to escrow or say where it is. */
export function passwordNotEscrowed(where: string, observed: string, ruleId: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${observed}: restic opens no repository without its password and cannot recover a lost one, so losing the host would leave those copies unreadable`,
    'keep it in escrow with KeyEscrow (an SSM SecureString in the offsite region) and pass `escrow.repositoryPassword` as `backup.password`; ' +
      'or, when it is kept elsewhere (a password manager, Vault, the pipeline\'s secret store), say where: ' +
      `RepositoryPassword.fromVariable(stack, "restic_password", { escrowedIn: "Vault kv/backup/restic" }); or acknowledge it: BackupSuppressions.addToConstruct(container, [{ ruleId: "${ruleId}", reason: "..." }])`,
  );
}
