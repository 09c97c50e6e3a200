/** The thin layer between constructs and the pure model. */
import { IConstruct } from 'constructs';
import { BackupSidecar } from '../backup-sidecar';
import { buildTopology } from '../model/build';
import { ResolvedBackup } from '../model/resolve-backup-plan';
import { ServiceDeployment, Topology } from '../model/topology';
import { Site } from '../targets/site';
import { ProtectedContainer } from '../protected-container';
import { BackupService } from '../swarm/backup-service';
import { ProtectedService } from '../swarm/protected-service';

/** A node the compliance pack evaluates, with its topology. */
export interface Subject {
  readonly topology: Topology;
  readonly sidecarName?: string;
}

/**
 * The topology of `node` when it is a protected container or service, or a `BackupSidecar` or
 * `BackupService` used on its own (one inside its workload is evaluated with it).
 */
export function subjectOf(node: IConstruct): Subject | undefined {
  if (node instanceof ProtectedContainer) {
    return subject(node, node.containerName, node.site, node.dataVolumeNames, node.sidecar?.resolved, { image: node.image });
  }
  if (node instanceof BackupSidecar && !(node.node.scope instanceof ProtectedContainer)) {
    return subject(node, node.containerName, node.site, node.sources.map((s) => s.volumeName), node.resolved);
  }
  if (node instanceof ProtectedService) {
    return subject(node, node.serviceName, node.site, node.dataVolumeNames, node.backup?.resolved, { image: node.image, service: node.deployment });
  }
  if (node instanceof BackupService && !(node.node.scope instanceof ProtectedService)) {
    return subject(node, node.serviceName, node.site, node.sources.map((s) => s.volumeName), node.resolved, { service: node.deployment });
  }
  return undefined;
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
  extra: { image?: string; service?: ServiceDeployment } = {},
): Subject {
  return {
    topology: Topology.of(buildTopology({ path: node.node.path, containerName: name, site, dataVolumes, backup, ...extra })),
    sidecarName: backup ? `${name}-backup` : undefined,
  };
}
