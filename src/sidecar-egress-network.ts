import { Network } from '@cdktf/provider-docker/lib/network';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

/**
 * The network through which the sidecars of one Docker-host stack reach their remote targets
 * (S3, a REST server, an S3-compatible service) and the failure webhook: a plain bridge with a
 * route out, one per stack.
 *
 * Why a network of our own: the provider disconnects `bridge` as soon as `networks_advanced`
 * is set, so a sidecar that also joins the Docker API proxy's internal network would have no
 * route out at all. Why not the default bridge: every container started without a network
 * lands there, the protected applications included. Only backup sidecars join this one, and
 * none of them listens on a port.
 */
export class SidecarEgressNetwork extends Construct {
  /** The stack's egress network, created on first use. */
  public static of(scope: Construct): SidecarEgressNetwork {
    const stack = TerraformStack.of(scope);
    const id = 'cdktf-container-backup-egress';
    const existing = stack.node.tryFindChild(id);
    if (existing instanceof SidecarEgressNetwork) {
      return existing;
    }
    return new SidecarEgressNetwork(stack, id);
  }

  /** The Docker network. */
  public readonly network: Network;

  private constructor(scope: TerraformStack, id: string) {
    super(scope, id);
    this.network = new Network(this, 'network', {
      // One per stack: two stacks on one host must not both create the same name.
      name: `${scope.node.id}-backup-egress`,
      labels: [{ label: 'cdktf-container-backup.role', value: 'sidecar-egress' }],
    });
  }
}
