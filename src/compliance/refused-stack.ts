/**
 * A stack the compliance pack refused leaves no Terraform to apply.
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
 * So after the stack's own synthesizer ran (or threw), the Terraform files of a refused stack are
 * removed, and its manifest entry points at a refusal notice instead: `synthesizedStackPath` to
 * refused.txt (HCL comments, so `cdktf synth --hcl` can format it; Terraform loads only *.tf and
 * *.tf.json), `stackMetadataPath` to metadata.json (what the CLI parses for a stack that is not
 * *.tf.json). The CLI still prints the findings from the manifest and exits 1; `cdktf deploy`,
 * also with --skip-synth, stops at the same annotations; and `terraform apply` in the stack's
 * folder finds no configuration.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ISynthesisSession, TerraformStack } from 'cdktf';

/** The notice that takes the place of cdk.tf.json in a refused stack's folder. */
export const REFUSAL_NOTICE_FILE_NAME = 'refused.txt';

/** What cdktf writes as a stack's Terraform: cdk.tf.json, or cdk.tf with `hclOutput`. */
const TERRAFORM_FILE_NAMES = ['cdk.tf.json', 'cdk.tf'];

/**
 * Removes the Terraform of `stack` from the synth output and points its manifest entry at a
 * refusal notice listing `findings` (the pack's messages, each "path [Rule]: ...").
 */
export function withholdTerraform(stack: TerraformStack, session: ISynthesisSession, findings: string[]): void {
  const entry = session.manifest.forStack(stack) as { -readonly [K in 'synthesizedStackPath' | 'stackMetadataPath' | 'workingDirectory']: string };
  const folder = path.join(session.outdir, entry.workingDirectory);
  fs.mkdirSync(folder, { recursive: true });
  for (const name of TERRAFORM_FILE_NAMES) {
    fs.rmSync(path.join(folder, name), { force: true });
  }
  const notice = path.join(entry.workingDirectory, REFUSAL_NOTICE_FILE_NAME);
  fs.writeFileSync(path.join(session.outdir, notice), renderNotice(stack.node.id, findings));
  // The CLI reads this for every stack before it prints the annotations; its telemetry looks up
  // the "//" and "terraform" keys, so both are there (no resource, no provider, no backend).
  fs.writeFileSync(
    path.join(session.outdir, entry.stackMetadataPath),
    `${JSON.stringify({ '//': { refused: findings }, 'terraform': {} }, undefined, 2)}\n`,
  );
  entry.synthesizedStackPath = notice;
}

function renderNotice(stackId: string, findings: string[]): string {
  const lines = [
    `No Terraform for stack "${stackId}": the backup compliance pack refused its topology.`,
    'Fix the findings below and synthesize again (backup-topology.md in this folder has the details).',
    '',
    ...findings.flatMap((f) => f.split('\n')),
  ];
  return lines.map((l) => (l === '' ? '#' : `# ${l}`)).join('\n') + '\n';
}
