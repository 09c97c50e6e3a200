/**
 * The baseline of the synth-at-scale benchmark: the same resources as `library-app.ts`, written
 * by hand with the raw provider bindings (one class per Terraform resource type, imported per
 * submodule), no code of this library. It is what a team would write without the library:
 * small helper functions and a loop, the values copied from what the library synthesizes for
 * one container (the bench checks that both apps synthesize the same resource types, data
 * sources and outputs in the same numbers, and the same list-attribute shapes). Per container:
 * the AWS side (keys, buckets, compliance-mode Object Lock, replication, the agent's and the
 * initializer's IAM users and keys, escrow), and on the Docker host the installer that puts
 * the agent, its plan (`agent.json`, written here as a literal object) and its secrets on the
 * install volume (and runs `restic init` with the init key and its own plan),
 * the sidecar, and an HAProxy Docker API proxy with its allowlist; once per host, the egress
 * network, and the seccomp profile and the agent script as locals. The agent script and Docker's default seccomp
 * profile are read from this repository's files, as a team would vendor them; the installer
 * program and the HAProxy configuration are written here. What it leaves out is exactly what
 * the library adds on top of the resources: validation, the topology model, the 3-2-1-1-0
 * compliance pack and its report.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamUserPolicyAttachment } from '@cdktf/provider-aws/lib/iam-user-policy-attachment';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3AccountPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-account-public-access-block';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { S3BucketObjectLockConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketReplicationConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-replication-configuration';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { Container } from '@cdktf/provider-docker/lib/container';
import { Network } from '@cdktf/provider-docker/lib/network';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { Volume } from '@cdktf/provider-docker/lib/volume';
import { App, Fn, Lazy, TerraformLocal, TerraformProvider, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { agentScript as packagedAgentScript } from '../src/agent/agent-asset';

const RESTIC_IMAGE = 'restic/restic:0.17.3@sha256:8f5a62b422a2cb1277ea0dd6e826fe1acf649e5b9f02d60e5268d5fd1976255a';
const PROXY_IMAGE = 'haproxy:3.0.28-alpine@sha256:ed51796ef581b00aac83d547c7f76366bfe6660b7bec85c5059ca68123444d66';
const DUMP = ['pg_dumpall', '-U', 'postgres', '-f', '/var/lib/postgresql/data/dump.sql'];
const PRIMARY = 'eu-west-1';
const OFFSITE = 'eu-central-1';
const KEY_ADMIN = [
  'kms:CancelKeyDeletion', 'kms:CreateAlias', 'kms:DeleteAlias', 'kms:DescribeKey', 'kms:DisableKey',
  'kms:EnableKey', 'kms:EnableKeyRotation', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListGrants',
  'kms:ListKeyRotations', 'kms:ListResourceTags', 'kms:PutKeyPolicy', 'kms:RevokeGrant', 'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion', 'kms:TagResource', 'kms:UntagResource', 'kms:UpdateAlias', 'kms:UpdateKeyDescription',
];
const KEY_USE = [
  'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

/** The agent script, escaped for Terraform (`${` and `%{` are Terraform's own syntax). */
function agentScript(): string {
  const text = packagedAgentScript();
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/**
 * The installer's program: moves the staged agent, its plan and its secrets onto the install
 * volume with their final modes, deletes the staged copies whatever happens, keeps the local
 * disk's folder root-owned and 0700 with the repository inside (so nothing the sidecar writes
 * can run as root for another host user), and runs `restic init` (through the agent) with the
 * init key's plan. No `${` in it (Terraform would interpolate it); the disk folder comes in
 * as `$DISK` (replaced per container).
 */
const INSTALL_SCRIPT = `set -eu
umask 077
staging=/backup/staging
install=/backup/install
trap 'rm -rf "$staging"' EXIT
new="$install/.new"
rm -rf "$new"
mkdir -p "$new/bin" "$new/secrets"
cp "$staging/bin/backup-agent" "$new/bin/backup-agent"
chmod 0555 "$new/bin/backup-agent"
cp "$staging/agent.json" "$new/agent.json"
chmod 0444 "$new/agent.json"
for f in "$staging"/secrets/*; do
  [ -f "$f" ] || continue
  cp "$f" "$new/secrets/"
  chmod 0400 "$new/secrets/$(basename "$f")"
done
rm -rf "$install/bin" "$install/secrets"
mv "$new/bin" "$new/secrets" "$install/"
mv -f "$new/agent.json" "$install/agent.json"
rmdir "$new"
echo "backup agent installed: $(ls "$install/secrets" | wc -l) secret file(s)"
prepare_local_target() {
  owner=$(stat -c %u "$1")
  if [ "$owner" != 0 ]; then
    echo "install: the local target folder $2 is owned by uid $owner, not root; fix: chown root:root $2" >&2
    return 1
  fi
  chmod 0700 "$1"
  repo="$1/repository"
  if [ ! -e "$repo" ] && { [ -f "$1/config" ] || [ -d "$1/.moving" ]; }; then
    mkdir -p "$1/.moving"
    for entry in config data index keys locks snapshots; do
      if [ -e "$1/$entry" ]; then mv "$1/$entry" "$1/.moving/"; fi
    done
    mv "$1/.moving" "$repo"
    echo "install: moved the repository found in $2 into $2/repository"
  fi
  mkdir -p "$repo"
}
prepare_local_target /backup/target-folders/local "$DISK"
BACKUP_PLAN=/backup/staging/init-plan.json /bin/sh "$install/bin/backup-agent" init`;

/** Every value from `from` to `to`: a `*` cron field spelled out, as the agent's plan wants it. */
function every(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A schedule at one minute of one hour, on the given days of the week (Sunday 0), in the plan's terms. */
function schedule(expression: string, minute: number, hour: number, daysOfWeek: number[]) {
  return { expression, minutes: [minute], hours: [hour], daysOfMonth: every(1, 31), months: every(1, 12), daysOfWeek, bothDayFields: true };
}

/**
 * The agent's plan (docs/agent-contract.md, docs/agent-plan.schema.json) as the content of an
 * uploaded file. No user string here holds a `${` or `%{` to escape for Terraform; the
 * references (bucket names, key ids) are left for Terraform to substitute.
 */
function planFile(plan: object): string {
  return `${JSON.stringify(plan, null, 1)}\n`;
}

/**
 * The sidecar's seccomp profile: Docker's default profile (the engine's own file, vendored in
 * this repository) without `open_by_handle_at`, which CAP_DAC_READ_SEARCH would otherwise open
 * ("shocker").
 */
function seccompProfile(): string {
  const profile = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'src', 'docker', 'seccomp', 'docker-default-seccomp.json'), 'utf8'));
  const denied = 'open_by_handle_at';
  const syscalls = [];
  for (const rule of profile.syscalls) {
    if (rule.name) {
      if (rule.name !== denied) syscalls.push(rule);
      continue;
    }
    const names = (rule.names ?? []).filter((n: string) => n !== denied);
    if (names.length > 0) syscalls.push(names.length === rule.names.length ? rule : { ...rule, names });
  }
  return JSON.stringify({ ...profile, syscalls });
}

/**
 * The Docker API proxy's HAProxy configuration: ping, version and the exec trio for the one
 * container, each by method, anchored URL and SHA-256 of the exact body; 403 for the rest.
 */
function haproxyConfig(container: string, execBody: string): string {
  const sha = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex').toUpperCase();
  const v = '(/v1[.][0-9]{1,2})?';
  const routes: Array<[string, string, string, string]> = [
    ['ping', 'GET', '/_ping', ''],
    ['ping_head', 'HEAD', '/_ping', ''],
    ['version', 'GET', '/version', ''],
    ['exec_create', 'POST', `/containers/${container}/exec`, execBody],
    ['exec_start', 'POST', '/exec/[0-9a-f]{64}/start', '{"Detach":false,"Tty":false}'],
    ['exec_inspect', 'GET', '/exec/[0-9a-f]{64}/json', ''],
  ];
  const acls = routes.flatMap(([n, method, url, body]) => [
    `    acl m_${n} method ${method}`,
    `    acl u_${n} url -m reg '^${v}${url}$'`,
    `    acl b_${n} req.body,sha2(256),hex -m str ${sha(body)}`,
  ]);
  return `# The Docker API calls the backup sidecar of container ${container} may make (exec).
# Everything else is answered 403 here and never reaches Docker.
global
    maxconn 32
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout http-request 10s
    timeout client 660s
    timeout server 660s
    timeout tunnel 660s

frontend docker_api
    bind :2375
    option http-buffer-request
    http-request deny deny_status 403 if { req.hdr_cnt(upgrade) gt 0 }
${acls.join('\n')}
    http-request allow if ${routes.map(([n]) => `m_${n} u_${n} b_${n}`).join(' || ')}
    http-request deny deny_status 403
    default_backend docker

backend docker
    server docker /var/run/docker.sock
`;
}

type Statement = DataAwsIamPolicyDocumentStatement[];

function doc(scope: Construct, id: string, provider: TerraformProvider, statement: Statement): DataAwsIamPolicyDocument {
  return new DataAwsIamPolicyDocument(scope, id, { provider, version: '2012-10-17', statement });
}

function kmsKey(scope: Construct, id: string, provider: TerraformProvider, description: string): KmsKey {
  const key = new KmsKey(scope, id, {
    provider,
    description,
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    lifecycle: { preventDestroy: true },
  });
  const root = Fn.join(':', ['arn', Fn.element(Fn.split(':', key.arn), 1), 'iam', '', Fn.element(Fn.split(':', key.arn), 4), 'root']);
  const policy = doc(scope, `${id}-policy-document`, provider, [
    { sid: 'AccountAdministersKey', effect: 'Allow', actions: KEY_ADMIN, resources: ['*'], principals: [{ type: 'AWS', identifiers: [root] }] },
    { sid: 'AccountDelegatesKeyUseToIamPolicies', effect: 'Allow', actions: KEY_USE, resources: ['*'], principals: [{ type: 'AWS', identifiers: [root] }] },
  ]);
  new KmsKeyPolicy(scope, `${id}-policy`, { provider, keyId: key.keyId, policy: policy.json });
  return key;
}

interface BucketOptions {
  readonly prefix: string;
  readonly kmsKeyArn?: string;
  readonly lockDays?: number;
  readonly logsTo?: { bucket: string; prefix: string };
  readonly noncurrentDays: number;
  readonly expireDays?: number;
  readonly extraStatements?: (arn: string) => Statement;
}

function bucket(scope: Construct, id: string, provider: TerraformProvider, o: BucketOptions): { bucket: S3Bucket; versioning: S3BucketVersioningA; lock?: S3BucketObjectLockConfigurationA } {
  const b = new S3Bucket(scope, id, {
    provider,
    bucketPrefix: o.prefix,
    objectLockEnabled: o.lockDays !== undefined ? true : undefined,
    forceDestroy: false,
    lifecycle: { preventDestroy: true },
  });
  new S3BucketOwnershipControls(scope, `${id}-ownership`, { provider, bucket: b.id, rule: { objectOwnership: 'BucketOwnerEnforced' } });
  const pab = new S3BucketPublicAccessBlock(scope, `${id}-public-access-block`, {
    provider,
    bucket: b.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  const versioning = new S3BucketVersioningA(scope, `${id}-versioning`, { provider, bucket: b.id, versioningConfiguration: { status: 'Enabled' } });
  new S3BucketServerSideEncryptionConfigurationA(scope, `${id}-encryption`, {
    provider,
    bucket: b.id,
    rule: [
      o.kmsKeyArn
        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: o.kmsKeyArn }, bucketKeyEnabled: true }
        : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
    ],
  });
  const policy = doc(scope, `${id}-policy-document`, provider, [
    {
      sid: 'DenyInsecureTransport',
      effect: 'Deny',
      actions: ['s3:*'],
      resources: [b.arn, `${b.arn}/*`],
      principals: [{ type: '*', identifiers: ['*'] }],
      condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
    },
    ...(o.extraStatements?.(b.arn) ?? []),
  ]);
  new S3BucketPolicy(scope, `${id}-policy`, { provider, bucket: b.id, policy: policy.json, dependsOn: [pab] });
  if (o.logsTo) {
    new S3BucketLoggingA(scope, `${id}-logging`, { provider, bucket: b.id, targetBucket: o.logsTo.bucket, targetPrefix: o.logsTo.prefix });
  }
  let lock: S3BucketObjectLockConfigurationA | undefined;
  if (o.lockDays !== undefined) {
    lock = new S3BucketObjectLockConfigurationA(scope, `${id}-object-lock`, {
      provider,
      bucket: b.id,
      // Compliance mode: nobody, the root user included, can shorten or remove the lock.
      rule: { defaultRetention: { mode: 'COMPLIANCE', days: o.lockDays } },
      dependsOn: [versioning],
    });
  }
  new S3BucketLifecycleConfiguration(scope, `${id}-lifecycle`, {
    provider,
    bucket: b.id,
    dependsOn: [versioning],
    rule: [
      { id: 'abort-incomplete-multipart-uploads', status: 'Enabled', filter: [{}], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }] },
      {
        id: 'expire-noncurrent-versions',
        status: 'Enabled',
        filter: [{}],
        noncurrentVersionExpiration: [{ noncurrentDays: o.noncurrentDays }],
        expiration: o.expireDays !== undefined ? [{ days: o.expireDays }] : [{ expiredObjectDeleteMarker: true }],
      },
    ],
  });
  return { bucket: b, versioning, lock };
}

function logBucket(scope: Construct, id: string, provider: TerraformProvider, prefix: string, keyArn: string, sources: () => string[]): S3Bucket {
  return bucket(scope, id, provider, {
    prefix,
    noncurrentDays: 30,
    expireDays: 365,
    extraStatements: (arn) => [
      {
        sid: 'S3ServerAccessLogDelivery',
        effect: 'Allow',
        actions: ['s3:PutObject'],
        resources: [`${arn}/*`],
        principals: [{ type: 'Service', identifiers: ['logging.s3.amazonaws.com'] }],
        condition: [
          { test: 'StringEquals', variable: 'aws:SourceAccount', values: [Fn.element(Fn.split(':', keyArn), 4)] },
          // The logged bucket is made after its log bucket: resolve its ARN at synth.
          { test: 'ArnEquals', variable: 'aws:SourceArn', values: Lazy.listValue({ produce: sources }) },
        ],
      },
    ],
  }).bucket;
}

export function handWrittenApp(app: App, count: number): void {
  const script = agentScript();
  const storage = new TerraformStack(app, 'backup-storage');
  const aws = new AwsProvider(storage, 'aws', { region: PRIMARY, defaultTags: [{ tags: { 'managed-by': 'cdktf-container-backup' } }] });
  const offsite = new AwsProvider(storage, 'aws-offsite', { region: OFFSITE, alias: 'offsite-eu-central-1' });
  new S3AccountPublicAccessBlock(storage, 'account-public-access-block', {
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  const resticPassword = new TerraformVariable(storage, 'restic_password', {
    type: 'string',
    sensitive: true,
    nullable: false,
    description: 'Password of the restic repositories (encrypts every backup). Keep a copy outside this host.',
  });

  const host = new TerraformStack(app, 'db-host');
  new DockerProvider(host, 'docker', {});
  const postgresPassword = new TerraformVariable(host, 'postgres_password', {
    type: 'string',
    sensitive: true,
    description: 'Password of the postgres superuser.',
  });
  // One egress network, one seccomp profile and one agent script for all the sidecars of the host.
  const egress = new Network(host, 'backup-egress', {
    name: 'db-host-backup-egress',
    labels: [{ label: 'cdktf-container-backup.role', value: 'sidecar-egress' }],
  });
  const seccomp = new TerraformLocal(host, 'sidecar_seccomp', seccompProfile());
  const agent = new TerraformLocal(host, 'agent_script', script);

  for (let i = 1; i <= count; i++) {
    const name = `db${String(i).padStart(4, '0')}`;
    const s = new Construct(storage, name);

    // Primary bucket in eu-west-1, its key and its access-log bucket.
    const key = kmsKey(s, 'key', aws, `Encrypts the backup bucket ${name} (${PRIMARY})`);
    let primaryArn = '';
    const logs = logBucket(s, 'logs', aws, `${name}-logs-`, key.arn, () => [primaryArn]);
    // Uploads stay in S3 Standard with the bucket's own encryption: a Deny per header, each only
    // when the header is present (StringNotEquals alone is true for a request without it).
    const present = (header: string) => ({ test: 'Null', variable: `s3:x-amz-${header}`, values: ['false'] });
    const primary = bucket(s, 'primary', aws, {
      prefix: `${name}-backup-`,
      kmsKeyArn: key.arn,
      logsTo: { bucket: logs.id, prefix: 'primary/' },
      noncurrentDays: 372,
      extraStatements: (arn) => [
        ['DenyStorageClassesButStandard', [present('storage-class'), { test: 'StringNotEquals', variable: 's3:x-amz-storage-class', values: ['STANDARD'] }]],
        ['DenyCustomerProvidedKeys', [present('server-side-encryption-customer-algorithm')]],
        ['DenyPerRequestEncryption', [present('server-side-encryption')]],
        ['DenyPerRequestKmsKey', [present('server-side-encryption-aws-kms-key-id')]],
      ].map(([sid, condition]) => ({
        sid: sid as string,
        effect: 'Deny',
        actions: ['s3:PutObject'],
        resources: [`${arn}/*`],
        principals: [{ type: '*', identifiers: ['*'] }],
        condition: condition as any,
      })),
    });
    primaryArn = primary.bucket.arn;

    // Offsite replica in eu-central-1 with Object Lock, its key and access-log bucket.
    const replicaKey = kmsKey(s, 'replica-key', offsite, `Encrypts the offsite backup replica ${name} (${OFFSITE})`);
    let replicaArn = '';
    const replicaLogs = logBucket(s, 'replica-logs', offsite, `${name}-replica-logs-`, replicaKey.arn, () => [replicaArn]);
    const replica = bucket(s, 'replica', offsite, {
      prefix: `${name}-replica-`,
      kmsKeyArn: replicaKey.arn,
      lockDays: 400,
      logsTo: { bucket: replicaLogs.id, prefix: 'replica/' },
      noncurrentDays: 400,
    });
    replicaArn = replica.bucket.arn;

    // S3 replication primary -> replica.
    const trust = doc(s, 'replication-trust', aws, [
      { sid: 'S3AssumesReplicationRole', effect: 'Allow', actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['s3.amazonaws.com'] }] },
    ]);
    const role = new IamRole(s, 'replication-role', {
      provider: aws,
      namePrefix: 'backup-replication-',
      description: `S3 replication of ${name} to its offsite replica in ${OFFSITE}`,
      assumeRolePolicy: trust.json,
    });
    const replicationPermissions = doc(s, 'replication-permissions', aws, [
      { sid: 'ReadReplicationConfiguration', effect: 'Allow', actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resources: [primaryArn] },
      {
        sid: 'ReadSourceVersions',
        effect: 'Allow',
        actions: ['s3:GetObjectLegalHold', 's3:GetObjectRetention', 's3:GetObjectVersionAcl', 's3:GetObjectVersionForReplication', 's3:GetObjectVersionTagging'],
        resources: [`${primaryArn}/*`],
      },
      { sid: 'WriteReplicas', effect: 'Allow', actions: ['s3:ReplicateObject', 's3:ReplicateTags'], resources: [`${replicaArn}/*`] },
      {
        sid: 'DecryptSourceThroughS3',
        effect: 'Allow',
        actions: ['kms:Decrypt'],
        resources: [key.arn],
        condition: [
          { test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${PRIMARY}.amazonaws.com`] },
          { test: 'StringLike', variable: 'kms:EncryptionContext:aws:s3:arn', values: [primaryArn, `${primaryArn}/*`] },
        ],
      },
      {
        sid: 'EncryptReplicasThroughS3',
        effect: 'Allow',
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [replicaKey.arn],
        condition: [
          { test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${OFFSITE}.amazonaws.com`] },
          { test: 'StringLike', variable: 'kms:EncryptionContext:aws:s3:arn', values: [replicaArn, `${replicaArn}/*`] },
        ],
      },
    ]);
    new IamRolePolicy(s, 'replication-policy', { provider: aws, role: role.id, name: 'replicate-to-offsite', policy: replicationPermissions.json });
    new S3BucketReplicationConfigurationA(s, 'replication', {
      provider: aws,
      bucket: primary.bucket.id,
      role: role.arn,
      rule: [
        {
          id: 'offsite-copy',
          status: 'Enabled',
          priority: 1,
          filter: {},
          deleteMarkerReplication: { status: 'Disabled' },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
          destination: { bucket: replicaArn, storageClass: 'STANDARD', encryptionConfiguration: { replicaKmsKeyId: replicaKey.arn }, metrics: { status: 'Enabled' } },
        },
      ],
      dependsOn: [primary.versioning, replica.versioning, replica.lock!],
    });

    // The agent's IAM user, scoped to the container's prefix: it writes packs, indexes,
    // snapshots and locks, and may never rewrite the repository's config or keys.
    const listPrefix: DataAwsIamPolicyDocumentStatement = {
      sid: 'ListRepositoryPrefixes',
      effect: 'Allow',
      actions: ['s3:ListBucket'],
      resources: [primaryArn],
      condition: [{ test: 'StringLike', variable: 's3:prefix', values: [`${name}/*`] }],
    };
    const locate: DataAwsIamPolicyDocumentStatement = { sid: 'LocateBucket', effect: 'Allow', actions: ['s3:GetBucketLocation'], resources: [primaryArn] };
    const bucketKey: DataAwsIamPolicyDocumentStatement = {
      sid: 'UseBucketKeyThroughS3',
      effect: 'Allow',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [key.arn],
      condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${PRIMARY}.amazonaws.com`] }],
    };
    const folders = ['data', 'index', 'locks', 'snapshots'].map((f) => `${primaryArn}/${name}/${f}/*`);
    const keyMaterial = [`${primaryArn}/${name}/config`, `${primaryArn}/${name}/keys/*`];
    const agentPermissions = doc(s, 'agent-permissions', aws, [
      listPrefix,
      locate,
      { sid: 'ReadRepositories', effect: 'Allow', actions: ['s3:GetObject'], resources: [`${primaryArn}/${name}/*`] },
      { sid: 'WriteDataIndexSnapshotsLocks', effect: 'Allow', actions: ['s3:AbortMultipartUpload', 's3:PutObject'], resources: folders },
      { sid: 'DeleteWhereLocksAndPruneNeed', effect: 'Allow', actions: ['s3:DeleteObject'], resources: folders },
      { sid: 'DenyRewritingConfigAndKeys', effect: 'Deny', actions: ['s3:DeleteObject', 's3:PutObject'], resources: keyMaterial },
      bucketKey,
      { sid: 'ListReplicaPrefixes', effect: 'Allow', actions: ['s3:ListBucket'], resources: [replicaArn], condition: [{ test: 'StringLike', variable: 's3:prefix', values: [`${name}/*`] }] },
      { sid: 'LocateReplica', effect: 'Allow', actions: ['s3:GetBucketLocation'], resources: [replicaArn] },
      { sid: 'ReadReplicaRepositories', effect: 'Allow', actions: ['s3:GetObject'], resources: [`${replicaArn}/${name}/*`] },
      {
        sid: 'DecryptReplicaThroughS3',
        effect: 'Allow',
        actions: ['kms:Decrypt'],
        resources: [replicaKey.arn],
        condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${OFFSITE}.amazonaws.com`] }],
      },
    ]);
    const user = new IamUser(s, 'agent-user', { provider: aws, name: `backup-agent-${name}`, path: '/cdktf-container-backup/' });
    // Managed, not inline: a user's inline policies share 2,048 characters, this one is longer.
    const agentPolicy = new IamPolicy(s, 'agent-user-policy', { provider: aws, name: `backup-agent-${name}`, path: '/cdktf-container-backup/', description: `restic backup agent for ${name}`, policy: agentPermissions.json });
    new IamUserPolicyAttachment(s, 'agent-user-policy-attachment', { provider: aws, user: user.name, policyArn: agentPolicy.arn });
    const accessKey = new IamAccessKey(s, 'agent-access-key', { provider: aws, user: user.name });

    // The initializer's IAM user: creates config and keys (restic init) and nothing else. Its
    // key goes to the one-shot installer only.
    // Its key works for 24 hours after its creation (every grant holds only until then).
    const initUser = new IamUser(s, 'init-user', { provider: aws, name: `restic-init-${name}`, path: '/cdktf-container-backup/' });
    const initKey = new IamAccessKey(s, 'init-access-key', { provider: aws, user: initUser.name });
    const initExpiry = Fn.timeadd(initKey.createDate, '24h');
    const initExpiresAt = new TerraformLocal(s, 'init-key-expires-at', initExpiry);
    const withinWindow = { test: 'DateLessThan', variable: 'aws:CurrentTime', values: [initExpiry] };
    const initPermissions = doc(s, 'init-permissions', aws, [
      listPrefix,
      locate,
      { sid: 'CreateConfigAndKeys', effect: 'Allow', actions: ['s3:GetObject', 's3:PutObject'], resources: keyMaterial },
      bucketKey,
    ].map((st: any) => ({ ...st, condition: [...(st.condition ?? []), withinWindow] })));
    const initPolicy = new IamPolicy(s, 'init-user-policy', { provider: aws, name: `restic-init-${name}`, path: '/cdktf-container-backup/', description: `restic init of ${name}`, policy: initPermissions.json });
    new IamUserPolicyAttachment(s, 'init-user-policy-attachment', { provider: aws, user: initUser.name, policyArn: initPolicy.arn });

    // The repository password in escrow, offsite.
    const escrow = new SsmParameter(s, 'escrow', {
      provider: offsite,
      name: `/cdktf-container-backup/backup-storage/${name}/restic-password`,
      description: `restic repository password of ${name}, escrowed offsite`,
      type: 'SecureString',
      tier: 'Standard',
      keyId: replicaKey.arn,
      value: resticPassword.stringValue,
      lifecycle: { preventDestroy: true },
    });

    // The Docker host: Postgres and its volume, the Docker API proxy on its internal network,
    // the one-shot installer that puts the agent and its secrets on the install volume (the
    // sidecar's root is read-only, and the provider uploads through `/`), and the sidecar.
    const h = new Construct(host, name);
    const pgdata = new Volume(h, 'pgdata', {
      name: `${name}-pgdata`,
      labels: [{ label: 'cdktf-container-backup.protected-by', value: `${name}-backup` }],
      lifecycle: { preventDestroy: true },
    });
    new Container(h, 'app', {
      name,
      image: 'postgres:16',
      env: [`POSTGRES_PASSWORD=${postgresPassword.stringValue}`],
      restart: 'unless-stopped',
      mustRun: true,
      ports: [],
      mounts: [{ type: 'volume', source: pgdata.name, target: '/var/lib/postgresql/data' }],
      networksAdvanced: [],
      labels: [{ label: 'cdktf-container-backup.role', value: 'protected' }],
    });
    const protects = [{ label: 'cdktf-container-backup.protects', value: name }];
    const state = new Volume(h, 'state', { name: `${name}-backup-state`, labels: protects });
    const install = new Volume(h, 'install', { name: `${name}-backup-install`, labels: protects });

    const execBody = JSON.stringify({ Cmd: DUMP, AttachStdout: true, AttachStderr: true });
    const network = new Network(h, 'docker-api-network', { name: `${name}-backup-docker-api`, internal: true, labels: protects });
    new Container(h, 'docker-api', {
      name: `${name}-backup-docker-api`,
      image: PROXY_IMAGE,
      user: '0:0',
      entrypoint: ['/bin/sh', '-c', `umask 077 && printf '%s' "$HAPROXY_CONFIG" > /tmp/haproxy.cfg && exec haproxy -db -f /tmp/haproxy.cfg`],
      env: [`HAPROXY_CONFIG=${haproxyConfig(name, execBody)}`],
      restart: 'unless-stopped',
      mustRun: true,
      readOnly: true,
      securityOpts: ['no-new-privileges:true'],
      capabilities: { drop: ['ALL'] },
      tmpfs: { '/tmp': 'rw,nosuid,nodev,noexec,size=1m', '/run': 'rw,nosuid,nodev,noexec,size=1m' },
      networkMode: network.name,
      volumes: [{ hostPath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock', readOnly: true }],
      labels: [{ label: 'cdktf-container-backup.role', value: 'docker-api-proxy' }, ...protects],
    });

    const repository = `s3:https://s3.${PRIMARY}.amazonaws.com/${primary.bucket.id}/${name}`;
    const replicaRepository = `s3:https://s3.${OFFSITE}.amazonaws.com/${replica.bucket.id}/${name}`;
    const passwordFile = '/backup/install/secrets/repository-password';
    // What the sidecar's plan and the installer's init plan share; `quiesce` and `targets` differ.
    const plan = (networkTimeoutSeconds: number, quiesce: object, targets: object[]) => ({
      schemaVersion: 1,
      host: name,
      sources: [`/backup/sources/${name}-pgdata`],
      tags: ['cdktf-container-backup', name],
      timeZone: 'UTC',
      stateDir: '/backup/agent',
      restoreDir: '/backup/agent/restore',
      drillDir: '/backup/agent/drill',
      cacheDir: '/backup/agent/cache',
      networkTimeoutSeconds,
      healthMaxAgeSeconds: 172800,
      runOnStart: false,
      manifest: { enabled: true, keep: 100 },
      schedule: schedule('0 2 * * *', 0, 2, every(0, 6)),
      pruneSchedule: schedule('0 4 * * 0', 0, 4, [0]),
      retention: ['--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12'],
      verification: { readDataSubsets: 28, readAllDataWithinDays: 28, drillSchedule: schedule('0 5 * * 0', 0, 5, [0]) },
      quiesce: { mode: 'none', container: null, dockerApi: null, timeoutSeconds: 0, onError: 'abort', releaseAttempts: 6, command: [], execBody: null, ...quiesce },
      notify: null,
      targets,
    });
    const s3 = (key: string, secretFile: string) => ({
      name: 's3',
      repository,
      passwordFile,
      environment: { AWS_DEFAULT_REGION: PRIMARY, AWS_ACCESS_KEY_ID: key },
      secretFiles: { AWS_SECRET_ACCESS_KEY: secretFile },
      caCertificateFile: null,
      appendOnly: false,
    });
    const agentPlan = plan(
      21600,
      { mode: 'exec', container: name, dockerApi: `http://${name}-backup-docker-api:2375`, timeoutSeconds: 600, command: DUMP, execBody },
      [
        { name: 'local', repository: '/backup/targets/local', passwordFile, environment: {}, secretFiles: {}, caCertificateFile: null, appendOnly: false, replicas: [] },
        {
          ...s3(accessKey.id, '/backup/install/secrets/target-2-aws-secret-access-key'),
          replicas: [
            {
              name: 's3-offsite',
              repository: replicaRepository,
              passwordFile,
              environment: { AWS_DEFAULT_REGION: OFFSITE, AWS_ACCESS_KEY_ID: accessKey.id },
              secretFiles: { AWS_SECRET_ACCESS_KEY: '/backup/install/secrets/target-2-replica-1-aws-secret-access-key' },
              caCertificateFile: null,
            },
          ],
        },
      ],
    );
    // The installer initialises the S3 repository with the init key (restic init), and a plan of its own.
    const initPlan = plan(300, {}, [{
      ...s3(accessKey.id, '/backup/install/secrets/target-2-aws-secret-access-key'),
      replicas: [],
      init: {
        environment: { AWS_ACCESS_KEY_ID: initKey.id },
        secretFiles: { AWS_SECRET_ACCESS_KEY: '/backup/staging/init-secrets/target-1-aws-secret-access-key' },
        validUntil: initExpiresAt.asString,
        renewal: null,
      },
    }]);
    const installer = new Container(h, 'installer', {
      name: `${name}-backup-install`,
      image: RESTIC_IMAGE,
      entrypoint: ['/bin/sh', '-c', INSTALL_SCRIPT.replace('"$DISK"', `'/mnt/backup-disk/${name}'`)],
      attach: true,
      mustRun: false,
      restart: 'no',
      readOnly: false,
      networksAdvanced: [{ name: egress.name }],
      securityOpts: ['no-new-privileges:true'],
      capabilities: { drop: ['ALL'] },
      mounts: [{ type: 'volume', source: install.name, target: '/backup/install' }],
      volumes: [{ hostPath: `/mnt/backup-disk/${name}`, containerPath: '/backup/target-folders/local' }],
      upload: [
        { file: '/backup/staging/bin/backup-agent', content: agent.asString, permissions: '0555' },
        { file: '/backup/staging/agent.json', content: planFile(agentPlan), permissions: '0444' },
        { file: '/backup/staging/secrets/repository-password', content: escrow.value, permissions: '0400' },
        { file: '/backup/staging/secrets/target-2-aws-secret-access-key', content: accessKey.secret, permissions: '0400' },
        { file: '/backup/staging/secrets/target-2-replica-1-aws-secret-access-key', content: accessKey.secret, permissions: '0400' },
        { file: '/backup/staging/init-secrets/target-1-aws-secret-access-key', content: initKey.secret, permissions: '0400' },
        { file: '/backup/staging/init-plan.json', content: planFile(initPlan), permissions: '0400' },
      ],
      labels: [{ label: 'cdktf-container-backup.role', value: 'backup-agent-installer' }, ...protects],
      // the provider does not fail on an attach container's exit code: the deploy must
      lifecycle: {
        postcondition: [
          {
            condition: '${self.exit_code == 0}',
            errorMessage: `${name}-backup-install exited with an error. Fix: read \`docker logs ${name}-backup-install\`, fix the cause and apply again.`,
          },
        ],
      },
    });
    new Container(h, 'backup', {
      dependsOn: [installer, pgdata],
      name: `${name}-backup`,
      hostname: `${name}-backup`,
      image: RESTIC_IMAGE,
      entrypoint: ['/bin/sh', '/backup/install/bin/backup-agent'],
      command: ['daemon'],
      // Everything else the agent is told is in its plan.
      env: ['BACKUP_PLAN=/backup/install/agent.json'],
      restart: 'unless-stopped',
      mustRun: true,
      readOnly: true,
      securityOpts: ['no-new-privileges:true', `seccomp=${seccomp.asString}`],
      capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
      tmpfs: { '/tmp': 'rw,nosuid,nodev,size=512m' },
      logDriver: 'json-file',
      logOpts: { 'max-size': '10m', 'max-file': '5' },
      networksAdvanced: [{ name: egress.name }, { name: network.name }],
      mounts: [
        { type: 'volume', source: state.name, target: '/backup/agent' },
        { type: 'volume', source: install.name, target: '/backup/install', readOnly: true },
        { type: 'volume', source: `${name}-pgdata`, target: `/backup/sources/${name}-pgdata`, readOnly: true },
      ],
      volumes: [{ hostPath: `/mnt/backup-disk/${name}/repository`, containerPath: '/backup/targets/local' }],
      healthcheck: {
        test: ['CMD', '/bin/sh', '/backup/install/bin/backup-agent', 'health'],
        interval: '60s',
        timeout: '10s',
        retries: 3,
        startPeriod: '120s',
      },
      labels: [
        { label: 'cdktf-container-backup.role', value: 'backup-sidecar' },
        ...protects,
        { label: 'cdktf-container-backup.schedule', value: '0 2 * * *' },
      ],
      // A new installer (new agent or secret) restarts the sidecar. A bare address.
      lifecycle: { replaceTriggeredBy: [`${installer.terraformResourceType}.${installer.friendlyUniqueId}`] },
    });
  }
}
