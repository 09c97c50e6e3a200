import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { BackupCopy, Topology } from '../../model/topology';
import { LockStrength } from '../../targets/lock-strength';
import { stateless, count, names } from './describe';

/**
 * 3-2-1-1-0, the second "1": at least one copy is immutable or offline.
 *
 * What counts as immutable, and why (issue 11):
 * - S3 Object Lock in **compliance** mode: nobody, the account's root user included, can
 *   delete a locked version or shorten its lock before it ends. Counts.
 * - **Governance** mode with a break-glass principal (`ObjectLock.governance(days,
 *   { breakGlassPrincipalArn })`): the library writes a bucket policy that denies
 *   `s3:BypassGovernanceRetention`, `s3:DeleteObjectVersion` and `s3:PutObjectRetention` to
 *   every other principal. Holds against administrators and stolen admin credentials unless
 *   they can rewrite the bucket policy (the root user always can). Counts.
 * - **Governance** mode alone: `s3:BypassGovernanceRetention` plus `s3:DeleteObjectVersion`,
 *   which every administrator holds, deletes locked versions. Does not count: it is the
 *   protection against mistakes, not against a stolen credential.
 * - Append-only repositories, offline copies and locks declared by the user (no known
 *   strength) count as before.
 *
 * The library's default replica lock is compliance mode (`OffsiteReplicaOptions.objectLock`),
 * so the defaults pass; governance mode is a deliberate choice that needs its break-glass
 * principal to count.
 */
export class OneImmutableOrOfflineRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'OneImmutableOrOffline';

  /** The copies only a governance-mode lock with no break-glass policy protects. */
  public static bypassableCopies(topology: Topology): BackupCopy[] {
    return topology.backupCopies().filter((c) => c.immutable && !c.offline && c.lockStrength === LockStrength.GOVERNANCE);
  }

  public readonly ruleId = OneImmutableOrOfflineRule.RULE_ID;
  public readonly description = 'At least 1 backup copy is immutable (Object Lock that no stolen credential can lift) or offline';

  public evaluate(topology: Topology): RuleResult {
    if (topology.isStateless()) {
      return RuleResult.notApplicable(stateless(topology));
    }
    const bypassable = OneImmutableOrOfflineRule.bypassableCopies(topology);
    const safe = topology.immutableOrOfflineCopies().filter((c) => !bypassable.includes(c));
    if (safe.length > 0) {
      return RuleResult.compliant(`${count(safe.length, 'immutable or offline copy', 'immutable or offline copies')} (${safe.map(describe).join(', ')})`);
    }
    const backups = topology.backupCopies();
    if (backups.length === 0) {
      return RuleResult.nonCompliant('no backup copy at all');
    }
    const governance =
      bypassable.length === 0
        ? ''
        : ` (${bypassable.map((c) => `${c.name} is locked ${c.immutableRetentionDays ?? '?'} days in governance mode with no break-glass bucket policy: anyone granted s3:BypassGovernanceRetention and s3:DeleteObjectVersion, e.g. an administrator, can delete its locked versions`).join('; ')})`;
    return RuleResult.nonCompliant(`no immutable or offline copy among ${names(backups)}${governance}`);
  }
}

function describe(copy: BackupCopy): string {
  if (copy.offline) {
    return `${copy.name}: offline`;
  }
  const mode =
    copy.lockStrength === LockStrength.COMPLIANCE
      ? ', compliance mode'
      : copy.lockStrength === LockStrength.GOVERNANCE_WITH_BREAK_GLASS
        ? ', governance mode, bypass kept to a break-glass principal'
        : '';
  return copy.immutableRetentionDays === undefined ? `${copy.name}: immutable` : `${copy.name}: locked ${copy.immutableRetentionDays} days${mode}`;
}

/** The finding when no copy is immutable or offline and no lock is a bare governance one. */
export function noImmutableCopy(where: string, observed: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${observed}; 3-2-1-1-0 needs one copy that ransomware or a stolen credential cannot delete`,
    'keep one copy immutable (a bucket or offsite replica with S3 Object Lock) or offline; or check at level ComplianceLevel.THREE_TWO_ONE',
  );
}

/**
 * The finding when the only locks are governance mode without a break-glass policy: says
 * what each mode guarantees, since the user believed the copy immutable.
 */
export function governanceLockNotImmutable(where: string, observed: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${observed}; 3-2-1-1-0 needs one copy that ransomware or a stolen credential cannot delete. Compliance mode holds against everyone, the account's root user included, until the lock ends; governance mode only against principals without s3:BypassGovernanceRetention, and an administrator's or a stolen admin credential has it`,
    'use ObjectLock.compliance(days) (irreversible for the lock period), or ObjectLock.governance(days, { breakGlassPrincipalArn: "arn:aws:iam::<account>:role/<break-glass role>" }): the replica bucket policy then denies the bypass, version deletes and retention changes to every other principal; or suppress with a reason, or check at level ComplianceLevel.THREE_TWO_ONE',
  );
}
