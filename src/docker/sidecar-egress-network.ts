import { Network } from '@cdktf/provider-docker/lib/network';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { show } from '../core/configuration-error';
import { StackLedger } from './stack-ledger';

/**
 * The network through which the backup sidecars of one Docker-host stack reach their remote
 * targets (S3, a REST server, an S3-compatible service) and the failure webhook: a plain bridge
 * with a route out, one per stack. A swarm stack's backup services get an overlay instead
 * (`overlayOf`): a service cannot join a local bridge; attachable, so that the one-shot
 * initializer container on the manager can join it too. Tasks on an overlay reach the outside
 * through their node's `docker_gwbridge`.
 *
 * Why a network of our own: the provider disconnects `bridge` as soon as `networks_advanced`
 * is set, so a sidecar that also joins the Docker API proxy's internal network would have no
 * route out at all. Why not the default bridge: every container started without a network
 * lands there, the protected applications included. Only backup sidecars join this one, and
 * none of them listens on a port.
 */
export class SidecarEgressNetwork extends Construct {
  /** The stack's egress bridge for sidecars, created on first use. */
  public static of(scope: Construct): SidecarEgressNetwork {
    return SidecarEgressNetwork.once(scope, 'cdktf-container-backup-egress', false);
  }

  /** The stack's egress overlay for swarm backup services, created on first use. */
  public static overlayOf(scope: Construct): SidecarEgressNetwork {
    return SidecarEgressNetwork.once(scope, 'cdktf-container-backup-egress-swarm', true);
  }

  private static once(scope: Construct, id: string, overlay: boolean): SidecarEgressNetwork {
    const stack = TerraformStack.of(scope);
    const existing = stack.node.tryFindChild(id);
    return existing instanceof SidecarEgressNetwork ? existing : new SidecarEgressNetwork(stack, id, overlay);
  }

  /** The Docker network. */
  public readonly network: Network;

  private constructor(scope: TerraformStack, id: string, overlay: boolean) {
    super(scope, id);
    StackLedger.of(this).recordOwner(this, `the stack id ${show(scope.node.id)} (the network is named after it)`);
    this.network = new Network(this, 'network', {
      // One per stack: two stacks on one host must not both create the same name.
      name: `${scope.node.id}-backup-egress${overlay ? '-swarm' : ''}`,
      ...(overlay ? { driver: 'overlay', attachable: true } : {}),
      labels: [{ label: 'cdktf-container-backup.role', value: 'sidecar-egress' }],
    });
  }
}
