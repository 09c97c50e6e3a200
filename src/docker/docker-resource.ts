/**
 * What a resource of @cdktf/provider-docker says, read from the inputs it was given: its name,
 * its mounts, its library role label. Names are read as Docker will see them when synth can
 * know them: a literal, or a reference to the name of a volume, network or container of the
 * stack, resolved without preparing (so no cross-stack reference is made).
 */
import { DefaultTokenResolver, StringConcat, TerraformResource, TerraformStack, Token, Tokenization } from 'cdktf';
import { IConstruct } from 'constructs';
import { DataMount, MountType } from '../model/data-mount';
import { DockerObjectKind } from '../model/host-ledger';

/** The label every container and service of this library carries, with its role. */
const ROLE_LABEL = 'cdktf-container-backup.role';

const KINDS: { [type: string]: DockerObjectKind } = {
  docker_container: DockerObjectKind.CONTAINER,
  docker_volume: DockerObjectKind.VOLUME,
  docker_network: DockerObjectKind.NETWORK,
  docker_service: DockerObjectKind.SERVICE,
};

/** The kind of Docker object `node` makes, if it is a docker_container, _volume, _network or _service. */
export function dockerKindOf(node: IConstruct): DockerObjectKind | undefined {
  return TerraformResource.isTerraformResource(node) ? KINDS[node.terraformResourceType] : undefined;
}

/** The library role a resource's labels give it, if any. */
export function roleOf(node: IConstruct): string | undefined {
  return list((node as any).labelsInput).find((l) => l.label === ROLE_LABEL)?.value;
}

/** Reads the Docker resources of one stack (indexed by address when `nodes` are given). */
export class DockerResourceReader {
  private readonly index?: Map<string, IConstruct>;

  constructor(
    private readonly stack: TerraformStack,
    nodes?: IConstruct[],
  ) {
    if (nodes) {
      this.index = new Map(nodes.filter((n) => dockerKindOf(n) !== undefined).map((n) => [address(n as TerraformResource), n]));
    }
  }

  /** A name as Docker will see it, or undefined when synth cannot know it. */
  public literal(value: unknown, depth = 0): string | undefined {
    if (typeof value !== 'string') {
      return undefined;
    }
    if (!Token.isUnresolved(value)) {
      return value;
    }
    const resolved = this.resolve(value);
    if (resolved === undefined) {
      return undefined;
    }
    if (!resolved.includes('${')) {
      return resolved;
    }
    const reference = /^\$\{(docker_volume|docker_network|docker_container)\.([^.]+)\.name\}$/.exec(resolved);
    if (!reference || depth > 3) {
      return undefined;
    }
    const key = `${reference[1]}.${reference[2]}`;
    const target = this.index ? this.index.get(key) : this.stack.node.findAll().find((n) => dockerKindOf(n) !== undefined && address(n as TerraformResource) === key);
    return target ? this.literal((target as any).nameInput, depth + 1) : undefined;
  }

  /** A value for messages: references as Terraform would print them, else marked. */
  public display(value: string): string {
    return this.resolve(value) ?? value.replace(/\$\{TfToken\[[^\]]*\]\}/g, '<reference>');
  }

  /** What a docker_container mounts: named volumes and host folders (`mounts` and `volumes`). */
  public containerMounts(input: any): DataMount[] {
    const out = this.mounts(list(input.mountsInput));
    for (const v of list(input.volumesInput)) {
      const volume = this.literal(v.volumeName);
      const host = this.literal(v.hostPath);
      if (volume !== undefined) {
        out.push(mount(MountType.VOLUME, volume, v.containerPath, v.readOnly));
      } else if (host !== undefined) {
        out.push(mount(MountType.BIND, host, v.containerPath, v.readOnly));
      }
    }
    return out;
  }

  /** What a docker_service's tasks mount. */
  public serviceMounts(input: any): DataMount[] {
    return this.mounts(list(input.taskSpecInput?.containerSpec?.mounts));
  }

  private mounts(entries: any[]): DataMount[] {
    const out: DataMount[] = [];
    for (const m of entries) {
      const source = this.literal(m.source);
      if ((m.type === 'volume' || m.type === 'bind') && source !== undefined) {
        out.push(mount(m.type === 'volume' ? MountType.VOLUME : MountType.BIND, source, m.target, m.readOnly));
      }
    }
    return out;
  }

  private resolve(value: string): string | undefined {
    try {
      const resolved = Tokenization.resolve(value, { scope: this.stack, resolver: new DefaultTokenResolver(new StringConcat()), preparing: false });
      return typeof resolved === 'string' ? resolved : undefined;
    } catch {
      return undefined;
    }
  }
}

function address(resource: TerraformResource): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}

/** A list input as written (an IResolvable for the whole list reads as empty: synth cannot know it). */
function list(value: unknown): any[] {
  return Array.isArray(value) ? value : [];
}

function mount(kind: MountType, source: string, containerPath: string, readOnly: unknown): DataMount {
  return { kind, source, containerPath, ...(readOnly === true ? { readOnly: true } : {}), backedUpBy: [] };
}
