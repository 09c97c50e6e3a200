/**
 * The compliance subject of a `docker_container` of the user's own (declared with
 * @cdktf/provider-docker directly) that writes a volume or host folder: what it mounts and
 * which backups read it. Nothing else is known of its backup: the 3-2-1 rules find nothing to
 * count. The stack's ledger hands it to the pack (./stack-ledger.ts), which reads only its
 * topology.
 */
import { TerraformResource } from 'cdktf';
import { IConstruct } from 'constructs';
import { DataMount, holdsWrittenData } from '../model/data-mount';
import { Subject, workloadSubject } from '../model/subject';
import { Site } from '../targets/site';

/** What the subject is read from: the stack's ledger, as it is when the pack visits. */
export interface ContainerMountsReading {
  isUnmanagedContainer(node: IConstruct): boolean;
  mountsOf(path: string): DataMount[] | undefined;
  literal(value: unknown): string | undefined;
}

/** The subject of `node` when it is a container of the user's own with data of its own. */
export function unmanagedContainerSubject(node: IConstruct, reading: ContainerMountsReading): Subject | undefined {
  if (!TerraformResource.isTerraformResource(node) || !reading.isUnmanagedContainer(node)) {
    return undefined;
  }
  const mounts = reading.mountsOf(node.node.path) ?? [];
  if (!mounts.some(holdsWrittenData)) {
    return undefined;
  }
  const input = node as unknown as { nameInput?: string; imageInput?: string };
  return workloadSubject({
    path: node.node.path,
    containerName: reading.literal(input.nameInput) ?? node.node.id,
    image: reading.literal(input.imageInput),
    site: Site.dockerHost(),
    dataVolumes: [],
    mounts,
    unmanaged: true,
  });
}
