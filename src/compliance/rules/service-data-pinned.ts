import { ConfigurationError } from '../../core/configuration-error';
import { IBackupRule, RuleResult } from '../../model/rule';
import { Topology } from '../../model/topology';
import { backedUpService } from './describe';

/** A constraint that names one node: its task can never land on another. */
const ONE_NODE = /^\s*node\.(hostname|id)\s*==\s*\S+\s*$/;
/** A constraint that selects nodes by an attribute or label. */
const SOME_NODES = /^\s*node\.\S+\s*==\s*\S+\s*$/;

/**
 * Node-local data: a replicated swarm service's named volumes live on the node its task runs
 * on. Swarm moves a task to another node when its node fails or is drained, and there the
 * volume is new and empty: the application starts on no data, and its backups carry on from
 * the empty volume under another node's name. So the service is pinned: to one node
 * (`node.hostname==...` or `node.id==...`), or, with several replicas, one task per node
 * (`maxReplicasPerNode: 1`) on nodes selected by a constraint. Global services run one task
 * on every matching node, each with its own data: they need no pin.
 */
export class ServiceDataPinnedRule implements IBackupRule {
  /** The rule's identifier. */
  public static readonly RULE_ID = 'ServiceDataPinned';
  public readonly ruleId = ServiceDataPinnedRule.RULE_ID;
  public readonly description = 'A replicated swarm service with data volumes is pinned to its node(s), so that a task never moves away from its data';

  public evaluate(topology: Topology): RuleResult {
    const service = backedUpService(topology);
    if (service instanceof RuleResult) {
      return service;
    }
    if (service.isGlobal) {
      return RuleResult.notApplicable('a global service: one task on every matching node, each with its own data');
    }
    const constraints = service.placementConstraints;
    const shown = constraints.length === 0 ? 'no placement constraint' : `constraints ${constraints.join(', ')}`;
    const observed = `${service.replicas} ${service.replicas === 1 ? 'replica' : 'replicas'}, ${shown}`;
    if (constraints.some((c) => ONE_NODE.test(c))) {
      return RuleResult.compliant(`${observed}: pinned to one node`);
    }
    if (service.maxReplicasPerNode === 1 && constraints.some((c) => SOME_NODES.test(c))) {
      return RuleResult.compliant(`${observed}, at most 1 per node: each task stays on a node of its own`);
    }
    return RuleResult.nonCompliant(observed);
  }
}

/** The finding when a replicated service with data may move away from it. */
export function serviceNotPinned(where: string, observed: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${observed}: swarm moves a task to another node when its node fails or is drained, and there the node-local volume is new and empty; the application would start on no data and its backups would carry on from the empty volume`,
    'pin it to its node with a placement constraint, e.g. `placementConstraints: ["node.hostname==db-1"]`, or run one task per node with `maxReplicasPerNode: 1` and a constraint on a node label',
  );
}
