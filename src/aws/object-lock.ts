import { Token } from 'cdktf';
import { ConfigurationError, show } from '../core/configuration-error';
import { LockStrength } from '../targets/lock-strength';
import { outOfRange } from '../core/validation';

/** How strictly S3 Object Lock holds a locked object version. */
export enum ObjectLockMode {
  /**
   * Nobody can delete or overwrite a locked version before its retention ends, unless they
   * hold `s3:BypassGovernanceRetention` and ask for the bypass explicitly (with
   * `s3:DeleteObjectVersion`, or `s3:PutObjectRetention` to shorten the lock). An account
   * administrator holds both unless a bucket policy denies them.
   */
  GOVERNANCE = 'GOVERNANCE',
  /** Nobody, the account's root user included, can delete a locked version or shorten its lock before its retention ends. */
  COMPLIANCE = 'COMPLIANCE',
}

/** Options of `ObjectLock.governance`. */
export interface GovernanceLockOptions {
  /**
   * The one IAM role (or user) allowed to lift the lock early, e.g. for a legal erasure or a
   * mistaken retention. The replica's bucket policy then denies `s3:BypassGovernanceRetention`,
   * `s3:DeleteObjectVersion` and `s3:PutObjectRetention` to every other principal (matched on
   * `aws:PrincipalArn`, so every session of that role). With it, the lock counts as the
   * immutable copy of 3-2-1-1-0.
   * @default - no bucket policy restricts the bypass: anyone granted it can lift the lock, and the compliance pack does not count the copy as immutable
   */
  readonly breakGlassPrincipalArn?: string;
}

const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/;

/**
 * S3 Object Lock's default retention for a bucket: every new object version is locked for
 * `days`. This is the "1" of 3-2-1-1-0: one copy that ransomware holding the agent's
 * credentials, or a careless operator, cannot alter or delete.
 *
 * What each mode guarantees: compliance mode holds against everyone, the account's root user
 * included, and cannot be undone for `days`; governance mode holds against every principal
 * without `s3:BypassGovernanceRetention`, so it counts as immutable only with a
 * `breakGlassPrincipalArn` (docs/compliance.md).
 */
export class ObjectLock {
  /**
   * Locked versions can be removed early only with an explicit governance bypass: by anyone
   * granted it, or, with `breakGlassPrincipalArn`, by that principal alone.
   */
  public static governance(days: number, options: GovernanceLockOptions = {}): ObjectLock {
    const arn = options.breakGlassPrincipalArn;
    if (arn !== undefined && !Token.isUnresolved(arn) && !PRINCIPAL_ARN.test(arn)) {
      throw invalidBreakGlassPrincipal(days, arn);
    }
    return new ObjectLock(ObjectLockMode.GOVERNANCE, days, 'ObjectLock.governance', arn);
  }

  /**
   * Locked versions cannot be removed, nor their lock shortened, by anyone, the account's root
   * user included, before `days` pass; the bucket cannot be deleted while it holds them.
   * Choose the period with care: it cannot be undone.
   */
  public static compliance(days: number): ObjectLock {
    return new ObjectLock(ObjectLockMode.COMPLIANCE, days, 'ObjectLock.compliance', undefined);
  }

  /**
   * The one principal allowed to lift a governance lock (governance mode only).
   * @default - none
   */
  public readonly breakGlassPrincipalArn?: string;

  private constructor(
    /** The lock mode. */
    public readonly mode: ObjectLockMode,
    /** How long each new object version stays locked, in days. */
    public readonly days: number,
    factory: string,
    breakGlassPrincipalArn?: string,
  ) {
    if (!Number.isInteger(days) || days < 1 || days > 36500) {
      throw outOfRange(factory, 'days', days, 1, 36500);
    }
    this.breakGlassPrincipalArn = breakGlassPrincipalArn;
  }

  /** What the lock holds against. */
  public get strength(): LockStrength {
    if (this.mode === ObjectLockMode.COMPLIANCE) {
      return LockStrength.COMPLIANCE;
    }
    return this.breakGlassPrincipalArn !== undefined ? LockStrength.GOVERNANCE_WITH_BREAK_GLASS : LockStrength.GOVERNANCE;
  }
}

function invalidBreakGlassPrincipal(days: number, value: string): ConfigurationError {
  return new ConfigurationError(
    `ObjectLock.governance(${days}, { breakGlassPrincipalArn })`,
    `breakGlassPrincipalArn must be the ARN of one IAM role or user (arn:<partition>:iam::<account>:role/<name> or :user/<name>) or a Terraform token, got ${show(value)}`,
    'name the one role allowed to lift the lock, e.g. "arn:aws:iam::111122223333:role/backup-break-glass" (no wildcard, not the root user), or use ObjectLock.compliance(days)',
  );
}
