import { outOfRange } from '../core/validation';

/**
 * Moves older repository data to an archive storage class: a second medium in the 3-2-1
 * sense (S3 Glacier's storage rather than S3 Standard's), at a lower price per GB.
 *
 * Only Glacier Instant Retrieval is offered: restic must be able to read any pack file at any
 * moment (backup, prune, `check --read-data-subset`, restore). Glacier Flexible Retrieval and
 * Deep Archive need a restore request hours before a read, which breaks the repository.
 */
export class ArchiveTier {
  /** Objects move to S3 Glacier Instant Retrieval `afterDays` days after they were written. */
  public static glacierInstantRetrieval(afterDays: number): ArchiveTier {
    return new ArchiveTier('GLACIER_IR', afterDays);
  }

  private constructor(
    /** The S3 storage class objects move to. */
    public readonly storageClass: string,
    /** Days after an object was written (or became noncurrent) before it moves. */
    public readonly afterDays: number,
  ) {
    if (!Number.isInteger(afterDays) || afterDays < 1 || afterDays > 36500) {
      throw outOfRange('ArchiveTier.glacierInstantRetrieval', 'afterDays', afterDays, 1, 36500);
    }
  }
}
