import * as fs from 'fs';
import * as path from 'path';
import * as os from 'os';
import { Aspects, Manifest, TerraformStack } from 'cdktf';
import { BackupSuppressions, Quiesce, ThreeTwoOneChecks, Topology } from '../../src';
import { REPORT_FILE_NAME } from '../../src/compliance/hooks';
import { renderStackReport, summaryLine } from '../../src/compliance/report';
import { compliantTopology, statelessTopology } from './fixtures';
import { LOCAL, app, hostStack, postgres } from './stacks';

/** A full synth into a folder of our own, as Testing.fullSynth does; the folder survives a failure. */
function synthTo(stack: TerraformStack): { outdir: string; error?: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'topology-report-'));
  dirs.push(outdir);
  try {
    stack.synthesizer.synthesize({ outdir, manifest: new Manifest('stubbed', outdir, false) });
    return { outdir };
  } catch (e) {
    return { outdir, error: (e as Error).message };
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function readReport(outdir: string, stack = 'db-host'): string {
  return fs.readFileSync(path.join(outdir, 'stacks', stack, REPORT_FILE_NAME), 'utf8');
}

let log: jest.SpyInstance;
beforeEach(() => {
  log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => log.mockRestore());

describe('topology report', () => {
  test('every synth writes backup-topology.md next to cdk.tf.json, with a Mermaid diagram and the rule table', () => {
    // GIVEN
    const a = app();
    const stack = hostStack(a);
    postgres(stack);
    Aspects.of(a).add(new ThreeTwoOneChecks());
    // WHEN
    const { outdir, error } = synthTo(stack);
    // THEN
    expect(error).toBeUndefined();
    const report = readReport(outdir);
    expect(fs.existsSync(path.join(outdir, 'stacks', 'db-host', 'cdk.tf.json'))).toBe(true);
    expect(report).toContain('# Backup topology of stack `db-host`');
    expect(report).toContain('```mermaid\nflowchart LR\n');
    expect(report).toContain('  subgraph s0["site: docker-host (docker-host)"]');
    expect(report).toContain('    c0[("db · postgres:16<br/>live data · disk")]');
    expect(report).toContain('    sidecar["db-backup · restic<br/>0 2 * * *"]');
    expect(report).toContain('  subgraph s2["offsite: eu-central-1 (aws-region)"]');
    expect(report).toContain('  c0 -- "pgdata (read-only)" --> sidecar');
    expect(report).toContain('  sidecar -- "restic backup" --> c2');
    expect(report).toContain('  c2 -. "replication" .-> c3');
    expect(report).toContain('| vault-offsite | replica of vault | object-storage | eu-central-1 (aws-region), offsite | locked 400 days | yes | yes |');
    expect(report).toContain('| OneOffsite | compliant | error | 3 sites (docker-host, eu-west-1, eu-central-1) |');
    expect(report).toContain('| ScheduleMeetsRpo | not-applicable | error | no recovery point objective declared |');
    expect(report).toContain('**3-2-1-1-0 OK**');
  });

  test('prints one summary line per container at synth', () => {
    const a = app();
    const stack = hostStack(a);
    postgres(stack);
    Aspects.of(a).add(new ThreeTwoOneChecks());
    synthTo(stack);
    expect(log.mock.calls).toEqual([
      ['db-host/db: 4 copies, 2 media, 3 sites, 1 immutable, read back within 28 days, drill every 7 days: 3-2-1-1-0 OK'],
    ]);
  });

  test('is written also when the synth fails, with the findings', () => {
    const a = app();
    const stack = hostStack(a);
    postgres(stack, { targets: [LOCAL()] });
    Aspects.of(a).add(new ThreeTwoOneChecks());
    const { outdir, error } = synthTo(stack);
    expect(error).toContain('[OneOffsite]');
    const report = readReport(outdir);
    expect(report).toContain('**3-2-1-1-0 FAILED (ThreeCopies, TwoMedia, OneOffsite, OneImmutableOrOffline)**');
    expect(report).toContain('### Findings');
    expect(report).toContain('- **error** db-host/db [OneOffsite]: only 1 site (docker-host)');
    expect(log.mock.calls.flat()).toEqual([
      'db-host/db: 2 copies, 1 medium, 1 site, 0 immutable, read back within 28 days, drill every 7 days: 3-2-1-1-0 FAILED (ThreeCopies, TwoMedia, OneOffsite, OneImmutableOrOffline)',
    ]);
  });

  test('lists suppressed findings with their reason', () => {
    const a = app();
    const stack = hostStack(a);
    const db = postgres(stack, { quiesce: Quiesce.none() });
    BackupSuppressions.addToConstruct(db, [{ ruleId: 'DatabaseConsistency', reason: 'replica of the primary, dumped there' }]);
    Aspects.of(a).add(new ThreeTwoOneChecks());
    const { outdir } = synthTo(stack);
    expect(readReport(outdir)).toContain('| DatabaseConsistency | suppressed: replica of the primary, dumped there | error | image postgres:16 is a database, quiesce none |');
    expect(log.mock.calls.flat()[0]).toMatch(/: 3-2-1-1-0 OK, suppressed: DatabaseConsistency$/);
  });

  test('printSummary: false keeps the console quiet (the report is still written)', () => {
    const a = app();
    const stack = hostStack(a);
    postgres(stack);
    Aspects.of(a).add(new ThreeTwoOneChecks({ printSummary: false }));
    const { outdir } = synthTo(stack);
    expect(log).not.toHaveBeenCalled();
    expect(fs.existsSync(path.join(outdir, 'stacks', 'db-host', REPORT_FILE_NAME))).toBe(true);
  });

  test('no pack, no report', () => {
    const a = app();
    const stack = hostStack(a);
    postgres(stack);
    const { outdir } = synthTo(stack);
    expect(fs.existsSync(path.join(outdir, 'stacks', 'db-host', REPORT_FILE_NAME))).toBe(false);
  });

  test('summary of a stateless container, and Mermaid-safe labels', () => {
    const web = { topology: Topology.of(statelessTopology()), level: '3-2-1-1-0', findings: [], printSummary: true };
    expect(summaryLine(web)).toBe('web-host/web: stateless, nothing to back up: 3-2-1-1-0 OK');
    const quoted = { topology: Topology.of(compliantTopology({ image: 'reg.example/"odd"<img>:1' })), level: '3-2-1', findings: [], printSummary: true, sidecarName: 'db-backup' };
    expect(renderStackReport('db-host', [quoted])).toContain('c0[("db · reg.example/#quot;odd#quot;#lt;img#gt;:1<br/>live data · disk")]');
  });
});
