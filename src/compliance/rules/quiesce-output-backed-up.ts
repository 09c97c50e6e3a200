import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { QuiesceMode } from '../../policy/quiesce';
import { NO_BACKUP } from './describe';

/**
 * Hygiene: the file an exec quiesce writes (a database dump) lies in a volume the same backup
 * reads. A dump written anywhere else is never backed up while every cycle reports success,
 * so an output synth cannot place (not declared, not read from a known dump tool's command, or
 * the volumes' mount points unknown) is a finding: declare it, or suppress with a reason (a
 * command that writes no file, e.g. `redis-cli SAVE` into its own data folder). A known output
 * outside every backed-up volume is refused before this rule, at construction.
 */
export class QuiesceOutputBackedUpRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'QuiesceOutputBackedUp';
  public readonly ruleId = QuiesceOutputBackedUpRule.RULE_ID;
  public readonly description = 'The file an exec quiesce writes lies in a volume the same backup reads';

  public evaluate(topology: Topology): RuleResult {
    const plan = topology.backup;
    if (!plan) {
      return RuleResult.notApplicable(NO_BACKUP);
    }
    if (plan.quiesceMode !== QuiesceMode.EXEC) {
      return RuleResult.notApplicable(`quiesce ${plan.quiesceMode} writes no file`);
    }
    if (plan.quiesceOutput === undefined) {
      return RuleResult.nonCompliant('the exec quiesce writes a file synth cannot know');
    }
    if (plan.quiesceOutputVolume === undefined) {
      return RuleResult.nonCompliant(`the exec quiesce writes ${plan.quiesceOutput}, but where the volumes are mounted is not known`);
    }
    return RuleResult.compliant(`the exec quiesce writes ${plan.quiesceOutput}, in volume ${plan.quiesceOutputVolume}, which the backup reads`);
  }
}

/** The finding: the output is not known to lie in a backed-up volume. */
export function quiesceOutputUnknown(path: string, observed: string, ruleId: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `${observed}, so nothing shows that the backup reads it: a dump written outside the backed-up volumes is never backed up while every cycle reports success`,
    'declare where the command writes: Quiesce.exec(command, { output: "/var/lib/postgresql/data/dump.sql" }) (and, for a BackupSidecar on its own, each source\'s containerPath); ' +
      `or, when the command writes no file, suppress the finding with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: "${ruleId}", reason: "..." }])`,
  );
}
