/**
 * Beyond one host: two protected Docker Swarm services, 3-2-1-1-0 like the containers of the
 * other examples, backed up by a backup task on every node they run on.
 *
 * - `db` (Postgres), one replica pinned to the node `db-1` (its volume is node-local: a task
 *   moved elsewhere would start on an empty one). Before each backup, `pg_dumpall` writes a
 *   consistent dump onto the volume, run in the node's task through the node's Docker API
 *   proxy.
 * - `web`, two replicas, one per node labelled `web=true`, each with an `uploads` volume. The
 *   two nodes' uploads are two data sets: each node's backup task backs up its own under the
 *   node's name, and synth warns (ReplicatedServiceData) that neither copy is authoritative.
 *
 * The storage side is the default example's (`BackupStorageStack`): an S3 bucket, replicated
 * to a locked bucket in another region, and the repository password in escrow there. The
 * swarm stack talks to a manager node; every node needs the images and the local backup folder
 * (/mnt/backup-disk/<service>).
 *
 *   export TF_VAR_restic_password="$(openssl rand -base64 32)" TF_VAR_postgres_password=...
 *   cdktf deploy swarm-storage swarm-cluster
 *
 * This folder's cdktf.json runs this file.
 */
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, Aspects, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { BackupStorageStack, RETENTION, STATE_BACKEND } from '../postgres/main';
import {
  ComplianceLevel,
  EncryptedStateBackend,
  Medium,
  ProtectedService,
  Quiesce,
  Schedule,
  ServiceMode,
  StorageTarget,
  ThreeTwoOneChecks,
} from '../../src';

/** Where the example's services run. */
export interface SwarmExampleOptions {
  /** The node that holds the database. @default "db-1" */
  readonly databaseNode?: string;
  /** The node label (`<label>=true`) of the nodes that serve the web tier. @default "web" */
  readonly webNodeLabel?: string;
}

/** The swarm's side: the two services and their backup services. */
export class SwarmClusterStack extends TerraformStack {
  public readonly db: ProtectedService;
  public readonly web: ProtectedService;

  constructor(scope: Construct, id: string, storage: BackupStorageStack, options: SwarmExampleOptions = {}) {
    super(scope, id);
    // A manager node of the swarm (by default the local socket).
    new DockerProvider(this, 'docker', {});
    const postgresPassword = new TerraformVariable(this, 'postgres_password', {
      type: 'string',
      sensitive: true,
      description: 'Password of the postgres superuser.',
    });
    const targets = (service: string) => [
      StorageTarget.localPath({ hostPath: `/mnt/backup-disk/${service}`, medium: Medium.DISK }),
      StorageTarget.s3(storage.vault),
    ];

    this.db = new ProtectedService(this, 'db', {
      image: 'postgres:16',
      placementConstraints: [`node.hostname==${options.databaseNode ?? 'db-1'}`],
      environment: { POSTGRES_PASSWORD: postgresPassword.stringValue },
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: {
        schedule: Schedule.daily({ hour: 2 }),
        retention: RETENTION,
        quiesce: Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql']),
        password: storage.escrow.repositoryPassword,
        targets: targets('db'),
      },
    });

    this.web = new ProtectedService(this, 'web', {
      image: 'wordpress:6.7-apache',
      mode: ServiceMode.replicated(2),
      placementConstraints: [`node.labels.${options.webNodeLabel ?? 'web'}==true`],
      maxReplicasPerNode: 1,
      volumes: [{ name: 'uploads', containerPath: '/var/www/html/wp-content/uploads' }],
      backup: {
        schedule: Schedule.daily({ hour: 2, minute: 30 }),
        retention: RETENTION,
        password: storage.escrow.repositoryPassword,
        targets: targets('web'),
      },
    });
  }
}

/** Builds both stacks of the swarm example into `app`. */
export function swarmExample(app: App, options: SwarmExampleOptions = {}) {
  const storage = new BackupStorageStack(app, 'swarm-storage');
  const cluster = new SwarmClusterStack(app, 'swarm-cluster', storage, options);
  for (const stack of [storage, cluster]) {
    EncryptedStateBackend.s3(stack, STATE_BACKEND);
  }
  return { storage, cluster };
}

if (require.main === module) {
  const app = new App();
  swarmExample(app);
  Aspects.of(app).add(new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE_ONE_ZERO }));
  app.synth();
}
