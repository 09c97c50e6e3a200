import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { backedUpService, count } from './describe';

/**
 * One data set, or several: swarm does not replicate volumes. A replicated service with more
 * than one replica writes one node-local copy of each volume per node, and they diverge. None
 * is authoritative: each node's backup task backs up its node's copy under the node's name
 * (restic `--host`), and a restore puts each node's copy back on that node. That is right when
 * every replica's data is its own (a cache, per-node uploads the application serves itself),
 * and wrong when the replicas should share one data set: then one replica, or a volume driver
 * that shares the data (NFS), is the fix. A warning, to be acknowledged with a reason.
 */
export class ReplicatedServiceDataRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'ReplicatedServiceData';
  public readonly ruleId = ReplicatedServiceDataRule.RULE_ID;
  public readonly description = 'Several replicas of a swarm service do not write node-local volumes that diverge unnoticed';

  public evaluate(topology: Topology): RuleResult {
    const service = backedUpService(topology);
    if (service instanceof RuleResult) {
      return service;
    }
    const volumes = topology.dataVolumes.join(', ');
    if (service.isGlobal) {
      return RuleResult.compliant(`a global service: each node's ${volumes} is its own data set, backed up under the node's name`);
    }
    if ((service.replicas ?? 1) === 1) {
      return RuleResult.compliant(`1 replica: one data set (${volumes})`);
    }
    return RuleResult.nonCompliant(`${count(service.replicas!, 'replica', 'replicas')} write ${count(service.replicas!, 'node-local copy', 'node-local copies')} of ${volumes}`);
  }
}

/** The finding: which copy is authoritative (none), what the backup does, and the fixes. */
export function divergingReplicaData(where: string, observed: string, ruleId: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${observed}, which diverge: none is authoritative. Each node's backup task backs up its node's copy under the node's name (restic --host), and a restore puts each node's copy back on that node`,
    `if the replicas should share one data set, run 1 replica pinned to a node, or use a volume driver that shares the data (e.g. NFS); if each node's copy is meant to be its own, acknowledge it: BackupSuppressions.addToConstruct(service, [{ ruleId: "${ruleId}", reason: "..." }])`,
  );
}
