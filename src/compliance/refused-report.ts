/**
 * What `backup-topology.md` says about a stack that got no Terraform: a banner at the top of
 * the report, or the whole report when there is nothing else to say (the app stopped before the
 * stack was evaluated, or the stack holds no protected container). Pure text, no imports: the
 * process-level refusal (./refused-app.ts) renders it while the program is going down.
 */

/** The file written into each stack's output folder. */
export const REPORT_FILE_NAME = 'backup-topology.md';

/** Why a stack got no Terraform, and what to fix. */
export interface Refusal {
  /** One sentence, e.g. "the backup compliance pack refused its topology". */
  readonly reason: string;
  /** The messages to fix, each "where: problem. Fix: ...". */
  readonly findings: string[];
}

/** The banner that opens the report of a refused stack (Markdown lines). */
export function refusedBanner(refusal: Refusal): string[] {
  return [
    `**REFUSED: no Terraform was written for this stack** (${refusal.reason}); a \`cdk.tf.json\` from an earlier synth was removed, since it would be stale. Fix the following and synthesize again:`,
    '',
    ...refusal.findings.map((f) => `- ${f.replace(/\n+/g, ' ').trim()}`),
    '',
  ];
}

/** The whole report of a refused stack that has no container evaluation to show. */
export function renderRefusedReport(stackName: string, refusal: Refusal): string {
  return [
    `# Backup topology of stack \`${stackName}\``,
    '',
    'Written by cdktf-container-backup at every `cdktf synth`; do not edit.',
    '',
    ...refusedBanner(refusal),
  ].join('\n');
}
