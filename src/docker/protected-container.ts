import { Container } from '@cdktf/provider-docker/lib/container';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { dependable } from 'cdktf';
import { Construct } from 'constructs';
import { terraformLiteral } from '../agent/agent-asset';
import { BackupOptions } from '../model/backup-options';
import { BackupSidecar } from './backup-sidecar';
import { attachComplianceHooks } from '../compliance/hooks';
import { workloadSubject } from '../model/subject';
import { StackLedger, setBy } from './stack-ledger';
import { ConfigurationError, show } from '../core/configuration-error';
import { Site } from '../targets/site';
import { checkName } from '../core/validation';
import { checkCommand, checkEnvironment, checkVolumes } from '../model/workload-checks';

/** A named Docker volume mounted into the protected container. */
export interface ContainerVolume {
  /** The Docker volume's name on the host. */
  readonly name: string;
  /** Where the container sees it. */
  readonly containerPath: string;
  /**
   * Use a volume that already exists instead of creating it: one made outside this stack, or
   * one another container of the stack creates (to share it on purpose; two containers that
   * both create one name are refused at synth, since they would be one volume).
   * @default false
   */
  readonly existing?: boolean;
  /**
   * Include it in the backup. Turn off for caches and scratch data, or for a volume shared with
   * the container whose backup reads it: the compliance rule AllDataBackedUp then takes it as
   * declared not worth a backup here.
   * @default true
   */
  readonly backup?: boolean;
  /**
   * Whether it may be empty when a cycle backs it up. An empty volume otherwise fails the
   * cycle before anything is backed up: a mistyped name gives Docker a new, empty volume.
   * @default false
   */
  readonly allowEmpty?: boolean;
}

/** A published port of the protected container. */
export interface PortMapping {
  /** The port inside the container. */
  readonly containerPort: number;
  /**
   * The port on the host.
   * @default - the same as `containerPort`
   */
  readonly hostPort?: number;
  /**
   * "tcp" or "udp".
   * @default "tcp"
   */
  readonly protocol?: string;
  /**
   * Host address to bind.
   * @default "127.0.0.1" - not exposed beyond the host unless you say so
   */
  readonly ip?: string;
}

/** Properties of a `ProtectedContainer`. */
export interface ProtectedContainerProps {
  /** The image to run, e.g. "postgres:16". */
  readonly image: string;
  /**
   * The container's name on the Docker host; also the restic `--host` of its backups, and the
   * prefix of its sidecar's names (`<name>-backup`, `<name>-backup-install`,
   * `<name>-backup-state`, ...). Each is checked at synth against every other name of the stack.
   * @default - the construct id
   */
  readonly containerName?: string;
  /**
   * Environment variables. Values of variables named like secrets (`*PASSWORD`, `*SECRET`,
   * `*TOKEN`, `*_KEY`) must be Terraform tokens, never literals; and no value, whatever its
   * name, may hold a literal password inside a URL (`postgres://user:password@db`) or a
   * connection string (`Password=...`): put a token in the password's place.
   * @default - none
   */
  readonly environment?: { [name: string]: string };
  /**
   * Overrides the image's command. No argument may hold a literal password inside a URL or a
   * connection string.
   * @default - the image's
   */
  readonly command?: string[];
  /**
   * Published ports.
   * @default - none
   */
  readonly ports?: PortMapping[];
  /**
   * Docker restart policy.
   * @default "unless-stopped"
   */
  readonly restart?: string;
  /**
   * Named volumes: the data that matters.
   * @default - none
   */
  readonly volumes?: ContainerVolume[];
  /**
   * The backup: targets, schedule, retention. Without it the container is deployed unprotected.
   * @default - no backup
   */
  readonly backup?: BackupOptions;
  /**
   * Where the container runs (its Docker host or data centre), for the 3-2-1 site count.
   * @default Site.dockerHost()
   */
  readonly site?: Site;
  /**
   * Docker networks to attach the container to.
   * @default - the default bridge network
   */
  readonly networks?: string[];
}

const RESTART_POLICIES = ['no', 'on-failure', 'always', 'unless-stopped'];

/**
 * A Docker container whose data matters: the container, its named volumes, and a restic
 * backup sidecar that backs those volumes up to every storage target on a schedule.
 *
 * @example
 * // `vault`: a BackupBucket with an offsite replica (OffsiteReplica.inRegion(...)).
 * new ProtectedContainer(stack, 'db', {
 *   image: 'postgres:16',
 *   volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
 *   backup: {
 *     schedule: Schedule.daily({ hour: 2 }),
 *     retention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }),
 *     quiesce: Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql']),
 *     targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK }), StorageTarget.s3(vault)],
 *   },
 * });
 */
export class ProtectedContainer extends Construct {
  /** The protected container. */
  public readonly container: Container;
  /** The volumes created here (not the `existing` ones). */
  public readonly volumes: Volume[] = [];
  /** The backup sidecar, when `backup` is set. */
  public readonly sidecar?: BackupSidecar;
  /** The container's name on the Docker host. */
  public readonly containerName: string;
  /** Where the container runs. */
  public readonly site: Site;
  /** The container's image. */
  public readonly image: string;
  /** The names of the volumes whose data is backed up (every volume but `backup: false` ones). */
  public readonly dataVolumeNames: string[];

  constructor(scope: Construct, id: string, props: ProtectedContainerProps) {
    super(scope, id);
    // Compliance packs on the App reach this stack; the topology report is written at synth.
    // The pack evaluates this container (and its sidecar with it) as the model built here.
    attachComplianceHooks(this, () =>
      workloadSubject({
        path: this.node.path,
        containerName: this.containerName,
        site: this.site,
        dataVolumes: this.dataVolumeNames,
        backup: this.sidecar?.resolved,
        image: this.image,
        mounts: StackLedger.of(this).mountsOf(this.node.path),
      }),
    );
    const where = this.node.path;
    this.containerName = props.containerName ?? id;
    this.site = props.site ?? Site.dockerHost();
    checkName(where, 'containerName', this.containerName);
    const restart = props.restart ?? 'unless-stopped';
    if (!RESTART_POLICIES.includes(restart)) {
      throw invalidRestart(where, restart);
    }
    const declared = props.volumes ?? [];
    checkVolumes(where, declared);
    this.image = props.image;
    this.dataVolumeNames = declared.filter((v) => v.backup ?? true).map((v) => v.name);
    checkEnvironment(where, props.environment ?? {});
    checkCommand(where, props.command ?? []);
    // What it names and mounts, for the checks across the stack (docker/stack-ledger.ts).
    const ledger = StackLedger.of(this);
    ledger.recordOwner(this, setBy('containerName', this.containerName), declared.filter((v) => !(v.existing ?? false)).map((v) => v.name));
    ledger.recordWorkload(
      this,
      declared.map((v) => ({ name: v.name, containerPath: v.containerPath, excluded: !(v.backup ?? true), existing: v.existing ?? false })),
    );

    const volumeNames = new Map<string, string>();
    for (const v of declared) {
      if (v.existing) {
        volumeNames.set(v.name, v.name);
        continue;
      }
      const volume = new Volume(this, `volume-${v.name}`, {
        name: v.name,
        labels: [{ label: 'cdktf-container-backup.protected-by', value: props.backup ? `${this.containerName}-backup` : 'none' }],
        lifecycle: { preventDestroy: true },
      });
      this.volumes.push(volume);
      volumeNames.set(v.name, volume.name);
    }

    this.container = new Container(this, 'container', {
      name: this.containerName,
      image: props.image,
      // Literal `${...}` in a command or a value is the application's, not Terraform's.
      command: props.command?.map(terraformLiteral),
      env: Object.entries(props.environment ?? {}).map(([k, v]) => `${k}=${terraformLiteral(v)}`),
      restart,
      mustRun: true,
      ports: (props.ports ?? []).map((p) => checkPort(where, p)),
      mounts: declared.map((v) => ({ type: 'volume', source: volumeNames.get(v.name)!, target: v.containerPath })),
      networksAdvanced: (props.networks ?? []).map((name) => ({ name })),
      labels: [{ label: 'cdktf-container-backup.role', value: props.backup ? 'protected' : 'unprotected' }],
    });

    if (props.backup) {
      const source = (v: ContainerVolume) => ({ volumeName: v.name, containerPath: v.containerPath, allowEmpty: v.allowEmpty });
      this.sidecar = new BackupSidecar(this, 'backup', {
        ...props.backup,
        containerName: this.containerName,
        sources: declared.filter((v) => v.backup ?? true).map(source),
        notBackedUp: declared.filter((v) => !(v.backup ?? true)).map(source),
        site: this.site,
      });
      // Volumes exist before the sidecar mounts them.
      this.sidecar.container.dependsOn = [...(this.sidecar.container.dependsOn ?? []), ...this.volumes.map((v) => dependable(v))];
    }
  }
}

function checkPort(where: string, port: PortMapping) {
  const hostPort = port.hostPort ?? port.containerPort;
  for (const [field, value] of [['containerPort', port.containerPort], ['hostPort', hostPort]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      throw invalidPort(where, field, value);
    }
  }
  return { internal: port.containerPort, external: hostPort, protocol: port.protocol ?? 'tcp', ip: port.ip ?? '127.0.0.1' };
}

function invalidRestart(path: string, value: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `restart policy ${show(value)} is not one of "no", "on-failure", "always", "unless-stopped"`,
    'use "unless-stopped" (the default) for a long-running service',
  );
}

function invalidPort(path: string, field: string, value: number): ConfigurationError {
  return new ConfigurationError(
    path,
    `port ${field} must be a whole number from 1 to 65535, got ${show(value)}`,
    'pass a valid TCP/UDP port number',
  );
}
