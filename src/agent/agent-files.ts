/**
 * The files a backup's agent reads, whatever delivers them: uploads to a container's one-shot
 * installer (`BackupSidecar`), or swarm secrets and configs (`BackupService`). One list, so a
 * container's sidecar and a service's backup task get the same agent, plan and secrets.
 */
import { TerraformLocal, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AGENT_SCRIPT_PATH, agentScript, terraformEscape } from './agent-asset';
import { INIT_PLAN_FILE, INIT_SECRETS_DIR } from './agent-install';
import {
  AGENT_PLAN_FILE,
  AgentWiring,
  NOTIFY_URL_FILE,
  PASSWORD_FILE,
  agentPlan,
  agentPlanFileContent,
  initSecretUploads,
  planInit,
  targetOwnSecretUploads,
  targetSecretUploads,
} from './agent-plan';
import type { ResolvedBackup } from '../model/resolve-backup-plan';
import { Quiesce } from '../policy/quiesce';

/**
 * The Docker healthcheck of a sidecar: cheap on purpose, it reads the status file and never
 * opens a repository. (Not of a swarm backup task: swarm replaces an unhealthy task.)
 */
export const AGENT_HEALTHCHECK = {
  test: ['CMD', '/bin/sh', AGENT_SCRIPT_PATH, 'health'],
  interval: '60s',
  timeout: '10s',
  retries: 3,
  startPeriod: '120s',
};

/** One file the agent reads. */
export interface AgentFile {
  /** Its path in the sidecar (or the installer's staging path of an init file). */
  readonly file: string;
  /** Its content as Terraform reads it: tokens resolved at apply, `${` and `%{` escaped. */
  readonly content: string;
  /** Its mode: the script 0555, the plan 0444, a secret 0400. */
  readonly permissions: string;
  /** Whether it is a secret (a swarm secret; a swarm config otherwise). */
  readonly secret: boolean;
}

/** What the agent is given besides its plan. */
export interface AgentFileOptions {
  /** The repository password (a token). */
  readonly password: string;
  /**
   * The failure webhook's URL (a token).
   * @default - none
   */
  readonly notifyUrl?: string;
  /** Where things are wired (the Docker API proxy, a swarm service). */
  readonly wiring: AgentWiring;
}

/** The agent script, its plan, the repository password, the webhook URL and the targets' secrets. */
export function agentFiles(scope: Construct, backup: ResolvedBackup, options: AgentFileOptions): AgentFile[] {
  return [
    { file: AGENT_SCRIPT_PATH, content: stackLocal(scope, AGENT_SCRIPT_LOCAL, escapedAgentScript), permissions: '0555', secret: false },
    { file: AGENT_PLAN_FILE, content: agentPlanFileContent(agentPlan(backup, options.wiring)), permissions: '0444', secret: false },
    { file: PASSWORD_FILE, content: options.password, permissions: '0400', secret: true },
    ...(options.notifyUrl !== undefined ? [{ file: NOTIFY_URL_FILE, content: options.notifyUrl, permissions: '0400', secret: true }] : []),
    ...targetSecretUploads(backup.targets).map((s) => ({ file: s.file, content: s.value, permissions: '0400', secret: true })),
  ];
}

/** The deploy-time initialisation of the repositories the agent's own credentials may not create. */
export interface Initialization {
  /**
   * The init plan and the init secrets, at the installer's staging paths (never the agent's);
   * none: nothing to initialise (the plan is there whenever a target needs initialising).
   */
  readonly files: AgentFile[];
  /**
   * The agent's own secret files of the targets to initialise, where agent.json names them:
   * the init plan opens each repository with them. An installer has them anyway; a swarm
   * service's initializer gets them staged.
   */
  readonly agentSecrets: AgentFile[];
}

/**
 * Targets whose long-running credentials may not create a repository (an S3 agent key may not
 * write `config` or `keys/`): a one-shot container at deploy time runs `backup-agent init`
 * with the init plan. It opens each repository with the target's own credentials and runs
 * `restic init` alone with the init credentials (`targets[i].init`), so a later install, after
 * those have expired, still opens the repositories there are (issue 21). The init credentials
 * never reach the agent.
 */
export function initialization(backup: ResolvedBackup): Initialization {
  const indexes = backup.targets.flatMap((t, i) => (t.initEnvironment !== undefined ? [i] : []));
  if (indexes.length === 0) {
    return { files: [], agentSecrets: [] };
  }
  const plan = agentPlan({
    ...backup,
    quiesce: Quiesce.none(),
    notify: false,
    // `terraform apply` waits for the initialisation: a dead endpoint must not hold it for hours.
    networkTimeoutSeconds: Math.min(backup.networkTimeoutSeconds, 300),
  });
  // Indexes as in agent.json: the target's own secret files are the installed ones.
  const targets = indexes.map((i) => ({ ...plan.targets[i], replicas: [], init: planInit(backup.targets[i], i + 1, INIT_SECRETS_DIR) }));
  const secret = (s: { file: string; value: string }): AgentFile => ({ file: s.file, content: s.value, permissions: '0400', secret: true });
  return {
    files: [
      ...indexes.flatMap((i) => initSecretUploads(backup.targets[i], i + 1, INIT_SECRETS_DIR)).map(secret),
      { file: INIT_PLAN_FILE, content: agentPlanFileContent({ ...plan, targets }), permissions: '0400', secret: true },
    ],
    agentSecrets: indexes.flatMap((i) => targetOwnSecretUploads(backup.targets[i], i + 1)).map(secret),
  };
}

/** The Terraform local that holds the agent script (Terraform-escaped), once per stack. */
export const AGENT_SCRIPT_LOCAL = 'cdktf_container_backup_agent_script';

let escaped: { readonly script: string; readonly escaped: string } | undefined;

/**
 * The agent script escaped for Terraform, computed once and shared by every installer: the
 * script is ~90 KB, and a copy per sidecar was 90 MB of heap at 1,000 containers (issue 13).
 */
function escapedAgentScript(): string {
  const script = agentScript();
  if (escaped?.script !== script) {
    escaped = { script, escaped: terraformEscape(script) };
  }
  return escaped.escaped;
}

/**
 * A value every sidecar of a stack shares, written once as a Terraform local of the stack and
 * referenced: the agent script (~90 KB) and the seccomp profile (9 KB). A copy per sidecar made
 * cdk.tf.json grow by 100 KB per container and was a third of the synth's peak memory at 1,000
 * containers (issue 13). Terraform resolves the reference in `upload.content` and
 * `security_opts` at plan time (checked with terraform validate and apply).
 */
export function stackLocal(scope: Construct, id: string, value: () => string): string {
  const stack = TerraformStack.of(scope);
  const local = (stack.node.tryFindChild(id) as TerraformLocal | undefined) ?? new TerraformLocal(stack, id, value());
  return local.asString;
}
