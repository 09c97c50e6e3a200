/**
 * What cdktf 0.21 does not do on its own, attached once per stack by every `ProtectedContainer`,
 * `BackupSidecar` (and their swarm counterparts) and `BackupBucket`:
 *
 * - Aspects added to the App are never invoked (`invokeAspects` starts at each stack with no
 *   inherited aspects). A small forwarding aspect on the stack hands every node to the
 *   compliance packs found above the stack, so `Aspects.of(app).add(new ThreeTwoOneChecks())`
 *   works as it does in the AWS CDK.
 * - Nothing lets a construct add a file to a stack's output folder after the aspects ran. The
 *   stack's synthesizer is wrapped so the topology report is written next to cdk.tf.json,
 *   also when the synth fails on a finding (that is when it helps most).
 * - cdktf writes a stack's cdk.tf.json even when its annotations fail the synth (run by the
 *   CLI), or leaves an earlier one in place (run on its own, or when a validation or anything
 *   else throws). The same wrapper withholds the Terraform of a stack the pack refused or whose
 *   synth threw (./refused-stack.ts), and marks a refusal it throws (validations, the pack's
 *   annotations) so the process stops on it as on a ConfigurationError (./refused-app.ts).
 *
 * - The pack reads the model only: each construct hands its own subject (its topology,
 *   ../model/subject.ts) when it attaches the hooks, and the stack's ledger hands what no
 *   construct of the library owns (a `docker_container` of the user's own). The pack asks for
 *   them when it visits (`handedSubjectOf`), so a subject reads the stack as it is then.
 *
 * No import of the constructs here: they import this module.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, IAspect, IStackSynthesizer, ISynthesisSession, TerraformStack } from 'cdktf';
import { IConstruct } from 'constructs';
import { isRefusal } from '../core/refusal';
import { markRefusal, rememberStack } from './refused-app';
import { REPORT_FILE_NAME, Refusal } from './refused-report';
import { withholdTerraform } from './refused-stack';
import { ContainerReport, failures, renderStackReport, summaryLine } from './report';
import type { Subject } from '../model/subject';

export { REPORT_FILE_NAME } from './refused-report';

/** Marks a compliance pack, so the forwarder recognises it across copies of this library. */
export const COMPLIANCE_PACK = Symbol.for('cdktf-container-backup.compliance-pack');
const HOOKED = Symbol.for('cdktf-container-backup.compliance-hooks');
const REPORTS = Symbol.for('cdktf-container-backup.stack-reports');
const SUBJECT = Symbol.for('cdktf-container-backup.compliance-subject');
const STACK_SUBJECTS = Symbol.for('cdktf-container-backup.stack-subjects');

/** The subject of a node, built when the pack visits it; undefined: nothing to evaluate. */
export type DescribeSubject = () => Subject | undefined;

/**
 * What a stack hands the pack besides its constructs' own subjects: a fresh reading when the
 * pack begins the stack, and the subject of a node no construct of the library handed.
 */
export interface StackSubjects {
  /** The pack begins the stack: what it reads next must be the stack as it is now. */
  readonly refresh: () => void;
  /** The subject of `node`, a node of the stack's own (e.g. a user's `docker_container`). */
  readonly subjectOf: (node: IConstruct) => Subject | undefined;
}

/**
 * Attaches the forwarder and the report writer to the stack of `scope`, once; and, with
 * `describe`, hands the pack the subject of `scope` itself. A node directly inside a construct
 * that hands its own subject (the sidecar of a protected container) is evaluated with it.
 */
export function attachComplianceHooks(scope: IConstruct, describe?: DescribeSubject): void {
  if (describe) {
    Object.defineProperty(scope, SUBJECT, { value: describe, enumerable: false });
  }
  const stack = TerraformStack.of(scope);
  if ((stack as any)[HOOKED]) {
    return;
  }
  Object.defineProperty(stack, HOOKED, { value: true, enumerable: false });
  Aspects.of(stack).add(new InheritedCompliancePacks(stack));
  stack.synthesizer = new ReportingSynthesizer(stack, stack.synthesizer);
  // If the program stops on a refusal before this stack is synthesized, its folder is refused too.
  if (App.isApp(stack.node.root)) {
    rememberStack((stack.node.root as App).outdir, stack.node.id);
  }
}

/** Hands the pack what `stack` knows of its nodes besides its constructs (the ledger does, once per stack). */
export function handStackSubjects(stack: TerraformStack, subjects: StackSubjects): void {
  Object.defineProperty(stack, STACK_SUBJECTS, { value: subjects, enumerable: false, configurable: true });
}

/**
 * Where a stack that no construct of this library is in gets its subjects: the ledger registers
 * itself here when it is loaded (docker/stack-ledger.ts), so that a pack added to a stack of the
 * user's own containers alone still evaluates them, without compliance importing docker/.
 */
let stackSubjectsSource: ((stack: TerraformStack) => void) | undefined;

/** Registers how a stack gets its subjects when none were handed (the ledger, once). */
export function provideStackSubjects(source: (stack: TerraformStack) => void): void {
  stackSubjectsSource = source;
}

function stackSubjectsOf(stack: TerraformStack): StackSubjects | undefined {
  if ((stack as any)[STACK_SUBJECTS] === undefined) {
    stackSubjectsSource?.(stack);
  }
  return (stack as any)[STACK_SUBJECTS];
}

/** The pack begins `stack`: its subjects are read afresh from here on. */
export function refreshStackSubjects(stack: TerraformStack): void {
  stackSubjectsOf(stack)?.refresh();
}

/** The subject handed for `node`, by its construct or by its stack; undefined: not one the pack evaluates. */
export function handedSubjectOf(node: IConstruct): Subject | undefined {
  const describe: DescribeSubject | undefined = (node as any)[SUBJECT];
  if (describe) {
    const scope = node.node.scope;
    return scope !== undefined && (scope as any)[SUBJECT] !== undefined ? undefined : describe();
  }
  if (TerraformStack.isStack(node) || node.node.scope === undefined) {
    return undefined;
  }
  return stackSubjectsOf(TerraformStack.of(node))?.subjectOf(node);
}

/** Records one container's evaluation for the report of its stack. */
export function recordForReport(node: IConstruct, report: ContainerReport): void {
  const stack = TerraformStack.of(node);
  let reports: ContainerReport[] | undefined = (stack as any)[REPORTS];
  if (!reports) {
    reports = [];
    Object.defineProperty(stack, REPORTS, { value: reports, enumerable: false });
  }
  reports.push(report);
}

/** The evaluations recorded for `stack` so far. */
export function reportsOf(stack: TerraformStack): ContainerReport[] {
  return (stack as any)[REPORTS] ?? [];
}

/** Hands each node of the stack to the compliance packs added above the stack (the App). */
class InheritedCompliancePacks implements IAspect {
  constructor(private readonly stack: TerraformStack) {}

  public visit(node: IConstruct): void {
    const above = this.stack.node.scopes.slice(0, -1);
    for (const scope of above) {
      for (const aspect of Aspects.of(scope).all) {
        if ((aspect as any)[COMPLIANCE_PACK] === true) {
          aspect.visit(node);
        }
      }
    }
  }
}

const PACK_REFUSED = 'the backup compliance pack refused its topology';
/** How cdktf's refusals begin (node_modules/cdktf/lib/errors.js: stackValidationFailure, encounteredAnnotationWithLevelError). */
const VALIDATION_FAILED = 'Validation failed with the following errors:';
const ERROR_ANNOTATIONS = 'Encountered Annotations with level "ERROR":';

/**
 * Runs the stack's own synthesizer, then writes the topology report, prints the summary and,
 * when the pack refused a container of the stack or the synth threw, removes the stack's
 * Terraform.
 */
class ReportingSynthesizer implements IStackSynthesizer {
  constructor(
    private readonly stack: TerraformStack,
    private readonly inner: IStackSynthesizer,
  ) {}

  public synthesize(session: ISynthesisSession): void {
    try {
      this.inner.synthesize(session);
    } catch (error) {
      const refusal = this.refusalOf(session, error);
      this.report(session, refusal);
      withholdTerraform(this.stack, session, refusal);
      throw error;
    }
    const findings = this.packFindings();
    const refusal = findings.length > 0 ? { reason: PACK_REFUSED, findings } : undefined;
    this.report(session, refusal);
    if (refusal) {
      withholdTerraform(this.stack, session, refusal);
    }
  }

  /**
   * Why the stack's synth threw. cdktf's two refusals, failed validations and ERROR annotations
   * (the pack's findings when run without the CLI), are the user's configuration: the error is
   * marked a refusal, so the process stops on it without a stack trace. Anything else keeps its
   * trace (a ConfigurationError is a refusal already).
   */
  private refusalOf(session: ISynthesisSession, error: unknown): Refusal {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith(VALIDATION_FAILED)) {
      markRefusal(error);
      const findings = session.skipValidation ? [] : this.validationFindings();
      return { reason: 'a validation of its constructs failed', findings: findings.length > 0 ? findings : [message.trimEnd()] };
    }
    if (message.startsWith(ERROR_ANNOTATIONS)) {
      markRefusal(error);
      const findings = this.packFindings();
      return findings.length > 0 ? { reason: PACK_REFUSED, findings } : { reason: 'ERROR annotations refused it', findings: [message.trimEnd()] };
    }
    return { reason: isRefusal(error) ? 'a configuration error stopped its synth' : 'its synth failed', findings: [message.trimEnd()] };
  }

  /** The pack's open findings at ERROR level for the containers of this stack. */
  private packFindings(): string[] {
    return reportsOf(this.stack).flatMap((r) => failures(r).map((f) => f.message ?? `${r.topology.path} [${f.ruleId}]`));
  }

  /**
   * The stack's failed validations, as cdktf lists them ("[path] message",
   * node_modules/cdktf/lib/terraform-stack.js `runAllValidations`). Run again here: the error
   * cdktf throws carries them only inside its own wording.
   */
  private validationFindings(): string[] {
    return this.stack.node.findAll().flatMap((n) => n.node.validate().map((m) => `[${n.node.path}] ${m}`));
  }

  private report(session: ISynthesisSession, refusal: Refusal | undefined): void {
    const reports = reportsOf(this.stack);
    if (reports.length === 0 && !refusal) {
      return;
    }
    const folder = path.join(session.outdir, session.manifest.forStack(this.stack).workingDirectory);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, REPORT_FILE_NAME), renderStackReport(this.stack.node.id, reports, refusal));
    for (const r of reports.filter((x) => x.printSummary)) {
      console.log(summaryLine(r));
    }
  }
}
