/**
 * WordPress with MariaDB: two protected containers on one Docker host, each with its own backup
 * sidecar, both backing up to a local disk and to one S3 bucket (replicated to a locked bucket
 * in another region), with the repository password in escrow there.
 *
 * - `wordpress-db` (MariaDB): before each backup, `mariadb-dump --single-transaction` writes a
 *   consistent dump onto the data volume, so every snapshot holds a dump that restores cleanly
 *   whatever state the live InnoDB files were in.
 * - `wordpress` (its files: core, themes, plugins, uploads, wp-config.php): backed up as they
 *   are. WordPress writes each upload whole and rarely changes the rest, and pausing or
 *   stopping the site would take it offline for every backup. Its cycle runs half an hour after
 *   the database's, so the files snapshot holds every upload the dump refers to.
 *
 * Each container passes 3-2-1-1-0 on its own: the live volume, the local disk and the bucket
 * (3 copies, disk and object storage: 2 media), the bucket in another region than the host and
 * its replica in a third (1 offsite), the replica under Object Lock (1 immutable), read back by
 * the agent (0 errors).
 *
 *   export TF_VAR_restic_password="$(openssl rand -base64 32)"
 *   export TF_VAR_mariadb_root_password=... TF_VAR_wordpress_db_password=...
 *   cdktf deploy wordpress-storage wordpress-host
 *
 * This folder's cdktf.json runs this file.
 */
import { Network } from '@cdktf/provider-docker/lib/network';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, Aspects, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import {
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

/** 7 daily, 4 weekly, 12 monthly: snapshots are kept up to 372 days. */
const RETENTION = Retention.gfs({ daily: 7, weekly: 4, monthly: 12 });

/**
 * The dump MariaDB writes before each backup: every database with routines, events and
 * triggers, in one consistent InnoDB snapshot; written aside and renamed, so a failed dump
 * never replaces the last good one. The root password comes from the container's own
 * environment (MYSQL_PWD keeps it off the command line), and only root may read the file.
 * `mariadb-dump`, not `mysqldump`: the official MariaDB 11 images no longer ship the mysql*
 * names.
 */
export const MARIADB_DUMP = [
  'sh',
  '-c',
  'umask 077 && MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb-dump --user=root --all-databases --single-transaction ' +
    '--routines --events --triggers > /var/lib/mysql/dump.sql.tmp && mv /var/lib/mysql/dump.sql.tmp /var/lib/mysql/dump.sql',
];

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

/** The cloud account's side: the bucket, its locked offsite replica, the escrowed password. */
export class WordPressStorageStack extends TerraformStack {
  public readonly vault: BackupBucket;
  public readonly escrow: KeyEscrow;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: 'eu-west-1' });
    this.vault = new BackupBucket(this, 'vault', {
      retention: RETENTION,
      offsite: OffsiteReplica.inRegion('eu-central-1', { objectLock: ObjectLock.compliance(400) }),
    });
    this.escrow = new KeyEscrow(this, 'escrow', { bucket: this.vault, password: RepositoryPassword.fromVariable(this) });
  }
}

/** The Docker host's side: MariaDB, WordPress, a private network, and a sidecar for each. */
export class WordPressHostStack extends TerraformStack {
  public readonly database: ProtectedContainer;
  public readonly wordpress: ProtectedContainer;

  constructor(scope: Construct, id: string, storage: WordPressStorageStack) {
    super(scope, id);
    new DockerProvider(this, 'docker', {});

    const rootPassword = new TerraformVariable(this, 'mariadb_root_password', {
      type: 'string',
      sensitive: true,
      description: 'Password of the MariaDB root user.',
    });
    const dbPassword = new TerraformVariable(this, 'wordpress_db_password', {
      type: 'string',
      sensitive: true,
      description: 'Password of the MariaDB user WordPress connects as.',
    });
    const network = new Network(this, 'network', { name: 'wordpress' });

    this.database = new ProtectedContainer(this, 'database', {
      containerName: 'wordpress-db',
      image: 'mariadb:11.4',
      environment: {
        MARIADB_ROOT_PASSWORD: rootPassword.stringValue,
        MARIADB_DATABASE: 'wordpress',
        MARIADB_USER: 'wordpress',
        MARIADB_PASSWORD: dbPassword.stringValue,
      },
      volumes: [{ name: 'wordpress-db', containerPath: '/var/lib/mysql' }],
      networks: [network.name],
      backup: {
        schedule: Schedule.daily({ hour: 2 }),
        retention: RETENTION,
        // The dump goes through a shell (for the password variable): synth cannot read its
        // output from the command, so it is declared, and checked against the volumes.
        quiesce: Quiesce.exec(MARIADB_DUMP, { timeoutSeconds: 1800, output: '/var/lib/mysql/dump.sql' }),
        password: storage.escrow.repositoryPassword,
        targets: [
          StorageTarget.localPath({ hostPath: '/mnt/backup-disk/wordpress-db', medium: Medium.DISK }),
          StorageTarget.s3(storage.vault),
        ],
      },
    });

    this.wordpress = new ProtectedContainer(this, 'wordpress', {
      image: 'wordpress:6.7-apache',
      environment: {
        WORDPRESS_DB_HOST: 'wordpress-db',
        WORDPRESS_DB_NAME: 'wordpress',
        WORDPRESS_DB_USER: 'wordpress',
        WORDPRESS_DB_PASSWORD: dbPassword.stringValue,
      },
      volumes: [{ name: 'wordpress-files', containerPath: '/var/www/html' }],
      // On the host only: put a TLS reverse proxy in front.
      ports: [{ containerPort: 80, hostPort: 8080 }],
      networks: [network.name],
      backup: {
        // After the database's dump (02:00), so every upload the dump refers to is in this snapshot.
        schedule: Schedule.daily({ hour: 2, minute: 30 }),
        retention: RETENTION,
        quiesce: Quiesce.none(),
        password: storage.escrow.repositoryPassword,
        targets: [
          StorageTarget.localPath({ hostPath: '/mnt/backup-disk/wordpress', medium: Medium.DISK }),
          StorageTarget.s3(storage.vault),
        ],
      },
    });
  }
}

/** Builds both stacks into `app`. */
export function wordpressExample(app: App) {
  const storage = new WordPressStorageStack(app, 'wordpress-storage');
  const host = new WordPressHostStack(app, 'wordpress-host', storage);
  for (const stack of [storage, host]) {
    EncryptedStateBackend.s3(stack, STATE_BACKEND);
  }
  return { storage, host };
}

// Synthesize when run as the cdktf app; tests import the stack classes instead.
if (require.main === module) {
  const app = new App();
  wordpressExample(app);
  // Refuse the synth if either container's topology is not 3-2-1-1-0.
  Aspects.of(app).add(new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE_ONE_ZERO }));
  app.synth();
}
