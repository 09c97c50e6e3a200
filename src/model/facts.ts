import { Medium } from '../targets/medium';
import { Site } from '../targets/site';
import { BackupCopy, ContainerTopology, CopyRole } from './topology';

/** Derived facts of a topology, shared by the rules, the report, and user-written rules. */
export class TopologyFacts {
  /** The copies other than the live data (targets and replicas). */
  public static backupCopies(topology: ContainerTopology): BackupCopy[] {
    return topology.copies.filter((c) => c.role !== CopyRole.LIVE);
  }

  /** The distinct media of all copies, the live data included, in order of appearance. */
  public static media(topology: ContainerTopology): Medium[] {
    return [...new Set(topology.copies.map((c) => c.medium))];
  }

  /** The distinct sites of all copies, the live data included, in order of appearance. */
  public static sites(topology: ContainerTopology): Site[] {
    const seen = new Map<string, Site>();
    for (const copy of topology.copies) {
      if (!seen.has(copy.site.id)) {
        seen.set(copy.site.id, copy.site);
      }
    }
    return [...seen.values()];
  }

  /** The copies kept at another site than the container's. */
  public static offsiteCopies(topology: ContainerTopology): BackupCopy[] {
    return topology.copies.filter((c) => !c.site.isSameAs(topology.site));
  }

  /** The copies that are immutable or offline. */
  public static immutableOrOfflineCopies(topology: ContainerTopology): BackupCopy[] {
    return topology.copies.filter((c) => c.role !== CopyRole.LIVE && (c.immutable || c.offline));
  }

  /** Whether the container holds no data to protect (no backed-up volumes and no backup). */
  public static isStateless(topology: ContainerTopology): boolean {
    return topology.dataVolumes.length === 0 && topology.backup === undefined;
  }

  private constructor() {}
}
