/** Construct-level helpers for the compliance tests. */
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, Aspects, TerraformStack, Testing } from 'cdktf';
import { IConstruct } from 'constructs';
import {
  BackupOptions,
  IStorageTarget,
  Medium,
  ProtectedContainer,
  ProtectedContainerProps,
  ProtectedService,
  ProtectedServiceProps,
  Quiesce,
  RepositoryPassword,
  Site,
  StorageTarget,
  ThreeTwoOneChecks,
} from '../../src';
import { ConfiguredTarget, FakeBucketTarget } from './fixtures';

export function app(): App {
  return Testing.app();
}

export function hostStack(scope: App, id = 'db-host'): TerraformStack {
  const stack = new TerraformStack(scope, id);
  new DockerProvider(stack, 'docker', {});
  return stack;
}

export const LOCAL = () => StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK });
export const VAULT = () => new FakeBucketTarget({ region: 'eu-west-1', offsiteRegion: 'eu-central-1', offsiteLockDays: 400 });
/**
 * Object storage whose agent key may not create a repository: a one-shot container (a
 * container's installer, a service's initializer) runs `backup-agent init` with the init
 * credentials.
 */
export const BUCKET_WITH_INIT_CREDENTIALS = () =>
  new ConfiguredTarget({
    name: 's3',
    repository: 's3:https://s3.eu-west-1.amazonaws.com/vault/db',
    medium: Medium.OBJECT_STORAGE,
    site: Site.awsRegion('eu-west-1'),
    environment: { AWS_ACCESS_KEY_ID: 'AKIAAGENT' },
    initEnvironment: { AWS_ACCESS_KEY_ID: 'AKIAINIT' },
    initSecrets: [{ variable: 'AWS_SECRET_ACCESS_KEY', value: '${var.init_key}' }],
  });
export const PG_DUMP = () => Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql']);
/** The stack's password, kept off the host (PasswordEscrowed): where the test says it is. */
export const ESCROWED = (scope: TerraformStack) => RepositoryPassword.fromVariable(scope, 'restic_password', { escrowedIn: 'the test vault' });

/** A postgres container; by default a full 3-2-1-1-0 topology (local disk, S3, locked offsite replica, dump first, password escrowed). */
export function postgres(
  scope: TerraformStack,
  backup: Partial<BackupOptions> | null = {},
  props: Partial<ProtectedContainerProps> = {},
  id = 'db',
): ProtectedContainer {
  return new ProtectedContainer(scope, id, {
    image: 'postgres:16',
    volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
    backup: backup === null ? undefined : { targets: [LOCAL(), VAULT()] as IStorageTarget[], quiesce: PG_DUMP(), password: ESCROWED(scope), ...backup },
    ...props,
  });
}

/** The same as a swarm service pinned to the node db-1: a full 3-2-1-1-0 topology (password escrowed) by default. */
export function postgresService(
  scope: TerraformStack,
  backup: Partial<BackupOptions> | null = {},
  props: Partial<ProtectedServiceProps> = {},
  id = 'db',
): ProtectedService {
  return new ProtectedService(scope, id, {
    image: 'postgres:16',
    placementConstraints: ['node.hostname==db-1'],
    volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
    backup: backup === null ? undefined : { targets: [LOCAL(), VAULT()] as IStorageTarget[], quiesce: PG_DUMP(), password: ESCROWED(scope), ...backup },
    ...props,
  });
}

/**
 * Stack "db-host" in a new App, with what `build` declares in it, checked by `pack` (added to the
 * App, as the examples do; without a console summary unless the pack asks for one).
 */
export function checkedStack(build: (stack: TerraformStack) => void, pack = new ThreeTwoOneChecks({ printSummary: false })): TerraformStack {
  const a = app();
  const stack = hostStack(a);
  build(stack);
  Aspects.of(a).add(pack);
  return stack;
}

/** Annotations of one level anywhere under `scope`, as "path: message". */
export function annotations(scope: IConstruct, level: 'error' | 'warn' | 'info'): string[] {
  return scope.node
    .findAll()
    .flatMap((n) => n.node.metadata.filter((m) => m.type === `@cdktf/${level}`).map((m) => `${n.node.path}: ${m.data}`));
}

/** The full synth's error text, or undefined when it succeeds. */
export function fullSynthError(stack: TerraformStack): string | undefined {
  try {
    Testing.fullSynth(stack);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
