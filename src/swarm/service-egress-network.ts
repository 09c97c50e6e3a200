import { Network } from '@cdktf/provider-docker/lib/network';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

/**
 * The network through which the backup services of one swarm stack reach their remote
 * targets and the webhook, as `SidecarEgressNetwork` is for sidecars: an overlay (a service
 * cannot join a local bridge), attachable so that the one-shot initializer container on the
 * manager can join it too. Tasks on an overlay reach the outside through the node's
 * `docker_gwbridge`.
 */
export class ServiceEgressNetwork extends Construct {
  /** The stack's swarm egress network, created on first use. */
  public static of(scope: Construct): ServiceEgressNetwork {
    const stack = TerraformStack.of(scope);
    const id = 'cdktf-container-backup-egress-swarm';
    const existing = stack.node.tryFindChild(id);
    if (existing instanceof ServiceEgressNetwork) {
      return existing;
    }
    return new ServiceEgressNetwork(stack, id);
  }

  /** The Docker network. */
  public readonly network: Network;

  private constructor(scope: TerraformStack, id: string) {
    super(scope, id);
    this.network = new Network(this, 'network', {
      name: `${scope.node.id}-backup-egress-swarm`,
      driver: 'overlay',
      attachable: true,
      labels: [{ label: 'cdktf-container-backup.role', value: 'backup-egress' }],
    });
  }
}
