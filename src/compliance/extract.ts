/** The thin layer between constructs and the pure model. */
import { IConstruct } from 'constructs';
import { BackupSidecar } from '../backup-sidecar';
import { buildTopology } from '../model/build';
import { Topology } from '../model/topology';
import { ProtectedContainer } from '../protected-container';
import { BackupService } from '../swarm/backup-service';
import { ProtectedService } from '../swarm/protected-service';

/** A node the compliance pack evaluates, with its topology. */
export interface Subject {
  readonly topology: Topology;
  readonly sidecarName?: string;
}

/**
 * The topology of `node` when it is a protected container, or a `BackupSidecar` used on its
 * own (a sidecar inside a `ProtectedContainer` is evaluated with its container).
 */
export function subjectOf(node: IConstruct): Subject | undefined {
  if (node instanceof ProtectedContainer) {
    const sidecar = node.sidecar;
    return {
      topology: Topology.of(buildTopology({
        path: node.node.path,
        containerName: node.containerName,
        image: node.image,
        site: node.site,
        dataVolumes: node.dataVolumeNames,
        backup: sidecar ? facts(sidecar) : undefined,
      })),
      sidecarName: sidecar ? `${sidecar.containerName}-backup` : undefined,
    };
  }
  if (node instanceof ProtectedService) {
    const backup = node.backup;
    return {
      topology: Topology.of(buildTopology({
        path: node.node.path,
        containerName: node.serviceName,
        image: node.image,
        site: node.site,
        dataVolumes: node.dataVolumeNames,
        backup: backup?.resolved,
        service: node.deployment,
      })),
      sidecarName: backup ? `${node.serviceName}-backup` : undefined,
    };
  }
  if (node instanceof BackupService && !(node.node.scope instanceof ProtectedService)) {
    return {
      topology: Topology.of(buildTopology({
        path: node.node.path,
        containerName: node.serviceName,
        site: node.site,
        dataVolumes: node.sources.map((s) => s.volumeName),
        backup: node.resolved,
        service: node.deployment,
      })),
      sidecarName: `${node.serviceName}-backup`,
    };
  }
  if (node instanceof BackupSidecar && !(node.node.scope instanceof ProtectedContainer)) {
    return {
      topology: Topology.of(buildTopology({
        path: node.node.path,
        containerName: node.containerName,
        site: node.site,
        dataVolumes: node.sources.map((s) => s.volumeName),
        backup: facts(node),
      })),
      sidecarName: `${node.containerName}-backup`,
    };
  }
  return undefined;
}

/** The topology model reads the backup as the sidecar resolved it: the same plan it wired. */
function facts(sidecar: BackupSidecar) {
  return sidecar.resolved;
}
