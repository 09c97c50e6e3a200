/**
 * What a refused stack's folder holds instead of Terraform: no cdk.tf.json (nor cdk.tf), a
 * refusal notice (refused.txt) and a metadata.json for the CLI. Plain files, no cdktf here:
 * both the stack's synthesizer (./refused-stack.ts) and the process-level refusal
 * (./refused-app.ts, run while the program goes down) write them.
 *
 * refused.txt holds HCL comments, so `cdktf synth --hcl` can format it, and Terraform, which
 * loads only *.tf and *.tf.json, finds no configuration in the folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Refusal } from './refused-report';

/** The notice that takes the place of cdk.tf.json in a refused stack's folder. */
export const REFUSAL_NOTICE_FILE_NAME = 'refused.txt';

/** What cdktf writes as a stack's Terraform: cdk.tf.json, or cdk.tf with `hclOutput`. */
const TERRAFORM_FILE_NAMES = ['cdk.tf.json', 'cdk.tf'];

/** The paths of one stack in a synth output folder, relative to it (as cdktf's manifest has them). */
export interface StackPaths {
  readonly workingDirectory: string;
  readonly stackMetadataPath: string;
}

/**
 * Removes the Terraform of stack `stackId` from `outdir` and writes the refusal notice and the
 * metadata.json the CLI reads for a stack whose file is not *.tf.json. Returns the notice's path
 * relative to `outdir`, for the stack's manifest entry.
 */
export function writeRefusalNotice(outdir: string, entry: StackPaths, stackId: string, refusal: Refusal): string {
  const folder = path.join(outdir, entry.workingDirectory);
  fs.mkdirSync(folder, { recursive: true });
  for (const name of TERRAFORM_FILE_NAMES) {
    fs.rmSync(path.join(folder, name), { force: true });
  }
  const notice = path.join(entry.workingDirectory, REFUSAL_NOTICE_FILE_NAME);
  fs.writeFileSync(path.join(outdir, notice), renderNotice(stackId, refusal));
  // The CLI reads this for every stack before it prints the annotations (@cdktf/cli-core
  // synth-stack.js readSynthesizedStacks); its telemetry looks up the "//" and "terraform" keys,
  // so both are there (no resource, no provider, no backend).
  fs.writeFileSync(
    path.join(outdir, entry.stackMetadataPath),
    `${JSON.stringify({ '//': { refused: refusal.findings }, 'terraform': {} }, undefined, 2)}\n`,
  );
  return notice;
}

function renderNotice(stackId: string, refusal: Refusal): string {
  const lines = [
    `No Terraform for stack "${stackId}": ${refusal.reason}.`,
    'Fix the following and synthesize again (backup-topology.md in this folder has the details).',
    '',
    ...refusal.findings.flatMap((f) => f.trimEnd().split('\n')),
  ];
  return lines.map((l) => (l === '' ? '#' : `# ${l}`)).join('\n') + '\n';
}
