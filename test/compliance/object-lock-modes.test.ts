/**
 * The "1 immutable" of 3-2-1-1-0 against what each S3 Object Lock mode guarantees (issue 11):
 * compliance mode counts, governance mode counts only when the replica's bucket policy keeps
 * the bypass to a break-glass principal, and the finding says what each mode guarantees and
 * the fix.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Aspects, TerraformStack, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { BackupBucket, ComplianceLevel, LockStrength, ObjectLock, OffsiteReplica, ThreeTwoOneChecks, StorageTarget } from '../../src';
import { REPORT_FILE_NAME } from '../../src/compliance/hooks';
import { LOCAL, PG_DUMP, annotations, app, fullSynthError, hostStack, postgres } from './stacks';

const BREAK_GLASS = 'arn:aws:iam::111122223333:role/backup-break-glass';

function topologyWith(lock: ObjectLock | undefined, level = ComplianceLevel.THREE_TWO_ONE_ONE_ZERO) {
  const a = app();
  const storage = new TerraformStack(a, 'backup-storage');
  new AwsProvider(storage, 'aws', { region: 'eu-west-1' });
  const vault = new BackupBucket(storage, 'vault', { offsite: OffsiteReplica.inRegion('eu-central-1', { objectLock: lock }) });
  const host = hostStack(a);
  postgres(host, { targets: [LOCAL(), StorageTarget.s3(vault)], quiesce: PG_DUMP() });
  Aspects.of(a).add(new ThreeTwoOneChecks({ level, printSummary: false }));
  return { host, storage, vault };
}

const finding = (stack: TerraformStack, level: 'error' | 'warn') => annotations(stack, level).filter((m) => m.includes('[OneImmutableOrOffline]'));

describe('OneImmutableOrOffline and the Object Lock mode', () => {
  test('the default replica lock is compliance mode, and it counts', () => {
    // WHEN
    const { host, vault } = topologyWith(undefined);
    // THEN
    expect(vault.offsite?.objectLock.strength).toBe(LockStrength.COMPLIANCE);
    expect(fullSynthError(host)).toBeUndefined();
    expect(finding(host, 'error')).toEqual([]);
  });

  test('governance mode with a break-glass principal counts', () => {
    const { host, vault } = topologyWith(ObjectLock.governance(400, { breakGlassPrincipalArn: BREAK_GLASS }));
    expect(vault.offsite?.objectLock.strength).toBe(LockStrength.GOVERNANCE_WITH_BREAK_GLASS);
    expect(fullSynthError(host)).toBeUndefined();
  });

  test('governance mode alone is refused at 3-2-1-1-0, with what each mode guarantees and the fix', () => {
    // WHEN
    const { host } = topologyWith(ObjectLock.governance(400));
    // THEN
    expect(fullSynthError(host)).toContain('[OneImmutableOrOffline]');
    const [message] = finding(host, 'error');
    expect(message).toContain('s3-offsite is locked 400 days in governance mode with no break-glass bucket policy');
    expect(message).toContain("Compliance mode holds against everyone, the account's root user included");
    expect(message).toContain('governance mode only against principals without s3:BypassGovernanceRetention');
    expect(message).toContain('Fix: use ObjectLock.compliance(days)');
    expect(message).toContain('ObjectLock.governance(days, { breakGlassPrincipalArn:');
  });

  test('at 3-2-1 the same finding is a warning and the synth goes on', () => {
    const { host } = topologyWith(ObjectLock.governance(400), ComplianceLevel.THREE_TWO_ONE);
    expect(fullSynthError(host)).toBeUndefined();
    expect(finding(host, 'warn')).toHaveLength(1);
  });
});

test('the topology report of a bare governance lock (issue 22): the replica is not called locked, and not counted immutable', () => {
  // GIVEN: at 3-2-1, where the finding is a warning and the synth writes everything
  const { host } = topologyWith(ObjectLock.governance(400), ComplianceLevel.THREE_TWO_ONE);
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  // WHEN
  const outdir = Testing.fullSynth(host);
  log.mockRestore();
  // THEN
  const report = fs.readFileSync(path.join(outdir, 'stacks', 'db-host', REPORT_FILE_NAME), 'utf8');
  expect(report).toMatch(/\| s3-offsite \| replica of s3 \| [^|]+ \| [^|]+ \| not immutable: governance lock 400 days that anyone granted s3:BypassGovernanceRetention can lift \(no break-glass policy\) \|/);
  expect(report).not.toMatch(/\| locked 400 days \||· locked 400 days/);
  expect(report).toMatch(/\| `db-host\/db` \| 4 copies, 2 media, 3 sites, 0 immutable, /);
});
