/**
 * How the backup agent runs beside a workload, decided once: a container's `BackupSidecar`
 * (docker/) and a swarm service's `BackupService` (swarm/) render the same description, and
 * differ only where their engine forces it (each difference says why). Pure: names, not
 * resources; the renderers turn "the egress network" or "the Docker API proxy's network" into
 * the objects they make.
 */
import { Quiesce, QuiesceMode } from '../policy/quiesce';

/** Where the agent runs: beside one container, or as a global service on a swarm. */
export enum SidecarHost {
  /** A `docker_container` beside the protected container (`BackupSidecar`). */
  CONTAINER = 'container',
  /** A global `docker_service`, one task per node (`BackupService`). */
  SWARM_SERVICE = 'swarm-service',
}

/** A Docker label. */
export interface SidecarLabel {
  readonly label: string;
  readonly value: string;
}

/** The agent's runtime, as both renderers read it. */
export interface SidecarRuntime {
  /** `<workload>-backup`: the sidecar container's, or the backup service's, name. */
  readonly name: string;
  /**
   * The restic `--host`: fixed for a container, so a re-created sidecar recognises its own
   * stale locks at once; the node's hostname for a service task, so each node's history is its own.
   */
  readonly hostname: string;
  /** The named volume of the agent's status, cache, logs and manifests. */
  readonly stateVolume: string;
  /** The named volume the installer fills with the agent and its secrets (a container's only). */
  readonly installVolume: string;
  /** The labels of the sidecar container or backup service. */
  readonly labels: SidecarLabel[];
  /** The label of the volumes it owns: which workload they belong to. */
  readonly ownedLabels: SidecarLabel[];
  /** The scratch tmpfs at /tmp, in bytes (the root is read-only). */
  readonly tmpfsBytes: number;
  /** The json-file log driver's options: rotated, so a chatty restic cannot fill the disk. */
  readonly logOptions: { readonly [key: string]: string };
  /**
   * How long Docker waits after SIGTERM before it kills the agent: 60 s for restic to release
   * its lock and the agent to write its status, plus, when the quiesce stops or pauses the
   * protected container, the pending Docker call (bounded by the quiesce timeout) and the
   * start or unpause that undoes it.
   */
  readonly stopGraceSeconds: number;
  /**
   * The one capability kept (every other is dropped): to read a database's 0700 folder.
   * DAC_READ_SEARCH with a seccomp profile that denies open_by_handle_at (docker/seccomp);
   * DAC_OVERRIDE on a swarm, which drops the profile, and under Docker's default one that
   * capability cannot open a file by handle ("shocker"); the data is mounted read-only.
   */
  readonly readCapability: string;
  /** The networks it joins, in order: the declared ones, then the egress network, then the Docker API proxy's. */
  readonly networks: SidecarNetworks;
  /** Whether the quiesce needs the Docker API (through a proxy of its own: never the socket). */
  readonly dockerApi: boolean;
}

/** The networks the agent joins. */
export interface SidecarNetworks {
  /** Declared by the user (`BackupOptions.networks`). */
  readonly declared: string[];
  /** The stack's egress network: a remote target or a webhook. */
  readonly egress: boolean;
  /** The internal network shared with its Docker API proxy alone. */
  readonly dockerApi: boolean;
}

/** 60 s: restic releases its lock on SIGTERM, the agent writes its status. */
const RELEASE_SECONDS = 60;

/** What the runtime is decided from (model/resolve-backup-plan.ts fills it in). */
export interface SidecarRuntimeInput {
  /** The protected container's or service's name. */
  readonly workload: string;
  readonly host: SidecarHost;
  /** The backup schedule's cron expression (a label, for `docker ps`). */
  readonly scheduleExpression: string;
  readonly quiesce: Quiesce;
  /** `BackupOptions.networks`. */
  readonly declaredNetworks: string[];
  /** Whether it needs the stack's egress network. */
  readonly egress: boolean;
}

/** The runtime of a backup's agent. */
export function sidecarRuntime(input: SidecarRuntimeInput): SidecarRuntime {
  const { workload, quiesce } = input;
  const container = input.host === SidecarHost.CONTAINER;
  const undoesQuiesce = quiesce.mode === QuiesceMode.STOP || quiesce.mode === QuiesceMode.PAUSE;
  const protects = { label: 'cdktf-container-backup.protects', value: workload };
  return {
    name: `${workload}-backup`,
    hostname: container ? `${workload}-backup` : '{{.Node.Hostname}}',
    stateVolume: `${workload}-backup-state`,
    installVolume: `${workload}-backup-install`,
    labels: [
      { label: 'cdktf-container-backup.role', value: container ? 'backup-sidecar' : 'backup-service' },
      protects,
      { label: 'cdktf-container-backup.schedule', value: input.scheduleExpression },
    ],
    ownedLabels: [protects],
    tmpfsBytes: 512 * 1024 * 1024,
    logOptions: { 'max-size': '10m', 'max-file': '5' },
    stopGraceSeconds: RELEASE_SECONDS + (undoesQuiesce ? quiesce.timeoutSeconds : 0),
    readCapability: container ? 'DAC_READ_SEARCH' : 'DAC_OVERRIDE',
    networks: { declared: input.declaredNetworks, egress: input.egress, dockerApi: quiesce.needsDockerApi },
    dockerApi: quiesce.needsDockerApi,
  };
}
