import * as fs from 'fs';
import * as path from 'path';
import { Manifest, TerraformStack } from 'cdktf';
import { BackupSuppressions, LockStrength, MountType, Quiesce, ThreeTwoOneChecks, Topology } from '../../src';
import { REPORT_FILE_NAME } from '../../src/compliance/hooks';
import { renderStackReport, summaryLine } from '../../src/compliance/report';
import { tempDirs } from '../support/synth';
import { compliantTopology, statelessTopology } from './fixtures';
import { LOCAL, app, checkedStack, hostStack, postgres } from './stacks';

const tmp = tempDirs();

/** A full synth into a folder of our own, as Testing.fullSynth does; the folder survives a failure. */
function synthTo(stack: TerraformStack): { outdir: string; error?: string } {
  const outdir = tmp('topology-report-');
  try {
    stack.synthesizer.synthesize({ outdir, manifest: new Manifest('stubbed', outdir, false) });
    return { outdir };
  } catch (e) {
    return { outdir, error: (e as Error).message };
  }
}

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
    const stack = checkedStack((s) => postgres(s), new ThreeTwoOneChecks());
    // WHEN
    const { outdir, error } = synthTo(stack);
    // THEN
    expect(error).toBeUndefined();
    expect(fs.existsSync(path.join(outdir, 'stacks', 'db-host', 'cdk.tf.json'))).toBe(true);
    const report = readReport(outdir);
    for (const part of [
      '# Backup topology of stack `db-host`',
      '```mermaid\nflowchart LR\n',
      '  subgraph s0["site: docker-host (docker-host)"]',
      '    c0[("db · postgres:16<br/>live data · disk")]',
      '    sidecar["db-backup · restic<br/>0 2 * * *"]',
      '  subgraph s2["offsite: eu-central-1 (aws-region)"]',
      '  c0 -- "pgdata (read-only)" --> sidecar',
      '  sidecar -- "restic backup" --> c2',
      '  c2 -. "replication" .-> c3',
      '| vault-offsite | replica of vault | object-storage | eu-central-1 (aws-region), offsite | locked 400 days | yes | yes |',
      '| OneOffsite | compliant | error | 3 sites (docker-host, eu-west-1, eu-central-1) |',
      '| ScheduleMeetsRpo | not-applicable | error | no recovery point objective declared |',
      '**3-2-1-1-0 OK**',
    ]) {
      expect(report).toContain(part);
    }
  });

  test('prints one summary line per container at synth', () => {
    synthTo(checkedStack((s) => postgres(s), new ThreeTwoOneChecks()));
    expect(log.mock.calls).toEqual([
      ['db-host/db: 4 copies, 2 media, 3 sites, 1 immutable, read back within 28 days, drill every 7 days: 3-2-1-1-0 OK'],
    ]);
  });

  test('is written also when the synth fails, with the findings', () => {
    const { outdir, error } = synthTo(checkedStack((s) => postgres(s, { targets: [LOCAL()] }), new ThreeTwoOneChecks()));
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
    const stack = checkedStack((s) => {
      const db = postgres(s, { quiesce: Quiesce.none() });
      BackupSuppressions.addToConstruct(db, [{ ruleId: 'DatabaseConsistency', reason: 'replica of the primary, dumped there' }]);
    }, new ThreeTwoOneChecks());
    const { outdir } = synthTo(stack);
    expect(readReport(outdir)).toContain('| DatabaseConsistency | suppressed: replica of the primary, dumped there | error | image postgres:16 is a database, quiesce none |');
    expect(log.mock.calls.flat()[0]).toMatch(/: 3-2-1-1-0 OK, suppressed: DatabaseConsistency$/);
  });

  test('printSummary: false keeps the console quiet (the report is still written)', () => {
    const { outdir } = synthTo(checkedStack((s) => postgres(s), new ThreeTwoOneChecks({ printSummary: false })));
    expect(log).not.toHaveBeenCalled();
    expect(fs.existsSync(path.join(outdir, 'stacks', 'db-host', REPORT_FILE_NAME))).toBe(true);
  });

  test('no pack, no report', () => {
    const stack = hostStack(app());
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

  test('a container of your own: its writable mounts and who reads them, in the summary and the report', () => {
    // GIVEN a cache whose volume no backup reads, and the finding it gets
    const topology = Topology.of({
      ...statelessTopology(),
      path: 'db-host/cache',
      containerName: 'cache',
      unmanaged: true,
      mounts: [
        { kind: MountType.VOLUME, source: 'redis-data', containerPath: '/data', backedUpBy: [] },
        { kind: MountType.BIND, source: '/var/run/docker.sock', containerPath: '/var/run/docker.sock', backedUpBy: [] },
      ],
    });
    const report = { topology, level: '3-2-1-1-0', findings: new ThreeTwoOneChecks().evaluate(topology), printSummary: true };
    // WHEN / THEN
    expect(summaryLine(report)).toBe('db-host/cache: a container of your own, 1 writable mount (volume "redis-data" at /data), none read by a backup: no backup of its own, warnings: AllDataBackedUp');
    const text = renderStackReport('db-host', [report]);
    expect(text).toContain('| volume redis-data | /data | yes | no backup |');
    expect(text).toContain('| host folder /var/run/docker.sock | /var/run/docker.sock | no | no backup |');
  });
});

describe('the copies table says what the pack counts (issue 22)', () => {
  const withLock = (lockStrength: LockStrength) => {
    const t = compliantTopology();
    return Topology.of({ ...t, copies: t.copies.map((c) => (c.name === 'vault-offsite' ? { ...c, lockStrength } : c)) });
  };

  test('a governance lock without a break-glass policy is not "locked": the row, the diagram and the summary say it is not immutable', () => {
    // GIVEN
    const report = { topology: withLock(LockStrength.GOVERNANCE), level: '3-2-1', findings: [], printSummary: true, sidecarName: 'db-backup' };
    // WHEN
    const text = renderStackReport('db-host', [report]);
    // THEN
    expect(text).toContain(
      '| vault-offsite | replica of vault | object-storage | eu-central-1 (aws-region), offsite | not immutable: governance lock 400 days that anyone granted s3:BypassGovernanceRetention can lift (no break-glass policy) | yes | yes |',
    );
    expect(text).toContain('object-storage · governance lock 400 days, bypassable: not immutable');
    expect(text).not.toContain('locked 400 days');
    expect(summaryLine(report)).toBe('db-host/db: 4 copies, 2 media, 3 sites, 0 immutable, read back within 28 days, drill every 7 days: 3-2-1 OK');
  });

  test.each([LockStrength.COMPLIANCE, LockStrength.GOVERNANCE_WITH_BREAK_GLASS])('a %s lock is "locked" and counts', (strength) => {
    const report = { topology: withLock(strength), level: '3-2-1-1-0', findings: [], printSummary: true };
    expect(renderStackReport('db-host', [report])).toContain('| eu-central-1 (aws-region), offsite | locked 400 days | yes | yes |');
    expect(summaryLine(report)).toContain(', 1 immutable,');
  });
});
