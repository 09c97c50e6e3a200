/**
 * THE one way to take a `<name>-backup` sidecar out of a synthesized cdk.tf.json and run it:
 * the artifact is what the tests run.
 *
 * `sidecarOf(json, name)` is the pure part, shared by both runtimes: the sidecar's
 * `docker_container` resource, its one-shot installer `<name>-backup-install`, and the agent's
 * plan as the installer uploads it (`agent.json`, escapes undone; references stay).
 *
 * `SidecarHarness.fromSynth(json, name, options)` runs it in the sidecar sandbox
 * (sidecar-sandbox.ts, the runtime beneath the harness: a mount namespace on the host, no
 * engine), the way `cdktf deploy` and Docker would: a host folder below one work
 * folder behind every volume and host path the sidecar and its installer mount (volumes at
 * `volumes/<name>`, host paths at `host/<path>`, unless `hostDirs` names another), the
 * Terraform values (the docker names of the stack, plus `terraformValues`), and the installer
 * run once before anything else (`install()` runs it again, as a re-deploy does). `run` and
 * `start` run the sidecar: with its command replaced, as `docker exec` (`exec`), as Docker's
 * health probe (`healthcheck`), or with a fault the library cannot express (`plan`, `env`).
 *
 * The agent tests get their harness from the stacks of synthesized-sidecar.ts
 * (`synthesizedSidecar`, `protocolSidecar`, `sidecarBesideServer`); the e2e test and the bench
 * (bench/agent-sidecar.ts) call `fromSynth` themselves; the real-engine tier reads the same
 * `sidecarOf` (engine/deployed-host.ts, `DeployedHost.sidecar`). Only the sandbox's own test
 * (test/agent/sidecar-sandbox.test.ts) runs hand-made resources on the sandbox directly.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AGENT_INSTALL_DIR, AGENT_STATE_DIR } from '../../src/agent/agent-asset';
import {
  DockerContainerResource,
  PlanPatch,
  RunningSidecar,
  SidecarResult,
  SidecarSandboxOptions,
  installAgentSync,
  patchPlan,
  runSidecar,
  startSidecar,
} from './sidecar-sandbox';
import { agentPlanOf, containerNamed, terraformReferenceValues } from './synth';
import { renderTerraformString } from './terraform-string';

export { containerNamed };

/** What a synthesized cdk.tf.json holds of one protected container's sidecar. */
export interface SynthesizedSidecarParts {
  /** `resource.docker_container.<id>` of `<name>-backup`. */
  readonly resource: DockerContainerResource;
  /** `resource.docker_container.<id>` of `<name>-backup-install`. */
  readonly installer: DockerContainerResource;
  /** The plan the installer uploads (agent.json), Terraform's escapes undone, references kept. */
  readonly plan: any;
  /** The agent script the installer uploads, as Terraform evaluates it (the stack's local). */
  readonly agentScript: string;
}

/** The `<name>-backup` sidecar, its installer and its plan, out of a synthesized cdk.tf.json. */
export function sidecarOf(json: any, name: string): SynthesizedSidecarParts {
  return {
    resource: containerNamed(json, `${name}-backup`),
    installer: containerNamed(json, `${name}-backup-install`),
    plan: agentPlanOf(json, name),
    agentScript: renderTerraformString(
      containerNamed(json, `${name}-backup-install`).upload.find((u: any) => u.file === '/backup/staging/bin/backup-agent').content,
      terraformReferenceValues(json),
    ),
  };
}

export interface SidecarHarnessOptions {
  /** Values of the stack's other Terraform expressions (variables, secrets), beyond its docker names. */
  readonly terraformValues?: Record<string, string>;
  /** Host folders to use instead of fresh ones, by volume name or host path. */
  readonly hostDirs?: Record<string, string>;
  /** Keys of the host folders that are themselves read-only (see SidecarSandboxOptions). */
  readonly readOnlyHostDirs?: string[];
  /** Sandbox options of every run (`env` and `terraformValues` merged, `plan` applied before the run's). */
  readonly defaults?: Partial<SidecarSandboxOptions>;
  /** The folder below which the host folders are made. @default a new temp folder (see workDirPrefix) */
  readonly workDir?: string;
  /** Prefix of the new temp folder's name. @default 'sidecar-' */
  readonly workDirPrefix?: string;
  /** Bound of each installer run. @default 30000 */
  readonly installTimeoutMs?: number;
  /** Run the installer now, as `cdktf deploy` does before it creates the sidecar. @default true */
  readonly install?: boolean;
}

/** A synthesized sidecar in the sandbox, with the host folders behind its volumes. */
export class SidecarHarness implements SynthesizedSidecarParts {
  /** Takes the sidecar of container `name` out of `json`, prepares its host folders and installs it. */
  static fromSynth(json: any, name: string, options: SidecarHarnessOptions = {}): SidecarHarness {
    const harness = new SidecarHarness(json, name, options);
    if (options.install ?? true) {
      try {
        harness.install();
      } catch (err) {
        harness.cleanup();
        throw err;
      }
    }
    return harness;
  }

  readonly resource: DockerContainerResource;
  readonly installer: DockerContainerResource;
  readonly agentScript: string;
  /** The whole cdk.tf.json. */
  readonly json: any;
  readonly name: string;
  /** Everything the harness made lives below this folder. */
  readonly workDir: string;
  /** The host folder of each volume name and host path the sidecar or its installer mounts. */
  readonly hostDirs: Record<string, string>;
  readonly terraformValues: Record<string, string>;
  /** Host folder of the agent's state volume (/backup/agent in the sidecar). */
  readonly stateDir: string;
  /** Host folder of the install volume (/backup/install in the sidecar: agent.json, bin/, secrets/). */
  readonly installDir: string;
  private readonly options: SidecarHarnessOptions;

  private constructor(json: any, name: string, options: SidecarHarnessOptions) {
    const parts = sidecarOf(json, name);
    this.json = json;
    this.name = name;
    this.options = options;
    this.resource = parts.resource;
    this.installer = parts.installer;
    this.agentScript = parts.agentScript;
    this.terraformValues = { ...terraformReferenceValues(json), ...(options.terraformValues ?? {}) };
    this.workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), options.workDirPrefix ?? 'sidecar-'));
    this.hostDirs = {};
    for (const container of [this.resource, this.installer]) {
      for (const { key, kind } of hostSources(container, this.terraformValues)) {
        const dir = options.hostDirs?.[key] ?? path.join(this.workDir, kind === 'volume' ? 'volumes' : 'host', key);
        // Volumes exist before any container (Terraform creates them first); a missing host
        // path is made by Docker when the container that mounts it is created (makeHostPaths).
        if (kind === 'volume') {
          fs.mkdirSync(dir, { recursive: true });
        }
        this.hostDirs[key] = dir;
      }
    }
    this.stateDir = this.hostDirOf(AGENT_STATE_DIR);
    this.installDir = this.hostDirOf(AGENT_INSTALL_DIR);
  }

  /** The installed plan: agent.json on the install volume, parsed. */
  get plan(): any {
    return JSON.parse(fs.readFileSync(path.join(this.installDir, 'agent.json'), 'utf8'));
  }

  /** The host folder behind the sidecar's mount at `containerPath`. */
  hostDirOf(containerPath: string): string {
    const source = hostSources(this.resource, this.terraformValues).find((s) => s.target === containerPath);
    if (!source) {
      throw new Error(`${this.name}-backup mounts nothing at ${containerPath}`);
    }
    return this.hostDirs[source.key];
  }

  /** Sandbox options of a run: the defaults, then `extra` (`env`, `terraformValues` merged; plan patches both applied). */
  sandbox(extra: Partial<SidecarSandboxOptions> = {}): SidecarSandboxOptions {
    this.makeHostPaths(this.resource);
    const defaults = this.options.defaults ?? {};
    return {
      hostDirs: this.hostDirs,
      readOnlyHostDirs: this.options.readOnlyHostDirs,
      timeoutMs: 100000,
      ...defaults,
      ...extra,
      terraformValues: { ...this.terraformValues, ...(defaults.terraformValues ?? {}), ...(extra.terraformValues ?? {}) },
      env: { ...(defaults.env ?? {}), ...(extra.env ?? {}) },
      plan: composePlanPatches(defaults.plan, extra.plan),
    };
  }

  /**
   * Runs the sidecar to its end: with `args` instead of its command (`docker run IMAGE ARGS`),
   * or as `run` options say (its own command; `command`, `exec` for `docker exec`,
   * `healthcheck` for Docker's health probe, and the rest of the sandbox's options).
   */
  run(args: string[], extra?: Partial<SidecarSandboxOptions>): Promise<SidecarResult>;
  run(options?: Partial<SidecarSandboxOptions>): Promise<SidecarResult>;
  run(argsOrOptions: string[] | Partial<SidecarSandboxOptions> = {}, extra: Partial<SidecarSandboxOptions> = {}): Promise<SidecarResult> {
    return runSidecar(this.resource, this.sandbox(runOptions(argsOrOptions, extra)));
  }

  /** Starts the sidecar as `run` does, to stop or kill it midway. */
  start(args: string[], extra?: Partial<SidecarSandboxOptions>): RunningSidecar;
  start(options?: Partial<SidecarSandboxOptions>): RunningSidecar;
  start(argsOrOptions: string[] | Partial<SidecarSandboxOptions> = {}, extra: Partial<SidecarSandboxOptions> = {}): RunningSidecar {
    return startSidecar(this.resource, this.sandbox(runOptions(argsOrOptions, extra)));
  }

  /**
   * Runs the installer (again, as a re-deploy does), with `terraformValues` added to (or
   * replacing) the stack's (e.g. another repository password); throws when it fails.
   */
  install(terraformValues: Record<string, string> = {}): SidecarResult {
    this.makeHostPaths(this.installer);
    return installAgentSync(this.installer, {
      hostDirs: this.hostDirs,
      terraformValues: { ...this.terraformValues, ...terraformValues },
      timeoutMs: this.options.installTimeoutMs ?? 30000,
    });
  }

  /**
   * Marks maintenance due, as the daemon does when its schedule fires: the next `run` (or
   * `due`) does it. Checks and prunes are not part of a routine cycle.
   */
  markDue(...work: DueWork[]): void {
    for (const file of dueMarkerFiles(this.plan, work)) {
      fs.mkdirSync(path.join(this.stateDir, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(this.stateDir, file), '');
    }
  }

  /** status.json as the agent last wrote it, parsed. */
  status(): any {
    return JSON.parse(fs.readFileSync(path.join(this.stateDir, 'status.json'), 'utf8'));
  }

  /**
   * Makes the missing host-path folders `container` mounts, as Docker does when it creates
   * the container (mkdir -p, root, 0755): the installer's before it runs, the sidecar's after.
   */
  private makeHostPaths(container: DockerContainerResource): void {
    for (const { key, kind } of hostSources(container, this.terraformValues)) {
      if (kind === 'host') {
        fs.mkdirSync(this.hostDirs[key], { recursive: true });
      }
    }
  }

  /** Removes the work folder (the host folders `hostDirs` named stay). */
  cleanup(): void {
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** The sandbox options of a `run`/`start` call: `args` become the command. */
function runOptions(argsOrOptions: string[] | Partial<SidecarSandboxOptions>, extra: Partial<SidecarSandboxOptions>): Partial<SidecarSandboxOptions> {
  return Array.isArray(argsOrOptions) ? { command: argsOrOptions, ...extra } : { ...argsOrOptions, ...extra };
}

/** Maintenance the daemon marks due when its schedule fires (the agent's `due_markers`). */
export type DueWork = 'check' | 'prune' | 'retention' | 'drill';

/**
 * The marker files (relative to the agent's state folder) that make `work` due on every
 * target of `plan`: `due/drill`, or `due/<work>.<target>`.
 */
export function dueMarkerFiles(plan: { targets: Array<{ name: string }> }, work: DueWork[]): string[] {
  return work.flatMap((w) => (w === 'drill' ? ['due/drill'] : plan.targets.map((t) => `due/${w}.${t.name}`)));
}

/**
 * The command (for `docker exec <sidecar> ...`) that marks `work` due inside a running sidecar
 * whose plan is `plan` (its stateDir and target names).
 */
export function markDueCommand(plan: { stateDir: string; targets: Array<{ name: string }> }, work: DueWork[]): string[] {
  const files = dueMarkerFiles(plan, work).map((f) => `${plan.stateDir}/${f}`);
  return ['sh', '-c', 'mkdir -p "$(dirname "$1")" && for f; do : >"$f"; done', 'mark-due', ...files];
}

/** Each volume and host path a container mounts: its key in `hostDirs`, and where it is mounted. */
function hostSources(container: DockerContainerResource, values: Record<string, string>): Array<{ key: string; kind: 'volume' | 'host'; target: string }> {
  const render = (text: string) => renderTerraformString(text, values, `${container.name}'s mounts`);
  return [
    ...(container.mounts ?? [])
      .filter((m) => m.source !== undefined && (m.type === 'volume' || m.type === 'bind'))
      .map((m) => ({ key: render(m.source!), kind: m.type === 'volume' ? ('volume' as const) : ('host' as const), target: m.target })),
    ...(container.volumes ?? []).map((v) =>
      v.host_path !== undefined
        ? { key: render(v.host_path), kind: 'host' as const, target: v.container_path }
        : { key: render(v.volume_name!), kind: 'volume' as const, target: v.container_path },
    ),
  ];
}

/** Plan changes applied in order, as one (none when none is given). */
export function composePlanPatches(...patches: Array<PlanPatch | undefined>): PlanPatch | undefined {
  const given = patches.filter((p): p is PlanPatch => p !== undefined);
  if (given.length <= 1) {
    return given[0];
  }
  return (plan: any) => {
    const changed = given.reduce((current, patch) => patchPlan(current, patch), plan);
    Object.keys(plan).forEach((k) => delete plan[k]);
    Object.assign(plan, changed);
  };
}
