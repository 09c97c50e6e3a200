/**
 * Two things cdktf 0.21 does not do on its own, attached once per stack by every
 * `ProtectedContainer` and `BackupSidecar`:
 *
 * - Aspects added to the App are never invoked (`invokeAspects` starts at each stack with no
 *   inherited aspects). A small forwarding aspect on the stack hands every node to the
 *   compliance packs found above the stack, so `Aspects.of(app).add(new ThreeTwoOneChecks())`
 *   works as it does in the AWS CDK.
 * - Nothing lets a construct add a file to a stack's output folder after the aspects ran. The
 *   stack's synthesizer is wrapped so the topology report is written next to cdk.tf.json,
 *   also when the synth fails on a finding (that is when it helps most).
 * - cdktf writes a stack's cdk.tf.json even when its annotations fail the synth (run by the
 *   CLI), or leaves an earlier one in place (run on its own). The same wrapper withholds the
 *   Terraform of a stack the pack refused (./refused-stack.ts).
 *
 * No import of the constructs here: they import this module.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Aspects, IAspect, IStackSynthesizer, ISynthesisSession, TerraformStack } from 'cdktf';
import { IConstruct } from 'constructs';
import { withholdTerraform } from './refused-stack';
import { ContainerReport, failures, renderStackReport, summaryLine } from './report';

/** The file written into each stack's output folder. */
export const REPORT_FILE_NAME = 'backup-topology.md';

/** Marks a compliance pack, so the forwarder recognises it across copies of this library. */
export const COMPLIANCE_PACK = Symbol.for('cdktf-container-backup.compliance-pack');
const HOOKED = Symbol.for('cdktf-container-backup.compliance-hooks');
const REPORTS = Symbol.for('cdktf-container-backup.stack-reports');

/** Attaches the forwarder and the report writer to the stack of `scope`, once. */
export function attachComplianceHooks(scope: IConstruct): void {
  const stack = TerraformStack.of(scope);
  if ((stack as any)[HOOKED]) {
    return;
  }
  Object.defineProperty(stack, HOOKED, { value: true, enumerable: false });
  Aspects.of(stack).add(new InheritedCompliancePacks(stack));
  stack.synthesizer = new ReportingSynthesizer(stack, stack.synthesizer);
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

/**
 * Runs the stack's own synthesizer, then writes the topology report, prints the summary and,
 * when the pack refused a container of the stack, removes the stack's Terraform.
 */
class ReportingSynthesizer implements IStackSynthesizer {
  constructor(
    private readonly stack: TerraformStack,
    private readonly inner: IStackSynthesizer,
  ) {}

  public synthesize(session: ISynthesisSession): void {
    try {
      this.inner.synthesize(session);
    } finally {
      this.report(session);
      this.withholdIfRefused(session);
    }
  }

  /** The stack's Terraform goes when the pack refused it: an open finding at ERROR level. */
  private withholdIfRefused(session: ISynthesisSession): void {
    const refusals = reportsOf(this.stack).flatMap((r) => failures(r).map((f) => f.message ?? `${r.topology.path} [${f.ruleId}]`));
    if (refusals.length > 0) {
      withholdTerraform(this.stack, session, refusals);
    }
  }

  private report(session: ISynthesisSession): void {
    const reports = reportsOf(this.stack);
    if (reports.length === 0) {
      return;
    }
    const folder = path.join(session.outdir, session.manifest.forStack(this.stack).workingDirectory);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, REPORT_FILE_NAME), renderStackReport(this.stack.node.id, reports));
    for (const r of reports.filter((x) => x.printSummary)) {
      console.log(summaryLine(r));
    }
  }
}
