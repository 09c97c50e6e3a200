/**
 * The library side of the synth-at-scale benchmark: `count` protected containers, each with
 * the default example's full 3-2-1-1-0 topology (examples/postgres/main.ts), built with the
 * library's constructs.
 *
 * - `backup-storage` (AWS): the account's public access block once; per container a
 *   `BackupBucket` (KMS key, access logs, hardened primary bucket) with an `OffsiteReplica`
 *   (compliance-mode Object Lock, own key and logs, replication role) and a `KeyEscrow` of the
 *   password; the S3 target adds the agent's and the initializer's IAM users and access keys.
 * - `db-host` (Docker): per container a Postgres `ProtectedContainer` with an exec quiesce
 *   (so an HAProxy Docker API proxy and its network), backed up to a local disk and to its
 *   bucket (so the installer runs `restic init` over the stack's egress network),
 *   the password read from escrow through a cross-stack reference.
 * - The `ThreeTwoOneChecks` pack at 3-2-1-1-0 on the App, as the example applies it.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, Aspects, TerraformStack, TerraformVariable } from 'cdktf';
import {
  AccountPublicAccessBlock,
  BackupBucket,
  ComplianceLevel,
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
} from '../src';

/** The name of container `i` (1-based), zero-padded so ids sort. */
export function containerName(i: number): string {
  return `db${String(i).padStart(4, '0')}`;
}

export function libraryApp(app: App, count: number): void {
  const retention = Retention.gfs({ daily: 7, weekly: 4, monthly: 12 });
  const storage = new TerraformStack(app, 'backup-storage');
  new AwsProvider(storage, 'aws', {
    region: 'eu-west-1',
    defaultTags: [{ tags: { 'managed-by': 'cdktf-container-backup' } }],
  });
  new AccountPublicAccessBlock(storage, 'account-public-access-block');

  const host = new TerraformStack(app, 'db-host');
  new DockerProvider(host, 'docker', {});
  const postgresPassword = new TerraformVariable(host, 'postgres_password', {
    type: 'string',
    sensitive: true,
    description: 'Password of the postgres superuser.',
  });

  for (let i = 1; i <= count; i++) {
    const name = containerName(i);
    const vault = new BackupBucket(storage, `vault-${name}`, {
      retention,
      offsite: OffsiteReplica.inRegion('eu-central-1', { objectLock: ObjectLock.compliance(400) }),
    });
    const escrow = new KeyEscrow(storage, `escrow-${name}`, {
      bucket: vault,
      password: RepositoryPassword.fromVariable(storage),
    });
    new ProtectedContainer(host, name, {
      image: 'postgres:16',
      environment: { POSTGRES_PASSWORD: postgresPassword.stringValue },
      volumes: [{ name: `${name}-pgdata`, containerPath: '/var/lib/postgresql/data' }],
      backup: {
        schedule: Schedule.daily({ hour: 2 }),
        retention,
        quiesce: Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql']),
        password: escrow.repositoryPassword,
        targets: [
          StorageTarget.localPath({ hostPath: `/mnt/backup-disk/${name}`, medium: Medium.DISK }),
          StorageTarget.s3(vault),
        ],
      },
    });
  }
  Aspects.of(app).add(new ThreeTwoOneChecks({ level: ComplianceLevel.THREE_TWO_ONE_ONE_ZERO }));
}
