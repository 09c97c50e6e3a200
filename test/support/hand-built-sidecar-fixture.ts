/**
 * TEST FIXTURE, BUILT BY HAND: a `docker_container` resource shaped like the one
 * BackupSidecar synthesizes into cdk.tf.json (snake_case fields, Terraform-escaped upload
 * content, the repository password as a `${var...}` reference), so that the agent tests can
 * run before they take the object from a real synth. The acceptance test replaces it with
 * `resource.docker_container.<id>` from `cdk.tf.json`; keep this shape in step with
 * src/backup-sidecar.ts and docs/agent-contract.md.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DockerContainerResource, SidecarSandboxOptions } from './sidecar-sandbox';

export const AGENT_SOURCE_FILE = path.join(__dirname, '..', '..', 'src', 'agent', 'backup-agent.sh');
export const STATE_DIR = '/backup/agent';
export const AGENT_PATH = `${STATE_DIR}/bin/backup-agent`;
export const PASSWORD_FILE = `${STATE_DIR}/secrets/repository-password`;
export const PASSWORD_VARIABLE = 'var.db_backup_repository_password';
export const TEST_PASSWORD = 'correct horse battery staple';

/**
 * Terraform's escapes for literal text in the JSON configuration. A replacer function, not a
 * replacement string: in String.prototype.replace, the string '$${' means '${' ($$ is an
 * escaped $), which would escape nothing.
 */
export function terraformEscapeForFixture(text: string): string {
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

export interface FixtureTarget {
  readonly name: string;
  /** Mount the target's host folder read-only, so that every write fails (a broken target). */
  readonly readOnly?: boolean;
  /** Use this repository string instead of a local folder (no mount then). */
  readonly repository?: string;
  /** Extra BACKUP_TARGET_<i>_ENV_<VAR> values. */
  readonly env?: Record<string, string>;
}

export interface HandBuiltSidecarOptions {
  readonly containerName?: string;
  readonly sources?: string[];
  readonly targets?: FixtureTarget[];
  readonly schedule?: string;
  readonly maxAgeSeconds?: number;
  readonly networkTimeoutSeconds?: number;
  /**
   * BACKUP_RETENTION. The default keeps the last 100 snapshots: forget runs every cycle, as in
   * the synthesized sidecar, without changing the snapshot counts the tests look at.
   */
  readonly retention?: string;
  /** Extra or replaced environment entries. */
  readonly env?: Record<string, string>;
}

export interface HandBuiltSidecar {
  readonly resource: DockerContainerResource;
  /** For SidecarSandboxOptions.hostDirs. */
  readonly hostDirs: Record<string, string>;
  /** For SidecarSandboxOptions.terraformValues. */
  readonly terraformValues: Record<string, string>;
  /** Host folder of each source volume, by volume name. */
  readonly sourceDirs: Record<string, string>;
  /** Host folder of each local target, by target name. */
  readonly targetDirs: Record<string, string>;
  /** Host folder of the agent's state volume. */
  readonly stateDir: string;
  /** The parent of every host folder above. */
  readonly workDir: string;
  /** The sandbox options that run this sidecar. */
  sandbox(extra?: Partial<SidecarSandboxOptions>): SidecarSandboxOptions;
  cleanup(): void;
}

/** Builds the resource and the host folders behind its volumes. */
export function handBuiltSidecar(options: HandBuiltSidecarOptions = {}): HandBuiltSidecar {
  const name = options.containerName ?? 'db';
  const sources = options.sources ?? ['appdata'];
  const targets = options.targets ?? [{ name: 'local-a' }, { name: 'local-b' }];
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-fixture-'));
  const hostDirs: Record<string, string> = {};
  const sourceDirs: Record<string, string> = {};
  const targetDirs: Record<string, string> = {};

  const stateVolume = `${name}-backup-state`;
  const stateDir = path.join(workDir, 'volumes', stateVolume);
  hostDirs[stateVolume] = stateDir;
  for (const s of sources) {
    sourceDirs[s] = path.join(workDir, 'volumes', s);
    fs.mkdirSync(sourceDirs[s], { recursive: true });
    hostDirs[s] = sourceDirs[s];
  }

  const env: Array<[string, string]> = [
    ['BACKUP_HOST', name],
    ['BACKUP_SOURCES', sources.map((s) => `/backup/sources/${s}`).join(' ')],
    ['BACKUP_TAGS', `cdktf-container-backup ${name}`],
    ['BACKUP_SCHEDULE', options.schedule ?? '0 2 * * *'],
    ['BACKUP_MAX_AGE_SECONDS', String(options.maxAgeSeconds ?? 172800)],
    ['BACKUP_NETWORK_TIMEOUT_SECONDS', String(options.networkTimeoutSeconds ?? 120)],
    ['BACKUP_RETENTION', options.retention ?? '--keep-last 100'],
    ['BACKUP_PRUNE_SCHEDULE', '0 4 * * 0'],
    ['BACKUP_QUIESCE_MODE', 'none'],
    ['BACKUP_VERIFY_READ_DATA_DAYS', '28'],
    ['BACKUP_VERIFY_READ_DATA_SUBSETS', '28'],
    ['BACKUP_VERIFY_DRILL_SCHEDULE', '0 5 * * 0'],
    ['BACKUP_STATE_DIR', STATE_DIR],
    ['BACKUP_RESTORE_DIR', '/tmp/restore'],
    ['RESTIC_PASSWORD_FILE', PASSWORD_FILE],
    ['RESTIC_CACHE_DIR', `${STATE_DIR}/cache`],
    ['TMPDIR', '/tmp'],
    ['TZ', 'UTC'],
    ['BACKUP_TARGET_COUNT', String(targets.length)],
  ];
  const volumes: Array<{ container_path: string; host_path: string; read_only?: boolean }> = [];
  targets.forEach((t, i) => {
    const prefix = `BACKUP_TARGET_${i + 1}`;
    const repository = t.repository ?? `/backup/targets/${t.name}`;
    env.push([`${prefix}_NAME`, t.name], [`${prefix}_REPOSITORY`, repository]);
    for (const [k, v] of Object.entries(t.env ?? {})) {
      env.push([`${prefix}_ENV_${k}`, v]);
    }
    if (t.repository === undefined) {
      const hostPath = `/srv/backup/${name}/${t.name}`;
      targetDirs[t.name] = path.join(workDir, 'targets', t.name);
      hostDirs[hostPath] = targetDirs[t.name];
      volumes.push({ container_path: repository, host_path: hostPath, ...(t.readOnly ? { read_only: true } : {}) });
    }
  });
  const envMap = new Map(env);
  for (const [k, v] of Object.entries(options.env ?? {})) {
    envMap.set(k, v);
  }

  const resource: DockerContainerResource = {
    name: `${name}-backup`,
    image: 'restic/restic:0.17.3@sha256:8f5a62b422a2cb1277ea0dd6e826fe1acf649e5b9f02d60e5268d5fd1976255a',
    entrypoint: ['/bin/sh', AGENT_PATH],
    command: ['daemon'],
    env: [...envMap].map(([k, v]) => `${k}=${terraformEscapeForFixture(v)}`),
    read_only: true,
    security_opts: ['no-new-privileges:true'],
    capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
    tmpfs: { '/tmp': 'rw,nosuid,nodev,size=512m' },
    mounts: [
      { type: 'volume', source: stateVolume, target: STATE_DIR },
      ...sources.map((s) => ({ type: 'volume', source: s, target: `/backup/sources/${s}`, read_only: true })),
    ],
    volumes,
    upload: [
      {
        file: AGENT_PATH,
        content: terraformEscapeForFixture(fs.readFileSync(AGENT_SOURCE_FILE, 'utf8')),
        executable: true,
      },
      { file: PASSWORD_FILE, content: `\${${PASSWORD_VARIABLE}}` },
    ],
    healthcheck: {
      test: ['CMD', '/bin/sh', AGENT_PATH, 'health'],
      interval: '60s',
      timeout: '10s',
      retries: 3,
      start_period: '120s',
    },
  };
  const terraformValues = { [PASSWORD_VARIABLE]: TEST_PASSWORD };
  return {
    resource,
    hostDirs,
    terraformValues,
    sourceDirs,
    targetDirs,
    stateDir,
    workDir,
    sandbox: (extra = {}) => ({ hostDirs, terraformValues, timeoutMs: 100000, ...extra }),
    cleanup: () => fs.rmSync(workDir, { recursive: true, force: true }),
  };
}
