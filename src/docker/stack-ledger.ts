/**
 * The thin layer that writes a stack's ledger (model/host-ledger.ts) from its constructs, and
 * refuses at synth what the checks across constructs find (model/check-host-ledger.ts, across
 * the stack; model/shared-repositories.ts, across the app).
 *
 * The library's constructs record themselves as they are built: the names they are given, the
 * volumes a workload declares, what a backup reads and where it writes. The Docker objects
 * themselves are read from the stack's resources at synth, the user's own (`Container`,
 * `Volume`, `Network`, `Service` of @cdktf/provider-docker) as well as the library's, so every
 * name the library derives (`<name>-backup`, `<name>-backup-install`, ...) is seen as rendered.
 *
 * The checks need the whole stack, so they run as validations (`node.addValidation`) of the
 * constructs they are about, when `app.synth()` (or `Testing.fullSynth`) validates the stack:
 * each error is a ConfigurationError's message, on the construct it names.
 *
 * No import of the constructs here: they import this module.
 */
import { TerraformStack } from 'cdktf';
import { IConstruct, IValidation } from 'constructs';
import { show } from '../core/configuration-error';
import { DataMount, MountType } from '../model/data-mount';
import { checkHostLedger } from '../model/check-host-ledger';
import { BackupUse, DockerObjectKind, HostLedger, LedgerFinding, MountingWorkload, NameClaim, backupsByVolume } from '../model/host-ledger';
import { sharedRepositories } from '../model/shared-repositories';
import { DockerResourceReader, dockerKindOf, roleOf } from './docker-resource';
import { unmanagedContainerSubject } from './unmanaged-container-subject';
import { handStackSubjects, provideStackSubjects } from '../compliance/hooks';
import type { StorageTargetConfig } from '../targets/storage-target-config';

const LEDGER = Symbol.for('cdktf-container-backup.stack-ledger');
const VALIDATED = Symbol.for('cdktf-container-backup.ledger-validated');

/** The roles of a backup's own containers and services: their mounts are not the stack's data. */
const PLUMBING_ROLES = ['backup-sidecar', 'backup-agent-installer', 'backup-agent-initializer', 'docker-api-proxy', 'backup-service'];

/** A volume a workload of the library declares. */
export interface DeclaredVolume {
  readonly name: string;
  readonly containerPath: string;
  /** `backup: false`. */
  readonly excluded: boolean;
  /** `existing: true`: mounted, not created. */
  readonly existing?: boolean;
}

/** A source of a backup, as the backup declares it. */
export interface DeclaredSource {
  readonly volumeName: string;
  /** Made outside the stack (`external: true`). */
  readonly external?: boolean;
}

interface Owner {
  readonly node: IConstruct;
  /** What sets a name it makes, e.g. 'the containerName "db"'. */
  readonly setBy: string;
  readonly declaredVolumes: Set<string>;
  readonly extraClaims: Array<{ kind: DockerObjectKind; name: string; setBy: string }>;
}

interface Backup {
  readonly node: IConstruct;
  readonly workload: string;
  readonly service: boolean;
  readonly sources: DeclaredSource[];
  readonly targets: StorageTargetConfig[];
}

/** One reading of a stack's ledger, kept for a phase of the synth (see `read`). */
interface Reading {
  /** How many records the library's constructs had made when it was read. */
  readonly records: number;
  readonly ledger: HostLedger;
  readonly readers: Map<string, string[]>;
  /** The stack's own findings, by the construct they are about. */
  findings?: Map<string, string[]>;
}

/** The ledger of one stack: what the library's constructs recorded, read with the stack's resources. */
export class StackLedger {
  /** The ledger of the stack that holds `scope`, made on first use. */
  public static of(scope: IConstruct): StackLedger {
    const stack = TerraformStack.of(scope);
    let ledger: StackLedger | undefined = (stack as any)[LEDGER];
    if (!ledger) {
      ledger = new StackLedger(stack);
      Object.defineProperty(stack, LEDGER, { value: ledger, enumerable: false });
      // The pack reads the stack afresh when it begins it, and evaluates the user's own containers.
      const handed = ledger;
      handStackSubjects(stack, { refresh: () => handed.readAfresh(), subjectOf: (node) => unmanagedContainerSubject(node, handed) });
    }
    return ledger;
  }

  private readonly owners = new Map<IConstruct, Owner>();
  private readonly workloads = new Map<string, DeclaredVolume[]>();
  private readonly recordedBackups: Backup[] = [];
  private readonly backupNodes = new Set<IConstruct>();
  private reading?: Reading;
  /** Reads names without an index of the stack (at construction, rarely a reference). */
  private readonly reader: DockerResourceReader;

  private constructor(private readonly stack: TerraformStack) {
    this.reader = new DockerResourceReader(stack);
    // The stack validates itself first (validations run in tree order): the validations read
    // every ledger of the app afresh, once, whatever the aspects did before.
    stack.node.addValidation({
      validate: () => {
        ledgersOfApp(this.stack).forEach((l) => l.readAfresh());
        return [];
      },
    });
  }

  /**
   * A construct of the library that makes Docker objects (a workload, a backup, the egress
   * network): the objects below it are its names; `setBy` says what sets them, for the fix.
   */
  public recordOwner(node: IConstruct, setBy: string, declaredVolumes: string[] = [], extraClaims: Owner['extraClaims'] = []): void {
    this.owners.set(node, { node, setBy, declaredVolumes: new Set(declaredVolumes), extraClaims });
    this.validate(node);
  }

  /** A protected workload's volumes, as declared (AllDataBackedUp reads which are excluded). */
  public recordWorkload(node: IConstruct, volumes: DeclaredVolume[]): void {
    this.workloads.set(node.node.path, volumes.map((v) => ({ ...v })));
  }

  /** A backup: the workload it protects, the volumes it reads, its bound targets. */
  public recordBackup(node: IConstruct, backup: { workload: string; service: boolean; sources: DeclaredSource[]; targets: StorageTargetConfig[] }): void {
    this.recordedBackups.push({ node, ...backup });
    this.backupNodes.add(node);
    this.validate(node);
  }

  /**
   * The stack's ledger as it stands: the records, and the Docker objects of its resources. Read
   * once per phase of the synth (the pack's visit of the stack, the stack's validations) and
   * whenever a construct of the library records itself: every check and every subject reads the
   * same one, so a synth stays linear in the size of the stack.
   */
  public read(): HostLedger {
    return this.current().ledger;
  }

  /** Forgets the last reading: the next `read` looks at the stack again. */
  public readAfresh(): void {
    this.reading = undefined;
  }

  private current(): Reading {
    const records = this.owners.size + this.recordedBackups.length;
    if (this.reading && this.reading.records === records) {
      return this.reading;
    }
    const nodes = this.stack.node.findAll();
    const ledger = this.scan(nodes, new DockerResourceReader(this.stack, nodes));
    this.reading = { records, ledger, readers: backupsByVolume(ledger) };
    return this.reading;
  }

  private scan(nodes: IConstruct[], reader: DockerResourceReader): HostLedger {
    const names: NameClaim[] = [];
    const workloads: MountingWorkload[] = [];
    for (const owner of this.owners.values()) {
      for (const extra of owner.extraClaims) {
        names.push({ kind: extra.kind, name: extra.name, owner: owner.node.node.path, library: true, setBy: extra.setBy });
      }
    }
    for (const node of nodes) {
      const kind = dockerKindOf(node);
      if (kind === undefined) {
        continue;
      }
      const input = node as any;
      const owner = this.ownerOf(node);
      const name = reader.literal(input.nameInput);
      if (name !== undefined) {
        // A volume the workload itself creates from its `volumes` (not one of its sidecar's).
        const declared = kind === DockerObjectKind.VOLUME && owner !== undefined && node.node.scope === owner.node && owner.declaredVolumes.has(name);
        names.push({
          kind,
          name,
          owner: owner?.node.node.path ?? node.node.path,
          library: owner !== undefined,
          setBy: owner === undefined ? 'the `name`' : declared ? 'the volume\'s name in `volumes`' : owner.setBy,
          ...(declared ? { declaredVolume: true } : {}),
        });
      }
      if (kind === DockerObjectKind.CONTAINER || kind === DockerObjectKind.SERVICE) {
        workloads.push({
          path: owner?.node.node.path ?? node.node.path,
          library: owner !== undefined || roleOf(node) !== undefined,
          plumbing: this.insideBackup(node) || PLUMBING_ROLES.includes(roleOf(node) ?? ''),
          mounts: kind === DockerObjectKind.CONTAINER ? reader.containerMounts(input) : reader.serviceMounts(input),
        });
      }
    }
    const backups = this.recordedBackups.map((b) => this.backupUse(b, reader));
    return { stack: this.stack.node.id, names, workloads, backups };
  }

  /**
   * What the workload at `path` mounts, with the backups of the stack that read each: a
   * protected workload's declared volumes, or what a container of the user's own mounts.
   * Undefined for a path that is neither.
   */
  public mountsOf(path: string): DataMount[] | undefined {
    const { ledger, readers } = this.current();
    const declared = this.workloads.get(path);
    if (declared !== undefined) {
      return declared.map((v) => ({
        kind: MountType.VOLUME,
        source: v.name,
        containerPath: v.containerPath,
        ...(v.excluded ? { excluded: true } : {}),
        backedUpBy: readers.get(v.name) ?? [],
      }));
    }
    const workload = ledger.workloads.find((w) => w.path === path && !w.library && !w.plumbing);
    return workload?.mounts.map((m) => ({ ...m, backedUpBy: m.kind === MountType.VOLUME ? readers.get(m.source) ?? [] : [] }));
  }

  /** Whether `node` is a `docker_container` of the user's own (no construct of this library made it). */
  public isUnmanagedContainer(node: IConstruct): boolean {
    return (
      dockerKindOf(node) === DockerObjectKind.CONTAINER &&
      this.ownerOf(node) === undefined &&
      roleOf(node) === undefined
    );
  }

  /** The refusals about the construct at `path`: the stack's, and the app's shared repositories. */
  private findingsFor(path: string): string[] {
    const reading = this.current();
    if (reading.findings === undefined) {
      const own: LedgerFinding[] = checkHostLedger(reading.ledger);
      const app = sharedRepositories(ledgersOfApp(this.stack).flatMap((l) => l.read().backups));
      reading.findings = new Map();
      for (const f of [...own, ...app]) {
        reading.findings.set(f.where, [...(reading.findings.get(f.where) ?? []), f.message]);
      }
    }
    return reading.findings.get(path) ?? [];
  }

  /** Adds, once per construct, the validation that reports the findings about it. */
  private validate(node: IConstruct): void {
    if ((node as any)[VALIDATED]) {
      return;
    }
    Object.defineProperty(node, VALIDATED, { value: true, enumerable: false });
    const validation: IValidation = { validate: () => this.findingsFor(node.node.path) };
    node.node.addValidation(validation);
  }

  /** The outermost recorded owner among the scopes of `node`, itself included. */
  private ownerOf(node: IConstruct): Owner | undefined {
    for (const scope of node.node.scopes) {
      const owner = this.owners.get(scope);
      if (owner) {
        return owner;
      }
    }
    return undefined;
  }

  private insideBackup(node: IConstruct): boolean {
    return node.node.scopes.some((scope) => this.backupNodes.has(scope));
  }

  /**
   * A name as Docker will see it, when synth can know it (a literal, or a reference to the name
   * of a volume, network or container of this stack whose own name is known).
   */
  public literal(value: unknown): string | undefined {
    return this.reader.literal(value);
  }

  private backupUse(b: Backup, reader: DockerResourceReader): BackupUse {
    const standalone = !b.node.node.scopes.slice(0, -1).some((scope) => this.owners.has(scope));
    const local = b.targets.filter((t) => t.hostPath !== undefined);
    const remote = b.targets.filter((t) => t.hostPath === undefined);
    return {
      path: b.node.node.path,
      workload: b.workload,
      standalone,
      service: b.service,
      sources: b.sources.filter((s) => !(s.external ?? false)).map((s) => reader.literal(s.volumeName) ?? s.volumeName),
      externalSources: b.sources.filter((s) => s.external ?? false).map((s) => s.volumeName),
      localFolders: local.map((t) => ({ target: t.name, hostPath: t.hostPath! })),
      remoteRepositories: remote.map((t) => ({ target: t.name, repository: t.repository, display: reader.display(t.repository) })),
    };
  }
}

/** The ledgers of every stack of the app that holds `stack` (each may be another Docker host). */
function ledgersOfApp(stack: TerraformStack): StackLedger[] {
  return stack.node.root.node
    .findAll()
    .filter((n): n is TerraformStack => TerraformStack.isStack(n) && (n as any)[LEDGER] !== undefined)
    .map((n) => (n as any)[LEDGER] as StackLedger);
}

/** `the containerName "db"`, the words a fix uses for what sets a construct's names. */
export function setBy(prop: string, value: string): string {
  return `the ${prop} ${show(value)}`;
}

// A pack added to a stack that holds only the user's own containers reads them through a ledger
// made for it then (no construct of the library made one).
provideStackSubjects((stack) => StackLedger.of(stack));
