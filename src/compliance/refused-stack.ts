/**
 * A stack the compliance pack refused, or whose synth failed, leaves no Terraform to apply.
 *
 * cdktf 0.21 writes a stack's cdk.tf.json inside `StackSynthesizer.synthesize` and decides about
 * ERROR annotations in the same method, in one of two ways (node_modules/cdktf/lib/synthesize/
 * synthesizer.js):
 *
 * - run by the CLI (`cdktf synth` sets CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS), it records the
 *   annotations in the stack's manifest entry and writes cdk.tf.json anyway; the CLI then reads
 *   every stack's file through the manifest (@cdktf/cli-core synth-stack.js
 *   `readSynthesizedStacks`: `synthesizedStackPath` when it ends in ".tf.json", else
 *   `stackMetadataPath`), prints the annotations and exits 1 (synth.js `printAnnotations`);
 * - run on its own (`app.synth()`, `Testing.fullSynth`), it throws before writing, but a
 *   cdk.tf.json from an earlier synth into the same folder stays.
 *
 * Validations (`node.addValidation`) fail the same method in both ways, before anything is
 * written (`runAllValidations` throws), and leave an earlier cdk.tf.json in place too.
 *
 * So after the stack's own synthesizer ran (or threw), the Terraform files of a refused stack are
 * removed, and its manifest entry points at a refusal notice instead (./refusal-notice.ts):
 * `synthesizedStackPath` to refused.txt, `stackMetadataPath` to metadata.json. The CLI still
 * prints the findings from the manifest and exits 1; `cdktf deploy`, also with --skip-synth,
 * stops at the same annotations; and `terraform apply` in the stack's folder finds no
 * configuration.
 */
import * as path from 'path';
import { ISynthesisSession, TerraformStack } from 'cdktf';
import { writeRefusalNotice } from './refusal-notice';
import { rememberWithheld } from './refused-app';
import { Refusal } from './refused-report';

export { REFUSAL_NOTICE_FILE_NAME } from './refusal-notice';

/**
 * Removes the Terraform of `stack` from the synth output and points its manifest entry at a
 * refusal notice listing the refusal's findings (each "path [Rule]: ..." or "where: ...").
 */
export function withholdTerraform(stack: TerraformStack, session: ISynthesisSession, refusal: Refusal): void {
  const entry = session.manifest.forStack(stack) as { -readonly [K in 'synthesizedStackPath' | 'stackMetadataPath' | 'workingDirectory']: string };
  entry.synthesizedStackPath = writeRefusalNotice(session.outdir, entry, stack.node.id, refusal);
  rememberWithheld(path.join(session.outdir, entry.workingDirectory));
}
