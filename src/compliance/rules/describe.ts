/** Short factual descriptions shared by the rules (values, not prose: each rule's finding words them). */
import { RuleResult } from '../../model/rule';
import { DataMount, MountType } from '../../model/data-mount';
import { BackupCopy, ServiceDeployment, Topology } from '../../model/topology';

export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function names(copies: BackupCopy[]): string {
  return copies.map((c) => c.name).join(', ');
}

export function describeCopies(t: Topology): string {
  return `${count(t.copies.length, 'copy', 'copies')} (${names(t.copies)})`;
}

export function describeMedia(t: Topology): string {
  const media = t.media();
  const groups = media.map((m) => `${m}: ${names(t.copies.filter((c) => c.medium === m))}`);
  return `${count(media.length, 'medium', 'media')} (${groups.join('; ')})`;
}

export function describeSites(t: Topology): string {
  const sites = t.sites();
  return `${count(sites.length, 'site', 'sites')} (${sites.map((s) => s.name).join(', ')})`;
}

export function days(seconds: number): string {
  const d = seconds / 86400;
  return Number.isInteger(d) ? `${d} ${d === 1 ? 'day' : 'days'}` : `${Math.round(seconds / 3600)} hours`;
}

export const STATELESS = 'stateless: no data volumes and no backup';
export const NO_BACKUP = 'no backup declared';
export const UNMANAGED = 'a container of your own (not declared with this library): nothing declared for backup to count';

/** Why a 3-2-1 rule has nothing to count: a stateless workload, or a container of the user's own. */
export function stateless(topology: Topology): string {
  return topology.unmanaged ? UNMANAGED : STATELESS;
}

/** A mount as findings name it: `volume "pgdata"` or `host folder /srv/data`, and where it is mounted. */
export function describeMount(mount: DataMount): string {
  const what = mount.kind === MountType.VOLUME ? `volume "${mount.source}"` : `host folder ${mount.source}`;
  return `${what} at ${mount.containerPath}`;
}

/**
 * The swarm service a service rule looks at, or why the rule does not apply: a container, or a
 * service without a backup.
 */
export function backedUpService(topology: Topology): ServiceDeployment | RuleResult {
  if (!topology.service) {
    return RuleResult.notApplicable('a container, not a swarm service');
  }
  if (!topology.backup) {
    return RuleResult.notApplicable(NO_BACKUP);
  }
  return topology.service;
}
