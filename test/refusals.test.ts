/**
 * Every invalid or unsafe configuration this library refuses, in one table: what the user
 * wrote, and the exact message they get. Eager refusals throw a ConfigurationError while the
 * app is built; compliance refusals stop the full synth (what `cdktf synth` runs) with an error
 * annotation. Every message names where (construct path, factory or rule), the value received,
 * and the fix; none carries a stack trace.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Network } from '@cdktf/provider-docker/lib/network';
import { Service } from '@cdktf/provider-docker/lib/service';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { App, Lazy, TerraformStack, Testing } from 'cdktf';
import {
  AgentCredentials,
  BackupBucket,
  BackupOptions,
  BackupService,
  BackupSidecar,
  BackupSuppressions,
  EncryptedStateBackend,
  IBackupRule,
  Medium,
  ObjectLock,
  ProtectedContainer,
  Quiesce,
  RepositoryPassword,
  Retention,
  RuleResult,
  Schedule,
  ServiceMode,
  Site,
  StorageTarget,
  ThreeTwoOneChecks,
  Topology,
  Verification,
  WeekDay,
  ZeroErrorsRule,
} from '../src';
import { ConfigurationError } from '../src/core/configuration-error';
import { ConfiguredTarget, FakeBucketTarget } from './compliance/fixtures';
import { LOCAL, VAULT, annotations, app, checkedStack, fullSynthError, hostStack, postgres, postgresService } from './compliance/stacks';

const ROOT = path.resolve(__dirname, '..');
const STATE = { bucket: 'acme-terraform-state', region: 'eu-west-1', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:alias/tf', dynamodbTable: 'tf-lock' };
const PINNED = 'restic/restic:0.17.3@sha256:8f5a62b422a2cb1277ea0dd6e826fe1acf649e5b9f02d60e5268d5fd1976255a';

/** A ProtectedContainer "db" in stack "db-host", with `props` over a valid postgres. */
function db(props: any = {}): ProtectedContainer {
  const stack = hostStack(app());
  return new ProtectedContainer(stack, 'db', {
    image: 'postgres:16',
    volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }],
    ...props,
  });
}

/** The container of `db()` with a backup to the local disk, `backup` over it. */
function backedUp(backup: Partial<BackupOptions>): ProtectedContainer {
  return db({ backup: { targets: [LOCAL()], ...backup } });
}

/** A BackupSidecar "db-backup" on its own in stack "db-host". */
function sidecar(props: any = {}): BackupSidecar {
  const stack = hostStack(app());
  return new BackupSidecar(stack, 'db-backup', { containerName: 'db', sources: [{ volumeName: 'pgdata' }], targets: [LOCAL()], ...props });
}

// ---- Eager refusals: thrown while the app is built ------------------------------------------

const CRON_FIX =
  'Fix: give five space-separated fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *" for 02:00 every day, or use Schedule.daily({ hour: 2 })';
const SUPPRESS_FIX = 'Fix: say why the finding does not apply here, e.g. "redis holds a cache only, rebuilt on start"';

const eager: Array<[string, () => unknown, string]> = [
  // Schedule
  ['cron with 4 fields', () => Schedule.cron('0 2 * *'), `Schedule.cron("0 2 * *"): expected 5 fields, got 4. ${CRON_FIX}`],
  ['cron hour 25', () => Schedule.cron('0 25 * * *'), `Schedule.cron("0 25 * * *"): hour value 25 is outside 0-23. ${CRON_FIX}`],
  [
    'cron with a word',
    () => Schedule.cron('x 2 * * *'),
    `Schedule.cron("x 2 * * *"): minute field item "x" is not *, a number, a range a-b, or a step */n or a-b/n. ${CRON_FIX}`,
  ],
  ['cron range backwards', () => Schedule.cron('0 5-2 * * *'), `Schedule.cron("0 5-2 * * *"): hour range 5-2 runs backwards. ${CRON_FIX}`],
  ['cron step 0', () => Schedule.cron('*/0 * * * *'), `Schedule.cron("*/0 * * * *"): minute step must be at least 1, got 0. ${CRON_FIX}`],
  [
    'cron that never runs (31 February)',
    () => Schedule.cron('0 0 31 2 *'),
    `Schedule.cron("0 0 31 2 *"): the expression never runs (or runs only once in eight years). ${CRON_FIX}`,
  ],
  ['daily at hour 24', () => Schedule.daily({ hour: 24 }), 'Schedule.daily: hour must be a whole number from 0 to 23, got 24. Fix: pass hour between 0 and 23'],
  ['hourly at minute 60', () => Schedule.hourly({ minute: 60 }), 'Schedule.hourly: minute must be a whole number from 0 to 59, got 60. Fix: pass minute between 0 and 59'],
  [
    'weekly on day 7',
    () => Schedule.weekly({ weekDay: 7 as WeekDay }),
    'Schedule.weekly: weekDay must be a whole number from 0 to 6, got 7. Fix: pass weekDay between 0 and 6',
  ],
  [
    'every 7 minutes (does not divide 60)',
    () => Schedule.everyMinutes(7),
    'Schedule.everyMinutes: minutes (a divisor of 60: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) must be a whole number from 1 to 60, got 7. Fix: pass minutes (a divisor of 60: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) between 1 and 60',
  ],
  [
    'every 5 hours (does not divide 24)',
    () => Schedule.everyHours(5),
    'Schedule.everyHours: hours (a divisor of 24: 1, 2, 3, 4, 6, 8, 12, 24) must be a whole number from 1 to 24, got 5. Fix: pass hours (a divisor of 24: 1, 2, 3, 4, 6, 8, 12, 24) between 1 and 24',
  ],
  ['every 0 minutes', () => Schedule.everyMinutes(0), 'Schedule.everyMinutes: minutes must be a whole number from 1 to 60, got 0. Fix: pass minutes between 1 and 60'],
  // Retention
  [
    'retention that keeps nothing',
    () => Retention.gfs({}),
    'Retention.gfs(...): the policy keeps no snapshot at all (got {}), so every backup would be deleted by the next forget. Fix: keep at least one snapshot, e.g. Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }) or a preset such as Retention.standard()',
  ],
  ['negative daily count', () => Retention.gfs({ daily: -1 }), 'Retention.gfs: daily must be a whole number from 0 to 100000, got -1. Fix: pass daily between 0 and 100000'],
  ['fractional weekly count', () => Retention.gfs({ weekly: 1.5 }), 'Retention.gfs: weekly must be a whole number from 0 to 100000, got 1.5. Fix: pass weekly between 0 and 100000'],
  [
    'keep the last 0',
    () => Retention.keepLast(0),
    'Retention.gfs(...): the policy keeps no snapshot at all (got {"last":0}), so every backup would be deleted by the next forget. Fix: keep at least one snapshot, e.g. Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }) or a preset such as Retention.standard()',
  ],
  // Quiesce
  [
    'exec with no command',
    () => Quiesce.exec([]),
    "Quiesce.exec([]): the command is empty. Fix: pass the program and its arguments, e.g. Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'])",
  ],
  [
    'exec with a blank program',
    () => Quiesce.exec(['  ']),
    "Quiesce.exec([]): the command is empty. Fix: pass the program and its arguments, e.g. Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'])",
  ],
  ['stop with a 0 s timeout', () => Quiesce.stop({ timeoutSeconds: 0 }), 'Quiesce.stop: timeoutSeconds must be a whole number from 1 to 86400, got 0. Fix: pass timeoutSeconds between 1 and 86400'],
  [
    'pause for more than a day',
    () => Quiesce.pause({ timeoutSeconds: 86401 }),
    'Quiesce.pause: timeoutSeconds must be a whole number from 1 to 86400, got 86401. Fix: pass timeoutSeconds between 1 and 86400',
  ],
  [
    'exec with a fractional timeout',
    () => Quiesce.exec(['pg_dumpall'], { timeoutSeconds: 1.5 }),
    'Quiesce.exec: timeoutSeconds must be a whole number from 1 to 86400, got 1.5. Fix: pass timeoutSeconds between 1 and 86400',
  ],
  // Verification
  [
    'read back within 0 days',
    () => Verification.readBack({ readAllDataWithinDays: 0 }),
    'Verification.readBack: readAllDataWithinDays must be a whole number from 1 to 366, got 0. Fix: pass readAllDataWithinDays between 1 and 366',
  ],
  [
    'read back within 400 days',
    () => Verification.readBack({ readAllDataWithinDays: 400 }),
    'Verification.readBack: readAllDataWithinDays must be a whole number from 1 to 366, got 400. Fix: pass readAllDataWithinDays between 1 and 366',
  ],
  // RepositoryPassword
  [
    'a literal repository password',
    () => RepositoryPassword.fromString('hunter2'),
    'RepositoryPassword.fromString(...): the value is a literal string, which would be written in plain text into cdk.tf.json and the Terraform plan. Fix: pass a token that Terraform resolves at apply time, e.g. RepositoryPassword.fromVariable(stack, "restic_password") (a sensitive Terraform variable) or RepositoryPassword.fromString(secret.stringValue)',
  ],
  // StorageTarget
  [
    'a relative local target path',
    () => StorageTarget.localPath({ hostPath: 'mnt/backup-disk/db' }),
    'StorageTarget.localPath: hostPath must be an absolute path, got "mnt/backup-disk/db". Fix: start it with \'/\', e.g. "/mnt/backup-disk/db"',
  ],
  [
    'an S3-compatible endpoint over plain HTTP',
    () =>
      StorageTarget.s3Compatible({
        endpoint: 'http://minio.example.internal:9000',
        bucket: 'backups',
        accessKeyId: 'AKIAEXAMPLE',
        secretAccessKey: Lazy.stringValue({ produce: () => 'from-a-secret-store' }),
      }),
    'StorageTarget.s3Compatible("http://minio.example.internal:9000"): the endpoint "http://minio.example.internal:9000" uses plain HTTP, so credentials and repository traffic would cross the network unprotected. Fix: serve the endpoint over TLS (https://), or set `allowPlainHttp: true` for a server on the same trusted host',
  ],
  // ProtectedContainer
  [
    'a container name starting with "-"',
    () => db({ containerName: '-db' }),
    'db-host/db: containerName "-db" is not a valid name (letters, digits, \'.\', \'_\' and \'-\', starting with a letter or digit, at most 63 characters). Fix: rename it, e.g. "db"',
  ],
  [
    'a volume name with a space',
    () => db({ volumes: [{ name: 'pg data', containerPath: '/data' }] }),
    'db-host/db: volume name "pg data" is not a valid name (letters, digits, \'.\', \'_\' and \'-\', starting with a letter or digit, at most 63 characters). Fix: rename it, e.g. "pg-data"',
  ],
  [
    'a relative containerPath',
    () => db({ volumes: [{ name: 'pgdata', containerPath: 'var/lib/postgresql/data' }] }),
    'db-host/db: containerPath of volume "pgdata" must be an absolute path, got "var/lib/postgresql/data". Fix: start it with \'/\', e.g. "/var/lib/postgresql/data"',
  ],
  [
    'the same volume twice',
    () => db({ volumes: [{ name: 'pgdata', containerPath: '/a' }, { name: 'pgdata', containerPath: '/b' }] }),
    'db-host/db: the volume name "pgdata" is declared more than once. Fix: give every entry of `volumes` its own name, or mount the same volume once',
  ],
  [
    'two volumes at one path',
    () => db({ volumes: [{ name: 'a', containerPath: '/data' }, { name: 'b', containerPath: '/data' }] }),
    'db-host/db: two volumes are mounted at the same containerPath "/data". Fix: give each volume its own containerPath',
  ],
  [
    'a literal secret in the environment',
    () => db({ environment: { POSTGRES_PASSWORD: 'hunter2' } }),
    'db-host/db: the environment variable POSTGRES_PASSWORD looks like a secret and has a literal value, which would be stored in plain text in cdk.tf.json. Fix: pass a sensitive TerraformVariable\'s value (new TerraformVariable(stack, "postgres_password", { sensitive: true }).stringValue), or point the image at a file with POSTGRES_PASSWORD_FILE',
  ],
  [
    'an unknown restart policy',
    () => db({ restart: 'sometimes' }),
    'db-host/db: restart policy "sometimes" is not one of "no", "on-failure", "always", "unless-stopped". Fix: use "unless-stopped" (the default) for a long-running service',
  ],
  ['container port 0', () => db({ ports: [{ containerPort: 0 }] }), 'db-host/db: port containerPort must be a whole number from 1 to 65535, got 0. Fix: pass a valid TCP/UDP port number'],
  [
    'host port 70000',
    () => db({ ports: [{ containerPort: 5432, hostPort: 70000 }] }),
    'db-host/db: port hostPort must be a whole number from 1 to 65535, got 70000. Fix: pass a valid TCP/UDP port number',
  ],
  [
    'a backup with no volumes',
    () => db({ volumes: [], backup: { targets: [LOCAL()] } }),
    'db-host/db/backup: the container has a backup but no volumes, so there is no data to protect. Fix: declare the data volumes in `volumes`, or remove `backup`',
  ],
  [
    'a backup whose only volume is excluded',
    () => db({ volumes: [{ name: 'cache', containerPath: '/cache', backup: false }], backup: { targets: [LOCAL()] } }),
    'db-host/db/backup: the container has a backup but no volumes, so there is no data to protect. Fix: declare the data volumes in `volumes`, or remove `backup`',
  ],
  [
    'a backup with no targets',
    () => db({ backup: { targets: [] } }),
    'db-host/db/backup: the backup has no storage targets. Fix: add at least one target to `backup.targets`, e.g. StorageTarget.localPath({ hostPath: "/mnt/backup-disk/db", medium: Medium.DISK })',
  ],
  // BackupSidecar
  [
    'a sidecar image pinned by tag only',
    () => backedUp({ image: 'restic/restic:0.17.3' }),
    'db-host/db/backup: the sidecar image "restic/restic:0.17.3" is not pinned by digest, so a re-pushed tag could change what runs your backups. Fix: pin it as "registry/restic/restic:0.17.3@sha256:<64 hex digits>"',
  ],
  [
    'a 5 s network timeout',
    () => backedUp({ networkTimeoutSeconds: 5 }),
    'db-host/db/backup: networkTimeoutSeconds must be a whole number of seconds from 10 to 86400, got 5. Fix: pass a timeout that covers one backup of this container to one target, e.g. 3600',
  ],
  [
    'a swarm service stopped for its backup',
    () => postgresService(hostStack(app()), { quiesce: Quiesce.stop() }),
    'db-host/db/backup: a swarm service cannot be stopped for a backup ("Quiesce.stop()"): swarm replaces a stopped task at once, and starting the old one again would run two writers on one volume. Fix: pause it (Quiesce.pause()) or dump it onto the volume first (Quiesce.exec([...]))',
  ],
  [
    'no target at a time',
    () => db({ backup: { targets: [LOCAL()], targetConcurrency: 0 } }),
    'db-host/db/backup: targetConcurrency must be a whole number from 1 to 16, got 0. Fix: pass how many targets a cycle may back up at the same time, e.g. 4 (1: one after another)',
  ],
  [
    'a literal webhook URL (it carries a token)',
    () => backedUp({ notifyUrl: 'https://hooks.example.com/services/T000/B000/XXXX' }),
    'db-host/db/backup: notifyUrl is a literal string; a webhook URL carries its token, and would be written in plain text into cdk.tf.json and the Terraform plan. Fix: pass a token that Terraform resolves at apply time, e.g. new TerraformVariable(stack, "notify_url", { type: "string", sensitive: true }).stringValue',
  ],
  [
    'a health threshold shorter than the schedule gap',
    () => backedUp({ healthMaxAgeSeconds: 3600 }),
    'db-host/db/backup: healthMaxAgeSeconds 3600 is shorter than the schedule\'s longest gap between two runs (86400 s), so the sidecar would be unhealthy between every two backups. Fix: set healthMaxAgeSeconds to at least 86400, or leave it unset for twice the interval',
  ],
  [
    'two targets with one name',
    () => db({ backup: { targets: [LOCAL(), StorageTarget.localPath({ hostPath: '/mnt/other' })] } }),
    'db-host/db/backup: two storage targets are named "local". Fix: give each target its own `name`',
  ],
  [
    'a target name with a space',
    () => db({ backup: { targets: [StorageTarget.localPath({ hostPath: '/mnt/b', name: 'my target' })] } }),
    'db-host/db/backup: target name "my target" is not a valid name (letters, digits, \'.\', \'_\' and \'-\', starting with a letter or digit, at most 63 characters). Fix: rename it, e.g. "my-target"',
  ],
  [
    'a local target inside the protected volume',
    () => db({ backup: { targets: [StorageTarget.localPath({ hostPath: '/var/lib/docker/volumes/pgdata/_data/backup' })] } }),
    'db-host/db/backup: the local target "/var/lib/docker/volumes/pgdata/_data/backup" lies inside the protected volume "pgdata" (/var/lib/docker/volumes/pgdata), so the backup would contain itself and be lost with the data it protects. Fix: put the repository on another disk or mount, outside every protected volume',
  ],
  [
    'a sidecar on its own with no sources',
    () => sidecar({ sources: [] }),
    'db-host/db-backup: the container has a backup but no volumes, so there is no data to protect. Fix: declare the data volumes in `volumes`, or remove `backup`',
  ],
  [
    'a sidecar on its own with an invalid container name',
    () => sidecar({ containerName: 'db/primary', image: PINNED }),
    'db-host/db-backup: containerName "db/primary" is not a valid name (letters, digits, \'.\', \'_\' and \'-\', starting with a letter or digit, at most 63 characters). Fix: rename it, e.g. "db-primary"',
  ],
  // Compliance configuration
  [
    'a suppression with a short reason',
    () => BackupSuppressions.addToConstruct(db(), [{ ruleId: 'DatabaseConsistency', reason: 'ok' }]),
    `BackupSuppressions.addToConstruct(db-host/db): the suppression of "DatabaseConsistency" has the reason "ok" (2 characters); a suppression needs a reason of at least 10 characters. ${SUPPRESS_FIX}`,
  ],
  [
    'a suppression whose reason is blanks',
    () => BackupSuppressions.addToConstruct(db(), [{ ruleId: 'OneOffsite', reason: '             ' }]),
    `BackupSuppressions.addToConstruct(db-host/db): the suppression of "OneOffsite" has the reason "             " (0 characters); a suppression needs a reason of at least 10 characters. ${SUPPRESS_FIX}`,
  ],
  [
    'a suppression of an invalid rule id',
    () => BackupSuppressions.addToConstruct(db(), [{ ruleId: 'one offsite', reason: 'a long enough reason' }]),
    "BackupSuppressions.addToConstruct(db-host/db): the rule id \"one offsite\" is not letters, digits and '-' starting with a letter. Fix: name the rule like \"Acme-PinnedImage\" (the built-in ids are ThreeCopies, TwoMedia, OneOffsite, OneImmutableOrOffline, ZeroErrors, ObjectLockCoversRetention, ScheduleMeetsRpo, RepositoriesEncrypted, DatabaseConsistency, QuiesceOutputBackedUp, ServiceDataPinned, ReplicatedServiceData, AllDataBackedUp, PasswordEscrowed)",
  ],
  [
    'an additional rule with a built-in id',
    () => new ThreeTwoOneChecks({ additionalRules: [{ rule: rule('ThreeCopies'), fix: 'n/a' }] }),
    'new ThreeTwoOneChecks(...): two rules have the id "ThreeCopies". Fix: give each additional rule its own ruleId, different from the built-in ones',
  ],
  [
    'an additional rule with an invalid id',
    () => new ThreeTwoOneChecks({ additionalRules: [{ rule: rule('acme rule'), fix: 'n/a' }] }),
    "new ThreeTwoOneChecks(...): the rule id \"acme rule\" is not letters, digits and '-' starting with a letter. Fix: name the rule like \"Acme-PinnedImage\" (the built-in ids are ThreeCopies, TwoMedia, OneOffsite, OneImmutableOrOffline, ZeroErrors, ObjectLockCoversRetention, ScheduleMeetsRpo, RepositoriesEncrypted, DatabaseConsistency, QuiesceOutputBackedUp, ServiceDataPinned, ReplicatedServiceData, AllDataBackedUp, PasswordEscrowed)",
  ],
  [
    'an additional rule without a fix',
    () => new ThreeTwoOneChecks({ additionalRules: [{ rule: rule('Acme-Tags'), fix: ' ' }] }),
    'new ThreeTwoOneChecks(...): the additional rule "Acme-Tags" has no fix text, so its findings would not say what to do. Fix: set `fix` to one sentence that says how to meet the rule',
  ],
  [
    'a pack that accepts no read-back at all',
    () => new ThreeTwoOneChecks({ readBackWithinDays: 0 }),
    'new ThreeTwoOneChecks(...): readBackWithinDays must be a whole number from 1 to 366, got 0. Fix: pass readBackWithinDays between 1 and 366',
  ],
  // ObjectLock, EncryptedStateBackend (issue 11)
  [
    'a wildcard break-glass principal',
    () => ObjectLock.governance(30, { breakGlassPrincipalArn: 'arn:aws:iam::111122223333:role/*' }),
    'ObjectLock.governance(30, { breakGlassPrincipalArn }): breakGlassPrincipalArn must be the ARN of one IAM role or user (arn:<partition>:iam::<account>:role/<name> or :user/<name>) or a Terraform token, got "arn:aws:iam::111122223333:role/*". Fix: name the one role allowed to lift the lock, e.g. "arn:aws:iam::111122223333:role/backup-break-glass" (no wildcard, not the root user), or use ObjectLock.compliance(days)',
  ],
  [
    'a state backend without a lock table',
    () => EncryptedStateBackend.s3(new TerraformStack(Testing.app(), 'storage'), { ...STATE, dynamodbTable: ' ' }),
    'EncryptedStateBackend.s3(storage): dynamodbTable must be a non-empty string, got " ". Fix: pass dynamodbTable: the state bucket, its region, the KMS key that encrypts the state and the DynamoDB lock table are all required for an encrypted, locked state',
  ],
  [
    'a second backend on one stack',
    () => {
      const stack = new TerraformStack(Testing.app(), 'storage');
      EncryptedStateBackend.s3(stack, STATE);
      EncryptedStateBackend.s3(stack, STATE);
    },
    'EncryptedStateBackend.s3(storage): the stack already has a backend (storage/backend); a stack has exactly one. Fix: remove the other backend, or call EncryptedStateBackend.forEveryStack(app, ...), which skips stacks that already have one',
  ],
  // AgentCredentials (issue 21)
  [
    'an initializer key that never works (a window of 0 hours)',
    () => {
      const stack = new TerraformStack(Testing.app(), 'storage');
      const bucket = BackupBucket.fromAttributes(stack, 'existing', { bucketName: 'acme-backups', region: 'eu-west-1' });
      new AgentCredentials(stack, 'agent', { bucket, containerNames: ['db'], initKeyValidityHours: 0 });
    },
    'storage/agent: initKeyValidityHours must be a whole number from 1 to 720, got 0. Fix: pass initKeyValidityHours between 1 and 720',
  ],
  [
    'a zero-errors rule with drills every 400 days',
    () => new ZeroErrorsRule({ restoreDrillWithinDays: 400 }),
    'ZeroErrorsRule: restoreDrillWithinDays must be a whole number from 1 to 366, got 400. Fix: pass restoreDrillWithinDays between 1 and 366',
  ],
  // The quiesce output (issue 22): a dump must land in a volume the same backup reads
  [
    'a pg_dump written outside every volume (/var/lib/postgres/... while the volume is at /var/lib/postgresql/data)',
    () => backedUp({ quiesce: Quiesce.exec(['pg_dump', '-U', 'gitea', '-f', '/var/lib/postgres/data/gitea.dump', 'gitea']) }),
    "db-host/db/backup: the quiesce command writes \"/var/lib/postgres/data/gitea.dump\", which lies in no volume of the container (mounted: pgdata at /var/lib/postgresql/data): the dump would stay in the container's own file system, never backed up, while every cycle reports success. Fix: write the dump into a backed-up volume, e.g. under its containerPath, or mount a volume where it is written",
  ],
  [
    'a dump written into a volume that is not backed up',
    () =>
      db({
        volumes: [{ name: 'pgdata', containerPath: '/var/lib/postgresql/data' }, { name: 'pgscratch', containerPath: '/scratch', backup: false }],
        backup: { targets: [LOCAL()], quiesce: Quiesce.exec(['pg_dumpall', '-U', 'postgres', '--file=/scratch/dump.sql']) },
      }),
    'db-host/db/backup: the quiesce command writes "/scratch/dump.sql" into volume "pgscratch", which is not backed up (backup: false): the dump would never reach a repository. Fix: write the dump into a backed-up volume (pgdata at /var/lib/postgresql/data), or back up "pgscratch"',
  ],
  [
    'a declared output that is not where the command writes',
    () => Quiesce.exec(['pg_dumpall', '-f', '/var/lib/postgresql/data/dump.sql'], { output: '/var/lib/postgresql/data/other.sql' }),
    'Quiesce.exec(...): `output` is "/var/lib/postgresql/data/other.sql" but the command writes its dump to "/var/lib/postgresql/data/dump.sql", so one of them is wrong. Fix: make them the same path, or leave `output` out: it is read from the command',
  ],
  [
    'a dump to a relative path',
    () => Quiesce.exec(['mysqldump', '--result-file=dump.sql']),
    'Quiesce.exec(...): the dump\'s output "dump.sql" is a relative path: it is relative to the container\'s working directory, which synth cannot check against the volumes. Fix: write the dump to an absolute path inside a backed-up volume, e.g. "/var/lib/postgresql/data/dump.sql"',
  ],
];

function rule(ruleId: string): IBackupRule {
  return { ruleId, description: 'a rule of your own', evaluate: () => RuleResult.compliant('fine') };
}

describe('eager refusals (thrown while the app is built)', () => {
  test.each(eager)('%s', (_name, build, message) => {
    let thrown: unknown;
    try {
      build();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    const error = thrown as ConfigurationError;
    expect(error.message).toBe(message);
    // No stack trace reaches the user: the stack is the message alone.
    expect(error.stack).toBe(`ConfigurationError: ${message}`);
  });
});

// ---- Compliance refusals: the full synth fails ----------------------------------------------

const host = Site.dockerHost();
const disk = (name: string, extra: any = {}) => new ConfiguredTarget({ name, repository: `/backup/targets/${name}`, medium: Medium.DISK, site: host, ...extra });

const synthRefusals: Array<[string, () => TerraformStack, string]> = [
  // Swarm services: the container rules hold for each node's data, and a replicated one is pinned
  [
    'a swarm service with every copy on the swarm',
    () => checkedStack((s) => postgresService(s, { targets: [LOCAL(), disk('nas', { medium: Medium.NAS, immutable: true })] })),
    "db-host/db [OneOffsite]: only 1 site (docker-host): every copy is where the container runs, so one fire, flood or lost host takes them all. Fix: add an offsite copy: StorageTarget.s3(...) in another region, or an offsite replica on the bucket, or a target at another site (e.g. StorageTarget.localPath({ ..., site: Site.named('office-nas') }) for a NAS in another building)",
  ],
  [
    'a swarm service with every copy on disk',
    () => checkedStack((s) => postgresService(s, { targets: [LOCAL(), disk('dr', { site: Site.named('dr-site'), immutable: true })] })),
    'db-host/db [TwoMedia]: only 1 medium (disk: live data, local, dr); 3-2-1 needs copies on at least two kinds of storage, so that one failure mode cannot take them all. Fix: put one copy on another medium: object storage (StorageTarget.s3(...)), a NAS (StorageTarget.localPath({ ..., medium: Medium.NAS })) or an archive tier',
  ],
  [
    'a swarm service running a database, backed up in flight',
    () => checkedStack((s) => postgresService(s, { quiesce: Quiesce.none() })),
    "db-host/db [DatabaseConsistency]: image postgres:16 is a database, quiesce none: its files are copied while it writes them, and the restored database may be corrupt. Fix: dump it onto the volume first, e.g. `quiesce: Quiesce.exec(['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'])`, or stop or pause it for the backup (Quiesce.stop(), Quiesce.pause()), or, if it is deliberate, suppress it with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: \"DatabaseConsistency\", reason: \"...\" }])",
  ],
  [
    'a replicated swarm service with data, free to move to any node',
    () => checkedStack((s) => postgresService(s, {}, { placementConstraints: [] })),
    'db-host/db [ServiceDataPinned]: 1 replica, no placement constraint: swarm moves a task to another node when its node fails or is drained, and there the node-local volume is new and empty; the application would start on no data and its backups would carry on from the empty volume. Fix: pin it to its node with a placement constraint, e.g. `placementConstraints: ["node.hostname==db-1"]`, or run one task per node with `maxReplicasPerNode: 1` and a constraint on a node label',
  ],
  [
    'two replicas on nodes picked by a label, without one per node',
    () => checkedStack((s) => postgresService(s, {}, { mode: ServiceMode.replicated(2), placementConstraints: ['node.labels.db==true'] })),
    'db-host/db [ServiceDataPinned]: 2 replicas, constraints node.labels.db==true: swarm moves a task to another node when its node fails or is drained, and there the node-local volume is new and empty; the application would start on no data and its backups would carry on from the empty volume. Fix: pin it to its node with a placement constraint, e.g. `placementConstraints: ["node.hostname==db-1"]`, or run one task per node with `maxReplicasPerNode: 1` and a constraint on a node label',
  ],
  [
    'data volumes and no backup',
    () => checkedStack((s) => postgres(s, null)),
    'db-host/db [ThreeCopies]: only 1 copy (live data); 3-2-1 needs the live data plus at least two backup copies. Fix: add backup copies: a second storage target in `backup.targets` (e.g. StorageTarget.s3(...), or a NAS with StorageTarget.localPath({ ..., medium: Medium.NAS })), or a replica of an existing target',
  ],
  [
    'only two copies (live data and one locked offsite bucket)',
    () => checkedStack((s) => postgres(s, { targets: [new FakeBucketTarget({ lockDays: 400 })] })),
    'db-host/db [ThreeCopies]: only 2 copies (live data, vault); 3-2-1 needs the live data plus at least two backup copies. Fix: add backup copies: a second storage target in `backup.targets` (e.g. StorageTarget.s3(...), or a NAS with StorageTarget.localPath({ ..., medium: Medium.NAS })), or a replica of an existing target',
  ],
  [
    'every copy on disk',
    () => checkedStack((s) => postgres(s, { targets: [LOCAL(), disk('dr', { site: Site.named('dr-site'), immutable: true })] })),
    'db-host/db [TwoMedia]: only 1 medium (disk: live data, local, dr); 3-2-1 needs copies on at least two kinds of storage, so that one failure mode cannot take them all. Fix: put one copy on another medium: object storage (StorageTarget.s3(...)), a NAS (StorageTarget.localPath({ ..., medium: Medium.NAS })) or an archive tier',
  ],
  [
    'every copy on the Docker host',
    () => checkedStack((s) => postgres(s, { targets: [LOCAL(), disk('nas', { medium: Medium.NAS, immutable: true })] })),
    "db-host/db [OneOffsite]: only 1 site (docker-host): every copy is where the container runs, so one fire, flood or lost host takes them all. Fix: add an offsite copy: StorageTarget.s3(...) in another region, or an offsite replica on the bucket, or a target at another site (e.g. StorageTarget.localPath({ ..., site: Site.named('office-nas') }) for a NAS in another building)",
  ],
  [
    'no immutable or offline copy',
    () => checkedStack((s) => postgres(s, { targets: [LOCAL(), new FakeBucketTarget()] })),
    'db-host/db [OneImmutableOrOffline]: no immutable or offline copy among local, vault; 3-2-1-1-0 needs one copy that ransomware or a stolen credential cannot delete. Fix: keep one copy immutable (a bucket or offsite replica with S3 Object Lock) or offline; or check at level ComplianceLevel.THREE_TWO_ONE',
  ],
  [
    'structure checks only, no read-back, no drill',
    () => checkedStack((s) => postgres(s, { verification: Verification.structureOnly() })),
    'db-host/db [ZeroErrors]: backups are not proven readable: data is never read back (structure checks only); no restore drill; 3-2-1-1-0 needs all data read back within 31 days and a restore drill at least every 31 days. Fix: set `verification: Verification.standard()` (all data within 28 days, a weekly drill) or Verification.readBack({ readAllDataWithinDays, restoreDrill }) within those limits',
  ],
  [
    'read-back over 60 days',
    () => checkedStack((s) => postgres(s, { verification: Verification.readBack({ readAllDataWithinDays: 60 }) })),
    'db-host/db [ZeroErrors]: backups are not proven readable: all data is read back within 60 days, more than the 31 days allowed; 3-2-1-1-0 needs all data read back within 31 days and a restore drill at least every 31 days. Fix: set `verification: Verification.standard()` (all data within 28 days, a weekly drill) or Verification.readBack({ readAllDataWithinDays, restoreDrill }) within those limits',
  ],
  [
    'an Object Lock shorter than the retention',
    () => checkedStack((s) => postgres(s, { targets: [LOCAL(), new FakeBucketTarget({ offsiteRegion: 'eu-central-1', offsiteLockDays: 30 })] })),
    'db-host/db [ObjectLockCoversRetention]: an Object Lock period is shorter than the retention (vault-offsite locked 30 days; retention keeps snapshots up to 372 days), so snapshots the retention still keeps could be deleted from the immutable copy. Fix: lock for at least 372 days, or shorten the retention to the lock period',
  ],
  [
    'a daily schedule for a one-hour RPO',
    () => checkedStack((s) => postgres(s, { recoveryPointObjectiveMinutes: 60 })),
    'db-host/db [ScheduleMeetsRpo]: the schedule "0 2 * * *" leaves up to 1440 minutes between backups, more than the declared recovery point objective of 60 minutes. Fix: run the backup at least every 60 minutes (e.g. Schedule.everyHours(...) or Schedule.cron(...)), or declare a longer recoveryPointObjectiveMinutes',
  ],
  [
    'a target that stores plain data',
    () => checkedStack((s) => postgres(s, { targets: [LOCAL(), VAULT(), disk('plain', { encrypted: false })] })),
    'db-host/db [RepositoriesEncrypted]: a backup copy is stored in plain text (not encrypted: plain). Fix: use a target that encrypts its repository (every restic target of this library does), or remove the target that declares `encrypted: false`',
  ],
  [
    'postgres backed up crash-consistent',
    () => checkedStack((s) => postgres(s, { quiesce: Quiesce.none() })),
    'db-host/db [DatabaseConsistency]: image postgres:16 is a database, quiesce none: its files are copied while it writes them, and the restored database may be corrupt. Fix: dump it onto the volume first, e.g. `quiesce: Quiesce.exec([\'pg_dumpall\', \'-U\', \'postgres\', \'-f\', \'/var/lib/postgresql/data/dump.sql\'])`, or stop or pause it for the backup (Quiesce.stop(), Quiesce.pause()), or, if it is deliberate, suppress it with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: "DatabaseConsistency", reason: "..." }])',
  ],
  [
    'redis backed up crash-consistent',
    () => checkedStack((s) => postgres(s, { quiesce: Quiesce.none() }, { image: 'redis:7', volumes: [{ name: 'redis', containerPath: '/data' }] })),
    'db-host/db [DatabaseConsistency]: image redis:7 is a database, quiesce none: its files are copied while it writes them, and the restored database may be corrupt. Fix: dump it onto the volume first, e.g. `quiesce: Quiesce.exec([\'redis-cli\', \'SAVE\'])`, or stop or pause it for the backup (Quiesce.stop(), Quiesce.pause()), or, if it is deliberate, suppress it with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: "DatabaseConsistency", reason: "..." }])',
  ],
  [
    // issue 12: the RPO rule reads the agent's day rule (Vixie cron): day-of-month starts with
    // `*`, so a day must match both day fields: odd days that are Mondays, up to 21 days apart
    '"0 2 */2 * 1" with a 4-day RPO',
    () => checkedStack((s) => postgres(s, { schedule: Schedule.cron('0 2 */2 * 1'), recoveryPointObjectiveMinutes: 5760 })),
    'db-host/db [ScheduleMeetsRpo]: the schedule "0 2 */2 * 1" leaves up to 30240 minutes between backups, more than the declared recovery point objective of 5760 minutes. Fix: run the backup at least every 5760 minutes (e.g. Schedule.everyHours(...) or Schedule.cron(...)), or declare a longer recoveryPointObjectiveMinutes',
  ],
  [
    'a rule of your own',
    () =>
      checkedStack(
        (s) => postgres(s),
        new ThreeTwoOneChecks({
          printSummary: false,
          additionalRules: [
            {
              rule: {
                ruleId: 'Acme-PinnedImage',
                description: 'The container image is pinned by digest',
                evaluate: (t: Topology) => (t.image?.includes('@sha256:') ? RuleResult.compliant(`image ${t.image}`) : RuleResult.nonCompliant(`image ${t.image}`)),
              },
              fix: 'pin the image, e.g. "postgres:16@sha256:<digest>"',
            },
          ],
        }),
      ),
    'db-host/db [Acme-PinnedImage]: The container image is pinned by digest: not met (image postgres:16). Fix: pin the image, e.g. "postgres:16@sha256:<digest>"',
  ],
  // The quiesce output (issue 22)
  [
    'an exec quiesce whose output synth cannot know',
    () => checkedStack((s) => postgres(s, { quiesce: Quiesce.exec(['redis-cli', 'SAVE']) })),
    'db-host/db [QuiesceOutputBackedUp]: the exec quiesce writes a file synth cannot know, so nothing shows that the backup reads it: a dump written outside the backed-up volumes is never backed up while every cycle reports success. Fix: declare where the command writes: Quiesce.exec(command, { output: "/var/lib/postgresql/data/dump.sql" }) (and, for a BackupSidecar on its own, each source\'s containerPath); or, when the command writes no file, suppress the finding with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: "QuiesceOutputBackedUp", reason: "..." }])',
  ],
];

describe('compliance refusals (the full synth fails)', () => {
  test.each(synthRefusals)('%s', (_name, build, message) => {
    // GIVEN
    const stack = build();
    // WHEN
    const error = fullSynthError(stack);
    // THEN: the synth stops, and the finding is an error annotation on the container, without trace
    expect(error).toContain(`[db-host/db] ${message}`);
    expect(annotations(stack, 'error')).toContain(`db-host/db: ${message}`);
    const entries = stack.node.findAll().flatMap((n) => n.node.metadata.filter((m) => m.type === '@cdktf/error'));
    expect(entries.every((m) => m.trace === undefined)).toBe(true);
  });
});

// ---- Validation refusals: the full synth fails on the construct's validation ----------------

const validationRefusals: Array<[string, () => TerraformStack, string]> = [
  [
    'a second bucket policy that would replace the BackupBucket\'s, its upload bounds with it (issue 21)',
    () => {
      const stack = new TerraformStack(Testing.app(), 'storage');
      new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
      const vault = new BackupBucket(stack, 'vault');
      new S3BucketPolicy(stack, 'mine', { bucket: vault.bucketName, policy: '{}' });
      return stack;
    },
    'storage/vault: another aws_s3_bucket_policy (storage/mine) sets the policy of this bucket; S3 keeps one policy per bucket, so whichever applies last replaces the other, and with the library\'s policy go the Denies that keep uploads to S3 Standard with the bucket\'s own encryption (and TLS-only access). Fix: remove it, and grant what it granted through identity policies (IAM users and roles): an explicit Deny in the bucket policy holds against every Allow of theirs, so they cannot reopen the bounds (docs/security.md)',
  ],
];

describe('validation refusals (the full synth fails)', () => {
  test.each(validationRefusals)('%s', (_name, build, message) => {
    // GIVEN
    const stack = build();
    // WHEN
    const error = fullSynthError(stack);
    // THEN
    expect(error).toContain(`[storage/vault] ${message}`);
  });
});

test('the table holds at least 40 refusals', () => {
  expect(eager.length + synthRefusals.length + validationRefusals.length).toBeGreaterThanOrEqual(40);
});

describe('issue 12: the RPO rule reads the agent\'s day rule (Vixie cron)', () => {
  test('"0 2 13 * 5" (both day fields restricted: the 13th or a Friday) meets a 7-day RPO', () => {
    const stack = checkedStack((s) => postgres(s, { schedule: Schedule.cron('0 2 13 * 5'), recoveryPointObjectiveMinutes: 7 * 1440 }));
    expect(() => Testing.fullSynth(stack)).not.toThrow();
    expect(annotations(stack, 'error')).toEqual([]);
  });
});

// ---- Issue 22: nothing silently wrong across constructs ---------------------------------------
// One block, for merging: literal credentials inside values (eager), what one construct names
// and another relies on (the stack's ledger: validations, so `app.synth()` fails and writes no
// cdk.tf.json for the stack), and the two new warnings (printed; the synth goes on).

/** A local target in `hostPath`, named `local`. */
const localIn = (hostPath: string) => StorageTarget.localPath({ hostPath });
const URL_FIX = (example: string, file: string) =>
  `Fix: put a sensitive TerraformVariable's value in the password's place, e.g. \`${example}\` (a Terraform reference inside the value is fine), ${file}`;

const eager22: Array<[string, () => unknown, string]> = [
  [
    'a password inside a URL in the environment (any variable name)',
    () => db({ environment: { DATABASE_URL: 'postgres://gitea:hunter2@db:5432/gitea' } }),
    `db-host/db: the environment variable DATABASE_URL holds a literal password inside a URL (postgres://gitea:***@db:5432/gitea), which would be stored in plain text in cdk.tf.json and the Terraform plan. ${URL_FIX('postgres://gitea:${password.stringValue}@db:5432/gitea', 'or point the image at a file with DATABASE_URL_FILE')}`,
  ],
  [
    'a password inside a URL whose host is a reference',
    () => db({ environment: { DATABASE_URL: `postgres://gitea:hunter2@${Lazy.stringValue({ produce: () => 'db' })}/gitea` } }),
    `db-host/db: the environment variable DATABASE_URL holds a literal password inside a URL (postgres://gitea:***@<reference>/gitea), which would be stored in plain text in cdk.tf.json and the Terraform plan. ${URL_FIX('postgres://gitea:${password.stringValue}@<reference>/gitea', 'or point the image at a file with DATABASE_URL_FILE')}`,
  ],
  [
    'a Password= in a connection string',
    () => db({ environment: { ConnectionStrings__Default: 'Server=db;Database=app;User Id=sa;Password=hunter2;' } }),
    `db-host/db: the environment variable ConnectionStrings__Default holds a literal password in a connection string (Server=db;Database=app;User Id=sa;Password=***;), which would be stored in plain text in cdk.tf.json and the Terraform plan. ${URL_FIX('Server=db;Database=app;User Id=sa;Password=${password.stringValue};', 'or point the image at a file with ConnectionStrings__Default_FILE')}`,
  ],
  [
    'a password inside a URL in a command argument',
    () => db({ command: ['--dsn', 'mysql://root:hunter2@db/app'] }),
    `db-host/db: command argument 2 holds a literal password inside a URL (mysql://root:***@db/app), which would be stored in plain text in cdk.tf.json and the Terraform plan. ${URL_FIX('mysql://root:${password.stringValue}@db/app', 'or let the program read the password from a file or its environment')}`,
  ],
  [
    'credentials in a REST server URL',
    () => StorageTarget.restServer({ url: 'https://alice:hunter2@backup.example.internal:8000' }),
    'StorageTarget.restServer("https://alice:***@backup.example.internal:8000"): the URL "https://alice:***@backup.example.internal:8000" carries credentials (user:password@), which would be written in plain text into cdk.tf.json, the agent\'s plan and its logs. Fix: take them out of the URL: pass the user name as `username` and the password as `password` (a sensitive variable\'s value), which reach the sidecar as a file',
  ],
  [
    'credentials in a REST server URL built with a reference',
    () => StorageTarget.restServer({ url: `https://alice:${Lazy.stringValue({ produce: () => 'pw' })}@backup.example.internal`, site: Site.named('dc2') }),
    'StorageTarget.restServer(<token>): the URL "https://alice:***@backup.example.internal" carries credentials (user:password@), which would be written in plain text into cdk.tf.json, the agent\'s plan and its logs. Fix: take them out of the URL: pass the user name as `username` and the password as `password` (a sensitive variable\'s value), which reach the sidecar as a file',
  ],
  [
    'credentials in an S3-compatible endpoint',
    () =>
      StorageTarget.s3Compatible({
        endpoint: 'https://AKIAEXAMPLE:hunter2@minio.example.internal:9000',
        bucket: 'backups',
        accessKeyId: 'AKIAEXAMPLE',
        secretAccessKey: Lazy.stringValue({ produce: () => 'from-a-secret-store' }),
      }),
    'StorageTarget.s3Compatible("https://AKIAEXAMPLE:***@minio.example.internal:9000"): the endpoint "https://AKIAEXAMPLE:***@minio.example.internal:9000" carries credentials (user:password@), which would be written in plain text into cdk.tf.json, the agent\'s plan and its logs. Fix: take them out of the endpoint: the access key goes in `accessKeyId` and the secret key in `secretAccessKey` (a sensitive variable\'s value), which reaches the sidecar as a file',
  ],
  [
    'a password escrowed in a blank place',
    () => RepositoryPassword.fromVariable(hostStack(app()), 'restic_password', { escrowedIn: '  ' }),
    'RepositoryPassword.fromVariable("restic_password"): escrowedIn is "  ", which does not say where the password is kept. Fix: name the place an operator reads it back from after losing the host, e.g. { escrowedIn: "Vault kv/backup/restic" }, or leave escrowedIn out',
  ],
];

describe('issue 22: eager refusals (thrown while the app is built)', () => {
  test.each(eager22)('%s', (_name, build, message) => {
    // WHEN
    let thrown: unknown;
    try {
      build();
    } catch (e) {
      thrown = e;
    }
    // THEN: the message, without a trace; nothing is synthesized
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as ConfigurationError).message).toBe(message);
    expect((thrown as ConfigurationError).stack).toBe(`ConfigurationError: ${message}`);
    expect(message).not.toContain('hunter2');
  });
});

const SHARED_FOLDER =
  'both sidecars would write one restic repository (/mnt/backup-disk/repository) and both installers would manage the folder (root-owned, mode 0700, moving a repository they find in it), so one sidecar\'s prune or check would lock the other out, and their snapshots would share one repository and its password';
const VOLUME_WHY =
  'two docker_volume resources with one name are one Docker volume: each container would mount the other\'s files, and destroying either would remove the data of both';
const NAME_WHY = 'Docker keeps one container, service or network per name, so the second would fail to deploy halfway through, after the first was made';

/** A second postgres in `stack`, `id`, with its own volume, local folder and bucket folder unless told otherwise. */
function wiki(stack: TerraformStack, backup: Partial<BackupOptions> = {}, props: any = {}): ProtectedContainer {
  return postgres(stack, { targets: [localIn('/mnt/backup-disk/wiki'), new FakeBucketTarget()], ...backup }, { volumes: [{ name: 'wiki-data', containerPath: '/var/lib/postgresql/data' }], ...props }, 'wiki');
}

const validation22: Array<[string, () => TerraformStack, string, string]> = [
  [
    'a second container given the database\'s volume name (both create it)',
    () => {
      const stack = hostStack(app());
      postgres(stack);
      new ProtectedContainer(stack, 'web', { image: 'nginx:1.27', volumes: [{ name: 'pgdata', containerPath: '/usr/share/nginx/html' }] });
      return stack;
    },
    'db-host/web',
    `db-host/web: the Docker volume "pgdata" is made by db-host/db too; ${VOLUME_WHY}. Fix: rename one: the volume's name in \`volumes\` of db-host/web, or the volume's name in \`volumes\` of db-host/db; to share the volume on purpose, declare it \`existing: true\` in the \`volumes\` of db-host/web (db-host/db makes it)`,
  ],
  [
    'two containers with one containerName',
    () => {
      const stack = hostStack(app());
      postgres(stack);
      wiki(stack, {}, { containerName: 'db' });
      return stack;
    },
    'db-host/wiki',
    `db-host/wiki: the Docker names container "db", volume "db-backup-state", volume "db-backup-install", network "db-backup-docker-api", container "db-backup-docker-api", container "db-backup-install", container "db-backup" are made by db-host/db too; ${VOLUME_WHY}; ${NAME_WHY}. Fix: rename one: the containerName "db" of db-host/wiki, or the containerName "db" of db-host/db`,
  ],
  [
    'a container of your own named like a sidecar',
    () => {
      const stack = hostStack(app());
      postgres(stack);
      new Container(stack, 'tools', { name: 'db-backup', image: 'alpine:3.20' });
      return stack;
    },
    'db-host/db',
    `db-host/db: the Docker container "db-backup" is made by db-host/tools too; ${NAME_WHY}. Fix: rename one: the containerName "db" of db-host/db, or the \`name\` of db-host/tools`,
  ],
  [
    'a volume of your own named like a sidecar\'s state volume',
    () => {
      const stack = hostStack(app());
      postgres(stack);
      new Volume(stack, 'state', { name: 'db-backup-state' });
      return stack;
    },
    'db-host/db',
    `db-host/db: the Docker volume "db-backup-state" is made by db-host/state too; ${VOLUME_WHY}. Fix: rename one: the containerName "db" of db-host/db, or the \`name\` of db-host/state`,
  ],
  [
    'a network of your own named like the stack\'s egress network',
    () => {
      const stack = hostStack(app());
      postgres(stack);
      new Network(stack, 'mine', { name: 'db-host-backup-egress' });
      return stack;
    },
    'db-host/cdktf-container-backup-egress',
    `db-host/cdktf-container-backup-egress: the Docker network "db-host-backup-egress" is made by db-host/mine too; ${NAME_WHY}. Fix: rename one: the stack id "db-host" (the network is named after it) of db-host/cdktf-container-backup-egress, or the \`name\` of db-host/mine`,
  ],
  [
    'two containers\' local targets in one host folder',
    () => {
      const stack = hostStack(app());
      postgres(stack, { targets: [localIn('/mnt/backup-disk'), VAULT()] });
      wiki(stack, { targets: [localIn('/mnt/backup-disk'), new FakeBucketTarget()] });
      return stack;
    },
    'db-host/wiki/backup',
    `db-host/wiki/backup: the local target "local" (/mnt/backup-disk) has the same folder as the local target "local" of db-host/db/backup: ${SHARED_FOLDER}. Fix: give each local target a folder of its own, side by side, none inside another: e.g. "/mnt/backup-disk/wiki" for "local" of db-host/wiki/backup and "/mnt/backup-disk/db" for "local" of db-host/db/backup`,
  ],
  [
    'a local target inside another\'s folder',
    () => {
      const stack = hostStack(app());
      postgres(stack, { targets: [localIn('/mnt/backup-disk'), VAULT()] });
      wiki(stack);
      return stack;
    },
    'db-host/wiki/backup',
    'db-host/wiki/backup: the local target "local" (/mnt/backup-disk/wiki) and the local target "local" of db-host/db/backup are nested: /mnt/backup-disk/wiki lies inside the folder of the local target "local" of db-host/db/backup, which its installer keeps root-owned with mode 0700 as its own, so each installer would manage folders of the other\'s. Fix: give each local target a folder of its own, side by side, none inside another: e.g. "/mnt/backup-disk/wiki" for "local" of db-host/wiki/backup and "/mnt/backup-disk/db" for "local" of db-host/db/backup',
  ],
  [
    'a sidecar on its own whose source is act_runner-data, the container mounting act-runner-data',
    () => {
      const stack = hostStack(app());
      new Container(stack, 'runner', { name: 'act-runner', image: 'gitea/act_runner:0.2', mounts: [{ type: 'volume', source: 'act-runner-data', target: '/data' }] });
      new BackupSidecar(stack, 'runner-backup', { containerName: 'act-runner', sources: [{ volumeName: 'act_runner-data' }], targets: [localIn('/mnt/backup-disk/act-runner')] });
      return stack;
    },
    'db-host/runner-backup',
    'db-host/runner-backup: the source volume "act_runner-data" is declared nowhere in the stack "db-host": no docker_volume has that name and no container of the stack mounts it, so Docker would make a new, empty volume of that name, and the backup would save that one every time while the data stays elsewhere. Fix: name the volume the container mounts: did you mean "act-runner-data"? the stack declares "act-runner-data"; for a volume made outside this stack (docker compose, by hand), mark the source `external: true`',
  ],
  [
    'a backup service on its own whose source no service mounts',
    () => {
      const stack = hostStack(app());
      new Service(stack, 'wiki', { name: 'wiki', taskSpec: { containerSpec: { image: 'wiki:1', mounts: [{ type: 'volume', source: 'wiki-data', target: '/data' }] } } });
      new BackupService(stack, 'wiki-backup', { serviceName: 'wiki', sources: [{ volumeName: 'wikidata' }], targets: [localIn('/mnt/backup-disk/wiki')] });
      return stack;
    },
    'db-host/wiki-backup',
    'db-host/wiki-backup: the source volume "wikidata" is declared nowhere in the stack "db-host": no docker_volume has that name and no service or container of the stack mounts it, so swarm would make a new, empty volume of that name on each node, and the backup would save that one every time while the data stays elsewhere. Fix: name the volume the service mounts: did you mean "wiki-data"? the stack declares "wiki-data"; for a volume made outside this stack (docker compose, by hand), mark the source `external: true`',
  ],
  [
    'a container named "db" on two hosts of one app, backed up to one bucket folder',
    () => {
      const a = app();
      postgres(hostStack(a, 'host-1'));
      const two = hostStack(a, 'host-2');
      postgres(two);
      return two;
    },
    'host-2/db/backup',
    'host-2/db/backup: the target "vault" writes the restic repository s3:s3.eu-west-1.amazonaws.com/vault/db, which the target "vault" of host-1/db/backup writes too: two sidecars under one restic host name ("db") would mix their snapshots: retention would forget one\'s snapshots as the other\'s, and a restore of "latest" could bring back the other\'s data; they would also share the repository\'s locks and password. Fix: give each its own repository: a containerName (serviceName) of its own, or a prefix of its own, e.g. StorageTarget.s3(bucket, { prefix: "host-2/db" }) (`prefix` of an S3-compatible target, `repositoryPath` of a REST server)',
  ],
];

describe('issue 22: refusals across constructs (the full synth fails, no cdk.tf.json)', () => {
  test.each(validation22)('%s', (_name, build, where, message) => {
    // GIVEN (no compliance pack: these hold without one)
    const stack = build();
    const application = App.of(stack) as App;
    // WHEN
    let error: Error | undefined;
    try {
      application.synth();
    } catch (e) {
      error = e as Error;
    }
    // THEN: the synth stops on the construct the message names, and the stack has no Terraform
    expect(error?.message).toContain(`[${where}] ${message}`);
    expect(message).toContain('. Fix: ');
    expect(fs.existsSync(path.join(application.outdir, 'stacks', stack.node.id, 'cdk.tf.json'))).toBe(false);
  });

  test('run as an app, the refusal exits 1 and prints the message and its fix; the stack has no cdk.tf.json', () => {
    // GIVEN: the "two containers with one containerName" row as a program in its own folder
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'refused-ledger-'));
    try {
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      fs.writeFileSync(
        path.join(dir, 'main.ts'),
        [
          "import { App } from 'cdktf';",
          `import { hostStack, postgres } from '${path.join(ROOT, 'test', 'compliance', 'stacks')}';`,
          `const app = new App({ outdir: ${JSON.stringify(path.join(dir, 'cdktf.out'))} });`,
          'const stack = hostStack(app);',
          'postgres(stack);',
          "postgres(stack, {}, { containerName: 'db', volumes: [{ name: 'wiki-data', containerPath: '/var/lib/postgresql/data' }] }, 'wiki');",
          'app.synth();',
        ].join('\n'),
      );
      // WHEN
      const run = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', '--project', path.join(ROOT, 'tsconfig.dev.json'), 'main.ts'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
      });
      // THEN
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('[db-host/wiki] db-host/wiki: the Docker names container "db",');
      expect(run.stderr).toContain('Fix: rename one: the containerName "db" of db-host/wiki, or the containerName "db" of db-host/db');
      expect(fs.existsSync(path.join(dir, 'cdktf.out', 'stacks', 'db-host', 'cdk.tf.json'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});

const warnings22: Array<[string, () => TerraformStack, string]> = [
  [
    'a container of your own writes a volume no backup reads',
    () =>
      checkedStack((s) => {
        postgres(s);
        new Container(s, 'cache', { name: 'cache', image: 'redis:7', mounts: [{ type: 'volume', source: 'redis-data', target: '/data' }] });
      }),
    'db-host/cache [AllDataBackedUp]: 1 writable mount that no backup reads: volume "redis-data" at /data: whatever the container writes there is lost with the host, and nothing in the stack says that is meant. Fix: back it up: declare the container as a ProtectedContainer with `backup`, or add a BackupSidecar whose `sources` name the volume; if the data is not worth a backup, acknowledge it with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: "AllDataBackedUp", reason: "a cache, rebuilt on start" }])',
  ],
  [
    'a container of your own writes a host folder',
    () =>
      checkedStack((s) => {
        postgres(s);
        new Container(s, 'files', { name: 'files', image: 'nginx:1.27', volumes: [{ hostPath: '/srv/uploads', containerPath: '/usr/share/nginx/html/uploads' }] });
      }),
    'db-host/files [AllDataBackedUp]: 1 writable mount that no backup reads: host folder /srv/uploads at /usr/share/nginx/html/uploads: whatever the container writes there is lost with the host, and nothing in the stack says that is meant. Fix: back it up: declare the container as a ProtectedContainer with `backup`, or add a BackupSidecar whose `sources` name the volume (a sidecar reads named volumes: keep data in a named volume rather than a host folder); if the data is not worth a backup, acknowledge it with a reason: BackupSuppressions.addToConstruct(container, [{ ruleId: "AllDataBackedUp", reason: "a cache, rebuilt on start" }])',
  ],
  [
    'the default password (restic_password) with an offsite copy',
    () => checkedStack((s) => postgres(s, { password: undefined })),
    'db-host/db [PasswordEscrowed]: the repository password (the Terraform variable "restic_password") is kept nowhere off the Docker host that synth knows of, and 2 copies at another site (vault, vault-offsite) must be readable after the host is lost: restic opens no repository without its password and cannot recover a lost one, so losing the host would leave those copies unreadable. Fix: keep it in escrow with KeyEscrow (an SSM SecureString in the offsite region) and pass `escrow.repositoryPassword` as `backup.password`; or, when it is kept elsewhere (a password manager, Vault, the pipeline\'s secret store), say where: RepositoryPassword.fromVariable(stack, "restic_password", { escrowedIn: "Vault kv/backup/restic" }); or acknowledge it: BackupSuppressions.addToConstruct(container, [{ ruleId: "PasswordEscrowed", reason: "..." }])',
  ],
];

describe('issue 22: warnings (printed; the synth goes on and writes the stack)', () => {
  test.each(warnings22)('%s', (_name, build, message) => {
    // GIVEN
    const stack = build();
    // WHEN
    const outdir = Testing.fullSynth(stack);
    // THEN
    const path_ = message.slice(0, message.indexOf(' ['));
    expect(annotations(stack, 'warn')).toEqual([`${path_}: ${message}`]);
    expect(annotations(stack, 'error')).toEqual([]);
    expect(fs.existsSync(path.join(outdir, 'stacks', stack.node.id, 'cdk.tf.json'))).toBe(true);
  });
});
