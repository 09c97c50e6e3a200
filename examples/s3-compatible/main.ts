/**
 * The smallest example: one Docker host, no AWS account. Gitea (git hosting, with its
 * repositories and SQLite database on one volume) is backed up every night to a local disk and
 * to an existing S3-compatible bucket at another provider (Wasabi here; Backblaze B2, MinIO or
 * Ceph RGW work the same way).
 *
 * The 3-2-1-1-0 count: the live data plus two backup copies (3), on disk and object storage (2),
 * one of them at another site, Wasabi's eu-central-2 region (1), and that bucket has Object Lock
 * (1). It is locked on Wasabi's side, outside Terraform: create the bucket with Object Lock
 * enabled and a default retention of 400 days (compliance or governance mode) before the first
 * backup. `immutableRetentionDays` declares that here, so the compliance pack counts the copy
 * as immutable and checks that the lock outlasts the retention (7 daily, 4 weekly, 12 monthly:
 * about 372 days). Every cycle runs `restic check`, all data is read back within 28 days and a
 * restore drill runs weekly (the default verification): the 0.
 *
 * The weekly `restic prune` still deletes what the retention forgot; on a locked bucket a
 * deletion only adds a delete marker, and the locked versions stay (and are billed) until their
 * lock ends.
 *
 * Nothing here creates a bucket: the target only points the sidecar at the endpoint, with the
 * access key from sensitive Terraform variables.
 *
 * The Wasabi copy is there for the day this host is lost, and restic opens it only with the
 * repository password: keep the password off the host too. Here it lives in the team's
 * password manager, and `escrowedIn` says so (the compliance pack warns, PasswordEscrowed,
 * about a password it knows no copy of; the report names where this one is). To deploy:
 *
 *   export TF_VAR_restic_password="$(openssl rand -base64 32)"   # keep a copy off this host
 *   export TF_VAR_wasabi_access_key_id=... TF_VAR_wasabi_secret_access_key=...
 *   cdktf deploy git-host
 *
 * This folder's cdktf.json runs this file; the Python version is examples/python-minimal.
 */
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, Aspects, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import {
  ComplianceLevel,
  EncryptedStateBackend,
  Medium,
  ProtectedContainer,
  Quiesce,
  RepositoryPassword,
  Retention,
  Schedule,
  Site,
  StorageTarget,
  ThreeTwoOneChecks,
} from '../../src';

/** One Docker host: Gitea and its backup sidecar. */
export class GitHostStack extends TerraformStack {
  public readonly gitea: ProtectedContainer;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    new DockerProvider(this, 'docker', {});

    const accessKeyId = new TerraformVariable(this, 'wasabi_access_key_id', {
      type: 'string',
      sensitive: true,
      description: 'Access key id of the Wasabi sub-user that may write to the backup bucket.',
    });
    const secretAccessKey = new TerraformVariable(this, 'wasabi_secret_access_key', {
      type: 'string',
      sensitive: true,
      description: 'Its secret key (reaches the sidecar as a file).',
    });

    this.gitea = new ProtectedContainer(this, 'git', {
      image: 'gitea/gitea:1.22',
      volumes: [{ name: 'gitea-data', containerPath: '/data' }],
      ports: [{ containerPort: 3000 }, { containerPort: 22, hostPort: 2222 }],
      backup: {
        schedule: Schedule.daily({ hour: 2 }),
        retention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }),
        // Gitea keeps its SQLite database next to the repositories: stop it for the backup
        // (a few seconds at 02:00 with restic's incremental runs); it is always started again.
        quiesce: Quiesce.stop(),
        // TF_VAR_restic_password comes from there at deploy time.
        password: RepositoryPassword.fromVariable(this, 'restic_password', { escrowedIn: 'the ops team password manager, item git-host restic' }),
        targets: [
          StorageTarget.localPath({ hostPath: '/mnt/backup-disk/git', medium: Medium.DISK }),
          StorageTarget.s3Compatible({
            name: 'wasabi',
            endpoint: 'https://s3.eu-central-2.wasabisys.com',
            region: 'eu-central-2',
            bucket: 'acme-git-backups',
            accessKeyId: accessKeyId.stringValue,
            secretAccessKey: secretAccessKey.stringValue,
            site: Site.named('wasabi-eu-central-2'),
            immutableRetentionDays: 400,
          }),
        ],
      },
    });
  }
}

/** Builds the example into `app`. */
export function s3CompatibleExample(app: App) {
  const host = new GitHostStack(app, 'git-host');
  // The stack's state holds the Wasabi secret key and the restic password (docs/security.md):
  // keep it encrypted and locked, here in the organisation's AWS state bucket (any encrypted,
  // access-restricted backend will do). Replace with your bucket, KMS key and lock table.
  EncryptedStateBackend.s3(host, {
    bucket: 'example-org-terraform-state',
    region: 'eu-west-1',
    kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:alias/terraform-state',
    dynamodbTable: 'terraform-state-lock',
  });
  return { host };
}

// Synthesize when run as the cdktf app; tests import the stack class instead.
if (require.main === module) {
  const app = new App();
  s3CompatibleExample(app);
  // Refuse the synth if the topology is not 3-2-1-1-0.
  Aspects.of(app).add(new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE_ONE_ZERO }));
  app.synth();
}
