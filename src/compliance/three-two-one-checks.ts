import { AnnotationMetadataEntryType, IAspect, TerraformStack } from 'cdktf';
import { IConstruct } from 'constructs';
import { ConfigurationError, show } from '../core/configuration-error';
import { IBackupRule, RuleOutcome, RuleResult } from '../model/rule';
import { Topology } from '../model/topology';
import { outOfRange } from '../core/validation';
import { ComplianceLevel, FindingLevel, RuleFinding } from './finding';
import { COMPLIANCE_PACK, handedSubjectOf, recordForReport, refreshStackSubjects } from './hooks';
import { RegisteredRule, builtInRules } from './built-in-rules';
import { checkRuleId } from './rule-id';
import { BackupSuppressions } from './suppressions';

/** A rule of your own, with the wording and level the pack gives its findings. */
export interface AdditionalRule {
  /** The rule. */
  readonly rule: IBackupRule;
  /** How to meet the rule, in one sentence; every finding ends with it. */
  readonly fix: string;
  /**
   * What a non-compliance does to the synth.
   * @default FindingLevel.ERROR
   */
  readonly level?: FindingLevel;
}

/** Properties of `ThreeTwoOneChecks`. */
export interface ThreeTwoOneChecksProps {
  /**
   * The rule level to hold the topology to.
   * @default ComplianceLevel.THREE_TWO_ONE_ONE_ZERO
   */
  readonly level?: ComplianceLevel;
  /**
   * The "0" rule: all data must be read back within this many days.
   * @default 31
   */
  readonly readBackWithinDays?: number;
  /**
   * The "0" rule: a restore drill must run at least every this many days.
   * @default 31
   */
  readonly restoreDrillWithinDays?: number;
  /**
   * Your own rules, evaluated after the built-in ones.
   * @default - none
   */
  readonly additionalRules?: AdditionalRule[];
  /**
   * Print a one-line summary per protected container at synth.
   * @default true
   */
  readonly printSummary?: boolean;
}

/**
 * The 3-2-1(-1-0) rule pack, applied as an Aspect to the App, a stack, or any scope below:
 *
 * ```ts
 * Aspects.of(app).add(new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE_ONE_ZERO }));
 * ```
 *
 * Every protected container (and every `BackupSidecar` used on its own) is modelled as its
 * copies (live data, each target's repository, each replica) and evaluated by each rule. A
 * non-compliance becomes an annotation that names the construct path, the rule, the value
 * received and the fix; at level ERROR it stops `cdktf synth` with a non-zero exit. Findings
 * can be suppressed with a reason (`BackupSuppressions.addToConstruct`). Each synth writes
 * `backup-topology.md` (a Mermaid diagram and the rule table) into every stack's output folder
 * and prints a one-line summary per container.
 *
 * Rules: ThreeCopies, TwoMedia, OneOffsite (errors at both levels); OneImmutableOrOffline and
 * ZeroErrors (errors at 3-2-1-1-0, warnings at 3-2-1); ObjectLockCoversRetention,
 * ScheduleMeetsRpo, RepositoriesEncrypted, DatabaseConsistency, QuiesceOutputBackedUp,
 * ServiceDataPinned (errors at both levels); ReplicatedServiceData, AllDataBackedUp,
 * PasswordEscrowed (warnings).
 *
 * Besides the protected workloads, every `docker_container` of the stack declared with
 * @cdktf/provider-docker directly that writes a volume or host folder is evaluated
 * (`Topology.unmanaged`): AllDataBackedUp looks at its mounts; the 3-2-1 rules find nothing to
 * count there.
 */
export class ThreeTwoOneChecks implements IAspect {
  /** The level the topology is held to. */
  public readonly level: ComplianceLevel;
  /** Every rule the pack applies, built-in first. */
  public readonly rules: IBackupRule[];
  private readonly registered: RegisteredRule[];
  private readonly printSummary: boolean;
  private readonly visited = new WeakSet<IConstruct>();

  constructor(props: ThreeTwoOneChecksProps = {}) {
    Object.defineProperty(this, COMPLIANCE_PACK, { value: true, enumerable: false });
    this.level = props.level ?? ComplianceLevel.THREE_TWO_ONE_ONE_ZERO;
    this.printSummary = props.printSummary ?? true;
    for (const [field, value] of [
      ['readBackWithinDays', props.readBackWithinDays],
      ['restoreDrillWithinDays', props.restoreDrillWithinDays],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 366)) {
        throw outOfRange('new ThreeTwoOneChecks(...)', field, value, 1, 366);
      }
    }
    this.registered = builtInRules(this.level, {
      readBackWithinDays: props.readBackWithinDays,
      restoreDrillWithinDays: props.restoreDrillWithinDays,
    });
    const ids = new Set(this.registered.map((r) => r.rule.ruleId));
    for (const extra of props.additionalRules ?? []) {
      const id = extra.rule.ruleId;
      checkRuleId('new ThreeTwoOneChecks(...)', id);
      if (ids.has(id)) {
        throw duplicateRuleId(id);
      }
      if (extra.fix.trim() === '') {
        throw emptyRuleFix(id);
      }
      ids.add(id);
      this.registered.push({
        rule: extra.rule,
        level: extra.level ?? FindingLevel.ERROR,
        message: (w, _t, r) => customRuleFinding(w, extra.rule.description, r.observed, extra.fix),
      });
    }
    this.rules = this.registered.map((r) => r.rule);
  }

  /**
   * Evaluates one topology with every rule, without suppressions: the pure core of the pack,
   * usable without constructs (e.g. to test your own rules).
   */
  public evaluate(topology: Topology): RuleFinding[] {
    return this.registered.map((entry) => {
      const where = `${topology.path} [${entry.rule.ruleId}]`;
      let result: RuleResult;
      try {
        result = entry.rule.evaluate(topology);
      } catch (e) {
        const failure = ruleFailed(where, e instanceof Error ? e.message : String(e));
        return {
          ruleId: entry.rule.ruleId,
          description: entry.rule.description,
          outcome: RuleOutcome.NON_COMPLIANT,
          observed: 'the rule failed',
          level: FindingLevel.ERROR,
          message: failure.message,
        };
      }
      return {
        ruleId: entry.rule.ruleId,
        description: entry.rule.description,
        outcome: result.outcome,
        observed: result.observed,
        level: entry.level,
        message: result.outcome === RuleOutcome.NON_COMPLIANT ? entry.message(where, topology, result).message : undefined,
      };
    });
  }

  /** Evaluates `node` when it is a protected container; called by cdktf for every node. */
  public visit(node: IConstruct): void {
    if (TerraformStack.isStack(node)) {
      // The stack comes first: its subjects then read what the stack holds now, once.
      refreshStackSubjects(node);
    }
    if (this.visited.has(node)) {
      return;
    }
    const subject = handedSubjectOf(node);
    if (!subject) {
      return;
    }
    this.visited.add(node);
    const suppressions = BackupSuppressions.of(node);
    const findings = this.evaluate(subject.topology).map((f) => {
      const suppression = suppressions.find((s) => s.ruleId === f.ruleId);
      return suppression && f.outcome === RuleOutcome.NON_COMPLIANT ? { ...f, suppressedReason: suppression.reason } : f;
    });
    for (const f of findings) {
      if (f.outcome !== RuleOutcome.NON_COMPLIANT) {
        continue;
      }
      // Straight to metadata, not through Annotations: a finding is about the user's topology,
      // and cdktf would attach (and the CLI print) a stack trace of this library.
      if (f.suppressedReason !== undefined) {
        node.node.addMetadata(AnnotationMetadataEntryType.INFO, suppressedFinding(`${subject.topology.path} [${f.ruleId}]`, f.suppressedReason));
      } else {
        node.node.addMetadata(f.level === FindingLevel.ERROR ? AnnotationMetadataEntryType.ERROR : AnnotationMetadataEntryType.WARN, f.message);
      }
    }
    recordForReport(node, {
      topology: subject.topology,
      level: this.level,
      findings,
      printSummary: this.printSummary,
      sidecarName: subject.sidecarName,
    });
  }
}

// The pack's own errors: its additional rules' configuration, their findings and failures.

function duplicateRuleId(ruleId: string): ConfigurationError {
  return new ConfigurationError(
    'new ThreeTwoOneChecks(...)',
    `two rules have the id ${show(ruleId)}`,
    'give each additional rule its own ruleId, different from the built-in ones',
  );
}

function emptyRuleFix(ruleId: string): ConfigurationError {
  return new ConfigurationError(
    'new ThreeTwoOneChecks(...)',
    `the additional rule ${show(ruleId)} has no fix text, so its findings would not say what to do`,
    'set `fix` to one sentence that says how to meet the rule',
  );
}

function ruleFailed(where: string, reason: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the rule could not evaluate the topology: ${reason}`,
    "fix the rule's evaluate() so it returns RuleResult.compliant/nonCompliant/notApplicable, or remove it from additionalRules",
  );
}

function customRuleFinding(where: string, description: string, observed: string, fix: string): ConfigurationError {
  return new ConfigurationError(where, `${description}: not met (${observed})`, fix);
}

/** The info annotation left where a finding is suppressed (not an error). */
function suppressedFinding(where: string, reason: string): string {
  return `${where}: finding suppressed, reason: ${reason}`;
}
