/**
 * The default example: a Postgres container whose data volume is backed up every night to a
 * disk of the Docker host. `cdktf synth` at the repository root builds it; no Docker engine or
 * AWS account is needed to synthesize.
 */
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { Medium, ProtectedContainer, Retention, Schedule, StorageTarget } from '../../src';

export class DatabaseHostStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
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
        retention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }),
        targets: [StorageTarget.localPath({ hostPath: '/mnt/backup-disk/db', medium: Medium.DISK })],
      },
    });
  }
}

// Synthesize when run as the cdktf app; tests import the stack classes instead.
if (require.main === module) {
  const app = new App();
  new DatabaseHostStack(app, 'db-host');
  app.synth();
}
