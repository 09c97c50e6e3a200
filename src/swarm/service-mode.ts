import { outOfRange } from '../core/validation';

/**
 * How swarm runs a service's tasks: a number of replicas placed by the scheduler, or one task
 * on every node that matches the placement constraints.
 */
export class ServiceMode {
  /**
   * `replicas` tasks, placed by the scheduler among the nodes that match the constraints.
   * Their named volumes are node-local: pin a service with data to one node
   * (`node.hostname==...`), or its task may move to a node where the volume is empty.
   */
  public static replicated(replicas: number = 1): ServiceMode {
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 100) {
      throw outOfRange('ServiceMode.replicated', 'replicas', replicas, 1, 100);
    }
    return new ServiceMode(false, replicas);
  }

  /**
   * Swarm's global mode: one task on every node that matches the constraints, each with its
   * own node-local volumes.
   */
  public static everyNode(): ServiceMode {
    return new ServiceMode(true, undefined);
  }

  private constructor(
    /** One task per node (swarm's global mode). */
    public readonly isGlobal: boolean,
    /**
     * The number of tasks of a replicated service.
     * @default - one per matching node (global)
     */
    public readonly replicas?: number,
  ) {}
}
