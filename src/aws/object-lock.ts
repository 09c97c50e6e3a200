import * as errors from '../errors';

/** How strictly S3 Object Lock holds a locked object version. */
export enum ObjectLockMode {
  /**
   * Nobody can delete or overwrite a locked version before its retention ends, unless they
   * hold `s3:BypassGovernanceRetention` and ask for the bypass explicitly.
   */
  GOVERNANCE = 'GOVERNANCE',
  /** Nobody, the account's root user included, can delete a locked version before its retention ends. */
  COMPLIANCE = 'COMPLIANCE',
}

/**
 * S3 Object Lock's default retention for a bucket: every new object version is locked for
 * `days`. This is the "1" of 3-2-1-1-0: one copy that ransomware holding the agent's
 * credentials, or a careless operator, cannot alter or delete.
 */
export class ObjectLock {
  /** Locked versions can be removed early only with an explicit governance bypass. */
  public static governance(days: number): ObjectLock {
    return new ObjectLock(ObjectLockMode.GOVERNANCE, days, 'ObjectLock.governance');
  }

  /** Locked versions cannot be removed by anyone before `days` pass. Choose with care. */
  public static compliance(days: number): ObjectLock {
    return new ObjectLock(ObjectLockMode.COMPLIANCE, days, 'ObjectLock.compliance');
  }

  private constructor(
    /** The lock mode. */
    public readonly mode: ObjectLockMode,
    /** How long each new object version stays locked, in days. */
    public readonly days: number,
    factory: string,
  ) {
    if (!Number.isInteger(days) || days < 1 || days > 36500) {
      throw errors.outOfRange(factory, 'days', days, 1, 36500);
    }
  }
}
