/**
 * What an immutable copy's lock holds against. Only S3 Object Lock copies this library
 * configures carry it; the compliance rule `OneImmutableOrOffline` counts a governance-mode
 * lock as the immutable copy only when its bucket policy keeps the bypass to a break-glass
 * principal (docs/compliance.md).
 */
export enum LockStrength {
  /**
   * S3 Object Lock in compliance mode: nobody, the account's root user included, can delete a
   * locked version or shorten its lock before the lock ends.
   */
  COMPLIANCE = 'compliance',
  /**
   * S3 Object Lock in governance mode, with a bucket policy that denies
   * `s3:BypassGovernanceRetention`, `s3:DeleteObjectVersion` and `s3:PutObjectRetention` to
   * every principal except one named break-glass principal. Holds against every other IAM
   * principal of the account, administrators included, as long as they cannot rewrite the
   * bucket policy; the root user (who can always change a bucket policy) and the break-glass
   * principal can lift it.
   */
  GOVERNANCE_WITH_BREAK_GLASS = 'governance-with-break-glass',
  /**
   * S3 Object Lock in governance mode without such a policy: any principal granted
   * `s3:BypassGovernanceRetention` and `s3:DeleteObjectVersion` (an administrator, or a
   * stolen administrator credential) can delete locked versions early.
   */
  GOVERNANCE = 'governance',
}
