/**
 * The topology report, written as `backup-topology.md` into each stack's output folder, and
 * the one-line summary printed at synth. Pure rendering: no cdktf here.
 */
import { RuleOutcome } from '../model/rule';
import { MountType, holdsWrittenData } from '../model/data-mount';
import { BackupCopy, CopyRole, Topology } from '../model/topology';
import { FindingLevel, RuleFinding } from './finding';
import { Refusal, refusedBanner, renderRefusedReport } from './refused-report';
import { OneImmutableOrOfflineRule } from './rules/one-immutable-or-offline';
import { describeMount } from './rules/describe';

/** One container's evaluation by one pack. */
export interface ContainerReport {
  readonly topology: Topology;
  /** The pack's compliance level, e.g. "3-2-1-1-0". */
  readonly level: string;
  readonly findings: RuleFinding[];
  readonly printSummary: boolean;
  /** The sidecar container's name, when there is a backup. */
  readonly sidecarName?: string;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Findings that fail the level: non-compliant, not suppressed, error level. */
export function failures(report: ContainerReport): RuleFinding[] {
  return report.findings.filter((f) => isOpen(f) && f.level === FindingLevel.ERROR);
}

function isOpen(f: RuleFinding): boolean {
  return f.outcome === RuleOutcome.NON_COMPLIANT && f.suppressedReason === undefined;
}

/** The verdict, e.g. "3-2-1-1-0 OK" or "3-2-1-1-0 FAILED (OneOffsite)". */
export function verdict(report: ContainerReport): string {
  const failed = failures(report);
  const warned = report.findings.filter((f) => isOpen(f) && f.level === FindingLevel.WARNING);
  const suppressed = report.findings.filter((f) => f.outcome === RuleOutcome.NON_COMPLIANT && f.suppressedReason !== undefined);
  // A container of the user's own has no backup to hold to the level: only its data is checked.
  const passed = report.topology.unmanaged ? 'no backup of its own' : `${report.level} OK`;
  let text = failed.length > 0 ? `${report.level} FAILED (${failed.map((f) => f.ruleId).join(', ')})` : passed;
  if (warned.length > 0) {
    text += `, warnings: ${warned.map((f) => f.ruleId).join(', ')}`;
  }
  if (suppressed.length > 0) {
    text += `, suppressed: ${suppressed.map((f) => f.ruleId).join(', ')}`;
  }
  return text;
}

/** e.g. "db-host/db: 3 copies, 2 media, 2 sites, 1 immutable, read back within 28 days, drill every 7 days: 3-2-1-1-0 OK" */
export function summaryLine(report: ContainerReport): string {
  const t = report.topology;
  if (t.unmanaged) {
    return `${t.path}: a container of your own, ${writtenMounts(t)}: ${verdict(report)}`;
  }
  if (t.isStateless()) {
    return `${t.path}: stateless, nothing to back up: ${verdict(report)}`;
  }
  // What the pack counts: a governance lock anyone with the bypass can lift is not immutable.
  const bypassable = OneImmutableOrOfflineRule.bypassableCopies(t);
  const safe = t.immutableOrOfflineCopies().filter((c) => !bypassable.includes(c));
  const immutable = safe.filter((c) => c.immutable).length;
  const offline = safe.filter((c) => !c.immutable && c.offline).length;
  const parts = [
    plural(t.copies.length, 'copy', 'copies'),
    plural(t.media().length, 'medium', 'media'),
    plural(t.sites().length, 'site', 'sites'),
    offline > 0 ? `${immutable} immutable, ${offline} offline` : `${immutable} immutable`,
    verification(t),
  ];
  return `${t.path}: ${parts.join(', ')}: ${verdict(report)}`;
}

/** e.g. "2 writable mounts (volume "cache" at /data, host folder /srv at /srv), 1 read by a backup". */
function writtenMounts(t: Topology): string {
  const written = (t.mounts ?? []).filter(holdsWrittenData);
  const read = written.filter((m) => m.backedUpBy.length > 0).length;
  const readBy = read === 0 ? 'none read by a backup' : read === written.length ? 'all read by a backup' : `${read} read by a backup`;
  return `${plural(written.length, 'writable mount', 'writable mounts')} (${written.map(describeMount).join(', ')}), ${readBy}`;
}

function verification(t: Topology): string {
  const plan = t.backup;
  if (!plan) {
    return 'no backup';
  }
  const read = plan.readAllDataWithinDays === undefined ? 'data never read back' : `read back within ${plan.readAllDataWithinDays} days`;
  const drill =
    plan.restoreDrillMaxIntervalSeconds === undefined ? 'no restore drill' : `drill every ${interval(plan.restoreDrillMaxIntervalSeconds)}`;
  return `${read}, ${drill}`;
}

function interval(seconds: number): string {
  if (seconds % 86400 === 0) {
    return plural(seconds / 86400, 'day', 'days');
  }
  if (seconds % 3600 === 0) {
    return plural(seconds / 3600, 'hour', 'hours');
  }
  return plural(Math.round(seconds / 60), 'minute', 'minutes');
}

/**
 * The whole Markdown file for one stack; when the stack got no Terraform (`refusal`), it opens
 * with a banner that says so and why.
 */
export function renderStackReport(stackName: string, reports: ContainerReport[], refusal?: Refusal): string {
  if (reports.length === 0 && refusal) {
    return renderRefusedReport(stackName, refusal);
  }
  const lines = [
    `# Backup topology of stack \`${stackName}\``,
    '',
    'Written by cdktf-container-backup at every `cdktf synth`; do not edit. Each protected container,',
    'its backup sidecar, every copy of its data (medium, site, immutability, verification), and the',
    'verdict of each compliance rule.',
    '',
    ...(refusal ? refusedBanner(refusal) : []),
    '| Container | Summary |',
    '| --- | --- |',
    ...reports.map((r) => `| \`${r.topology.path}\` | ${cell(summaryLine(r).slice(r.topology.path.length + 2))} |`),
    '',
  ];
  for (const r of reports) {
    lines.push(...renderContainer(r), '');
  }
  return lines.join('\n');
}

function renderContainer(r: ContainerReport): string[] {
  const t = r.topology;
  const out = [`## \`${t.path}\` (level ${r.level})`, '', `**${verdict(r)}**`, ''];
  out.push('```mermaid', ...mermaid(r), '```', '');
  if (t.backup) {
    const p = t.backup;
    out.push(
      `- Schedule: \`${p.scheduleExpression}\` (at most ${interval(p.maxIntervalSeconds)} between backups)` +
        (p.recoveryPointObjectiveMinutes === undefined ? '' : `, RPO ${p.recoveryPointObjectiveMinutes} minutes`),
      `- Retention: \`${p.retentionForgetArguments.join(' ')}\` (snapshots kept up to ${p.retentionHorizonDays} days)`,
      `- Consistency: quiesce ${p.quiesceMode}`,
      `- Verification: ${verification(t)}` + (p.restoreDrillExpression ? ` (drill \`${p.restoreDrillExpression}\`)` : ''),
      '',
    );
  }
  if (t.mounts !== undefined && t.mounts.length > 0) {
    out.push('| Mount | Container path | Holds data it writes | Read by |', '| --- | --- | --- | --- |');
    for (const m of t.mounts) {
      const readBy = (m.excluded ?? false) ? 'none: declared `backup: false`' : m.backedUpBy.length > 0 ? m.backedUpBy.map((p) => `\`${p}\``).join(', ') : 'no backup';
      out.push(`| ${cell(m.kind === MountType.VOLUME ? `volume ${m.source}` : `host folder ${m.source}`)} | ${cell(m.containerPath)} | ${yes(holdsWrittenData(m))} | ${cell(readBy)} |`);
    }
    out.push('');
  }
  out.push('| Copy | Role | Medium | Site | Immutable / offline | Encrypted | Read back by the agent |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const c of t.copies) {
    out.push(
      `| ${cell(c.name)} | ${c.role}${c.copyOf ? ` of ${cell(c.copyOf)}` : ''} | ${c.medium} | ${cell(siteLabel(c, t))} | ${protection(c, t)} | ${
        c.role === CopyRole.LIVE ? 'n/a' : yes(c.encrypted)
      } | ${c.role === CopyRole.LIVE ? 'n/a' : yes(c.readBack)} |`,
    );
  }
  out.push('', '| Rule | Outcome | Severity | Observed |', '| --- | --- | --- | --- |');
  for (const f of r.findings) {
    const outcome = f.suppressedReason !== undefined ? `suppressed: ${cell(f.suppressedReason)}` : f.outcome;
    out.push(`| ${f.ruleId} | ${outcome} | ${f.level} | ${cell(f.observed)} |`);
  }
  const open = r.findings.filter((f) => isOpen(f) && f.message);
  if (open.length > 0) {
    out.push('', '### Findings', '');
    out.push(...open.map((f) => `- **${f.level}** ${cell(f.message!)}`));
  }
  return out;
}

function siteLabel(c: BackupCopy, t: Topology): string {
  return `${c.site.name} (${c.site.kind})${c.site.isSameAs(t.site) ? '' : ', offsite'}`;
}

/**
 * The copy's protection as the pack counts it. A governance-mode lock without a break-glass
 * policy is not "locked": anyone granted the bypass (an administrator) deletes its versions, so
 * the pack does not count it as immutable (./rules/one-immutable-or-offline.ts), and the report
 * says what it is.
 */
function protection(c: BackupCopy, t: Topology): string {
  const parts: string[] = [];
  if (c.immutable && OneImmutableOrOfflineRule.bypassableCopies(t).includes(c)) {
    parts.push(`not immutable: governance lock${c.immutableRetentionDays === undefined ? '' : ` ${c.immutableRetentionDays} days`} that anyone granted s3:BypassGovernanceRetention can lift (no break-glass policy)`);
  } else if (c.immutable) {
    parts.push(c.immutableRetentionDays === undefined ? 'immutable' : `locked ${c.immutableRetentionDays} days`);
  }
  if (c.offline) {
    parts.push('offline');
  }
  return parts.length === 0 ? 'no' : parts.join(', ');
}

/** The protection in the diagram's short labels. */
function mermaidProtection(c: BackupCopy, t: Topology): string {
  if (c.immutable && OneImmutableOrOfflineRule.bypassableCopies(t).includes(c)) {
    return `governance lock ${c.immutableRetentionDays ?? '?'} days, bypassable: not immutable`;
  }
  const p = protection(c, t);
  return p === 'no' ? 'mutable' : p;
}

const yes = (b: boolean) => (b ? 'yes' : 'no');

/** Escapes text for a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Text inside a quoted Mermaid label. */
function label(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function mermaid(r: ContainerReport): string[] {
  const t = r.topology;
  const sites = t.sites();
  const siteIndex = (c: BackupCopy) => sites.findIndex((s) => s.isSameAs(c.site));
  const ids = new Map<BackupCopy, string>(t.copies.map((c, i) => [c, `c${i}`]));
  const lines = ['flowchart LR'];
  sites.forEach((site, i) => {
    const home = site.isSameAs(t.site);
    lines.push(`  subgraph s${i}["${label(`${home ? 'site' : 'offsite'}: ${site.name} (${site.kind})`)}"]`);
    for (const c of t.copies.filter((x) => siteIndex(x) === i)) {
      if (c.role === CopyRole.LIVE) {
        const image = t.image ? ` · ${t.image}` : '';
        lines.push(`    ${ids.get(c)}[("${label(`${t.containerName}${image}`)}<br/>${label(`live data · ${c.medium}`)}")]`);
        if (t.backup) {
          lines.push(`    sidecar["${label(`${r.sidecarName ?? 'backup sidecar'} · restic`)}<br/>${label(t.backup.scheduleExpression)}"]`);
        }
      } else {
        lines.push(`    ${ids.get(c)}[("${label(c.name)}<br/>${label(`${c.medium} · ${mermaidProtection(c, t)}`)}")]`);
      }
    }
    lines.push('  end');
  });
  const live = t.copies.find((c) => c.role === CopyRole.LIVE)!;
  if (t.backup) {
    lines.push(`  ${ids.get(live)} -- "${label(`${t.dataVolumes.join(', ')} (read-only)`)}" --> sidecar`);
  }
  for (const c of t.copies) {
    if (c.role === CopyRole.TARGET) {
      lines.push(`  sidecar -- "restic backup" --> ${ids.get(c)}`);
    } else if (c.role === CopyRole.REPLICA) {
      const source = t.copies.find((x) => x.role === CopyRole.TARGET && x.name === c.copyOf);
      lines.push(`  ${source ? ids.get(source) : 'sidecar'} -. "replication" .-> ${ids.get(c)}`);
    }
  }
  return lines;
}
