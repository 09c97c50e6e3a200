import { ConfigurationError } from '../../core/configuration-error';
import { MountType, holdsWrittenData } from '../../model/data-mount';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { count, describeMount } from './describe';

/**
 * No data left out silently: every named volume or host folder a container of the stack writes
 * is read by a backup of the stack (a sidecar or backup service whose sources name the
 * volume), or declared not worth one (`backup: false` on a ProtectedContainer's volume), or
 * acknowledged with a reason (a suppression). It looks at the user's own `docker_container`s
 * as well as the library's workloads. Not findings: read-only mounts (input the container does
 * not write), sockets and kernel file systems (`/run`, `/var/run`, `/dev`, `/proc`, `/sys`),
 * and the library's own containers (sidecars, installers, proxies: their volumes hold the
 * agent, which every deploy installs again, and its state; a local repository is itself the
 * backup). A warning: a cache or scratch volume is a fine thing to leave out, and only the user
 * knows which it is.
 */
export class AllDataBackedUpRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'AllDataBackedUp';
  public readonly ruleId = AllDataBackedUpRule.RULE_ID;
  public readonly description = 'Every volume or host folder a container writes is read by a backup, or declared not worth one';

  public evaluate(topology: Topology): RuleResult {
    const mounts = topology.mounts;
    if (mounts === undefined) {
      return RuleResult.notApplicable('mounts unknown (a BackupSidecar or BackupService on its own)');
    }
    const written = mounts.filter(holdsWrittenData);
    if (written.length === 0) {
      return RuleResult.notApplicable('no volume or host folder the container writes');
    }
    const unread = written.filter((m) => !(m.excluded ?? false) && m.backedUpBy.length === 0);
    if (unread.length > 0) {
      return RuleResult.nonCompliant(`${count(unread.length, 'writable mount', 'writable mounts')} that no backup reads: ${unread.map(describeMount).join(', ')}`);
    }
    const facts = written.map((m) => ((m.excluded ?? false) ? `${describeMount(m)} declared not worth a backup` : `${describeMount(m)} read by ${m.backedUpBy.join(', ')}`));
    return RuleResult.compliant(facts.join('; '));
  }

  /** Whether one of the unread mounts is a host folder (a sidecar reads named volumes only). */
  public static unreadHostFolders(topology: Topology): boolean {
    return (topology.mounts ?? []).some((m) => m.kind === MountType.BIND && holdsWrittenData(m) && m.backedUpBy.length === 0);
  }
}

/**
 * The finding: what is lost with the host, and the three ways out: back it up, declare it not
 * worth a backup, or acknowledge it with a reason.
 */
export function unprotectedData(where: string, observed: string, unmanaged: boolean, hostFolder: boolean, ruleId: string): ConfigurationError {
  const protect = unmanaged
    ? 'back it up: declare the container as a ProtectedContainer with `backup`, or add a BackupSidecar whose `sources` name the volume'
    : 'back it up: give the workload a `backup`, or mark the volume `backup: false` when it is a cache or scratch data';
  const folder = hostFolder ? ' (a sidecar reads named volumes: keep data in a named volume rather than a host folder)' : '';
  return new ConfigurationError(
    where,
    `${observed}: whatever the container writes there is lost with the host, and nothing in the stack says that is meant`,
    `${protect}${folder}; if the data is not worth a backup, acknowledge it with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: "${ruleId}", reason: "a cache, rebuilt on start" }])`,
  );
}
