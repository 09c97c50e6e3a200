/** The thin layer between constructs and the pure model. */
import { TerraformResource } from 'cdktf';
import { IConstruct } from 'constructs';
import { BackupSidecar } from '../docker/backup-sidecar';
import { StackLedger } from '../docker/stack-ledger';
import { buildTopology } from '../model/build';
import { DataMount, holdsWrittenData } from '../model/data-mount';
import { ResolvedBackup } from '../model/resolve-backup-plan';
import { ServiceDeployment, Topology } from '../model/topology';
import { Site } from '../targets/site';
import { ProtectedContainer } from '../docker/protected-container';
import { BackupService } from '../swarm/backup-service';
import { ProtectedService } from '../swarm/protected-service';

/** A node the compliance pack evaluates, with its topology. */
export interface Subject {
  readonly topology: Topology;
  readonly sidecarName?: string;
}

/**
 * The topology of `node` when it is a protected container or service, a `BackupSidecar` or
 * `BackupService` used on its own (one inside its workload is evaluated with it), or a
 * `docker_container` of the user's own that writes a volume or host folder (only its mounts
 * are evaluated: `unmanaged`).
 */
export function subjectOf(node: IConstruct): Subject | undefined {
  if (node instanceof ProtectedContainer) {
    const mounts = StackLedger.of(node).mountsOf(node.node.path);
    return subject(node, node.containerName, node.site, node.dataVolumeNames, node.sidecar?.resolved, { image: node.image, mounts });
  }
  if (node instanceof BackupSidecar && !(node.node.scope instanceof ProtectedContainer)) {
    return subject(node, node.containerName, node.site, node.sources.map((s) => s.volumeName), node.resolved);
  }
  if (node instanceof ProtectedService) {
    const mounts = StackLedger.of(node).mountsOf(node.node.path);
    return subject(node, node.serviceName, node.site, node.dataVolumeNames, node.backup?.resolved, { image: node.image, service: node.deployment, mounts });
  }
  if (node instanceof BackupService && !(node.node.scope instanceof ProtectedService)) {
    return subject(node, node.serviceName, node.site, node.sources.map((s) => s.volumeName), node.resolved, { service: node.deployment });
  }
  if (TerraformResource.isTerraformResource(node) && node.terraformResourceType === 'docker_container') {
    return unmanagedSubject(node);
  }
  return undefined;
}

/**
 * A container of the user's own with data of its own (a writable volume or host folder): what
 * it mounts and which backups read it. Nothing else is known of its backup: the 3-2-1 rules
 * find nothing to count.
 */
function unmanagedSubject(node: TerraformResource): Subject | undefined {
  const ledger = StackLedger.of(node);
  if (!ledger.isUnmanagedContainer(node)) {
    return undefined;
  }
  const mounts = ledger.mountsOf(node.node.path) ?? [];
  if (!mounts.some(holdsWrittenData)) {
    return undefined;
  }
  const input = node as unknown as { nameInput?: string; imageInput?: string };
  return {
    topology: Topology.of(
      buildTopology({
        path: node.node.path,
        containerName: ledger.literal(input.nameInput) ?? node.node.id,
        image: ledger.literal(input.imageInput),
        site: Site.dockerHost(),
        dataVolumes: [],
        mounts,
        unmanaged: true,
      }),
    ),
  };
}

/**
 * The subject of a workload named `name` (a container's, a service's): the topology model
 * reads the backup as the sidecar (or backup service) resolved it, the same plan it wired.
 */
function subject(
  node: IConstruct,
  name: string,
  site: Site,
  dataVolumes: string[],
  backup: ResolvedBackup | undefined,
  extra: { image?: string; service?: ServiceDeployment; mounts?: DataMount[] } = {},
): Subject {
  return {
    topology: Topology.of(buildTopology({ path: node.node.path, containerName: name, site, dataVolumes, backup, ...extra })),
    sidecarName: backup ? `${name}-backup` : undefined,
  };
}
