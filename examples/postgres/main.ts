/**
 * The default example: a full 3-2-1-1-0 topology around a Postgres container.
 *
 * - `backup-storage` (the cloud account): a hardened, KMS-encrypted S3 bucket, replicated to a
 *   bucket with Object Lock in another region, and the repository password in escrow there.
 * - `db-host` (the Docker host): Postgres, and a restic sidecar that backs its volume up every
 *   night to a local disk and to the S3 bucket, and reads the locked replica back to verify it.
 *
 * The host stack reads the bucket, the agent's access key and the escrowed password from the
 * storage stack through cross-stack references. `cdktf synth` at the repository root builds
 * both; no Docker engine or AWS account is needed to synthesize. To deploy:
 * `TF_VAR_restic_password=... cdktf deploy backup-storage db-host`.
 */
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, Aspects, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import {
  AccountPublicAccessBlock,
  BackupBucket,
  ComplianceLevel,
  EncryptedStateBackend,
  EncryptedStateBackendProps,
  KeyEscrow,
  Medium,
  ObjectLock,
  OffsiteReplica,
  ProtectedContainer,
  Quiesce,
  RepositoryPassword,
  Retention,
  Schedule,
  StorageTarget,
  ThreeTwoOneChecks,
} from '../../src';

/** The example's retention: 7 daily, 4 weekly, 12 monthly (a 372-day horizon). */
export const RETENTION = Retention.gfs({ daily: 7, weekly: 4, monthly: 12 });

/**
 * Where the example keeps its Terraform state: both stacks hold secrets in plain text in their
 * state (docs/security.md), so each gets an encrypted, locked S3 backend. Replace these with
 * your state bucket (versioned, public access blocked, readable only by the role that runs
 * Terraform), its KMS key and its DynamoDB lock table.
 */
export const STATE_BACKEND: EncryptedStateBackendProps = {
  bucket: 'example-org-terraform-state',
  region: 'eu-west-1',
  kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:alias/terraform-state',
  dynamodbTable: 'terraform-state-lock',
};

/** How the Docker host's side dumps Postgres. */
export interface DatabaseHostOptions {
  /**
   * How Postgres is made consistent before each backup.
   * @default a dump of every database onto the volume (`pg_dumpall -f .../dump.sql`)
   */
  readonly quiesce?: Quiesce;
}

/** Where the example puts its AWS resources, and how it dumps Postgres. */
export interface DefaultExampleOptions extends DatabaseHostOptions {
  /** @default "eu-west-1" */
  readonly primaryRegion?: string;
  /** @default "eu-central-1" */
  readonly offsiteRegion?: string;
}

/** The cloud account's side: bucket, locked offsite replica, agent credentials, key escrow. */
export class BackupStorageStack extends TerraformStack {
  public readonly vault: BackupBucket;
  public readonly escrow: KeyEscrow;

  constructor(scope: Construct, id: string, options: DefaultExampleOptions = {}) {
    super(scope, id);
    new AwsProvider(this, 'aws', {
      region: options.primaryRegion ?? 'eu-west-1',
      defaultTags: [{ tags: { 'managed-by': 'cdktf-container-backup' } }],
    });
    new AccountPublicAccessBlock(this, 'account-public-access-block');

    this.vault = new BackupBucket(this, 'vault', {
      retention: RETENTION,
      // Locked a little longer than the retention reaches, in another region. Compliance mode:
      // nobody, the root user included, can delete a locked version for 400 days.
      offsite: OffsiteReplica.inRegion(options.offsiteRegion ?? 'eu-central-1', {
        objectLock: ObjectLock.compliance(400),
      }),
    });
    this.escrow = new KeyEscrow(this, 'escrow', {
      bucket: this.vault,
      password: RepositoryPassword.fromVariable(this),
    });
  }
}

/** The Docker host's side: Postgres and its backup sidecar. */
export class DatabaseHostStack extends TerraformStack {
  constructor(scope: Construct, id: string, storage: BackupStorageStack, options: DatabaseHostOptions = {}) {
    super(scope, id);
    new DockerProvider(this, 'docker', {});

    const postgresPassword = new TerraformVariable(this, 'postgres_password', {
      type: 'string',
      sensitive: true,
      description: 'Password of the postgres superuser.',
    });

    new ProtectedContainer(this, 'db', {
      image: 'postgres:16',
      environment: { POSTGRES_PASSWORD: postgresPassword.stringValue },
      volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
      backup: {
        schedule: Schedule.daily({ hour: 2 }),
        retention: RETENTION,
        // A consistent dump on the volume, taken just before each backup: the cycle fails when
        // the command exits 0 without writing it.
        quiesce: options.quiesce ?? Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql']),
        // The sidecar uses exactly the password kept in escrow.
        password: storage.escrow.repositoryPassword,
        targets: [
          StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK }),
          StorageTarget.s3(storage.vault),
        ],
      },
    });
  }
}

/** Builds both stacks of the default example into `app`. */
export function defaultExample(app: App, options: DefaultExampleOptions = {}) {
  const storage = new BackupStorageStack(app, 'backup-storage', options);
  const host = new DatabaseHostStack(app, 'db-host', storage, options);
  for (const stack of [storage, host]) {
    EncryptedStateBackend.s3(stack, STATE_BACKEND);
  }
  return { storage, host };
}

// Synthesize when run as the cdktf app; tests import the stack classes instead.
if (require.main === module) {
  const app = new App();
  defaultExample(app);
  // Refuse the synth if the topology is not 3-2-1-1-0.
  Aspects.of(app).add(new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE_ONE_ZERO }));
  app.synth();
}
