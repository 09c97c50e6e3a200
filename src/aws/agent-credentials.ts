import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { IamUserPolicyAttachment } from '@cdktf/provider-aws/lib/iam-user-policy-attachment';
import { Fn, TerraformLocal, TerraformProvider, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigurationError, show } from '../core/configuration-error';
import { checkPrefix } from '../targets/repository-prefix';
import { outOfRange } from '../core/validation';
import type { IBackupBucket } from './backup-bucket';
import { Statement, policyDocument, serviceTrustPolicy } from './policy-document';
import { holdsSecretsInState } from './state-backend';
import { uploadBounds } from './upload-bounds';

/** How the backup agent proves who it is to AWS. */
export enum AgentIdentity {
  /**
   * An IAM user with an access key, for Docker hosts outside AWS. The secret key reaches the
   * sidecar as a file (never as an environment variable), and is sensitive in Terraform.
   */
  ACCESS_KEY = 'access-key',
  /**
   * An IAM role with an instance profile, for Docker hosts on EC2: attach the profile to the
   * instance, and let the sidecar reach the instance metadata service (IMDSv2 needs
   * `http_put_response_hop_limit = 2` for a container on a bridge network).
   */
  INSTANCE_PROFILE = 'instance-profile',
}

/** Properties of `AgentCredentials`. */
export interface AgentCredentialsProps {
  /** The bucket the agent backs up to. */
  readonly bucket: IBackupBucket;
  /**
   * The containers whose repositories these credentials reach: each container's repository is
   * the prefix `<containerName>/` of the bucket, and nothing outside those prefixes is granted.
   */
  readonly containerNames: string[];
  /**
   * The kind of identity.
   * @default AgentIdentity.ACCESS_KEY
   */
  readonly identity?: AgentIdentity;
  /**
   * The AWS provider that creates the IAM resources.
   * @default - the stack's default AWS provider
   */
  readonly provider?: TerraformProvider;
  /**
   * Hours the initializer's access key works after it was created (ACCESS_KEY only): every
   * grant of its policy holds only while `aws:CurrentTime` is before the key's `create_date`
   * plus this window, so a key left in two stacks' state is useless afterwards. The host
   * stack's first deploy must run within the window; later installs open existing
   * repositories with the agent's own key and need the initializer's no more. Renew it with
   * `terraform apply -replace=<the key's address>` in this stack (`initKeyRenewal`).
   * @default 24
   */
  readonly initKeyValidityHours?: number;
}

/** The initializer key's validity window: long enough for a pipeline, short for a credential. */
const INIT_KEY_VALIDITY_HOURS = { default: 24, min: 1, max: 720 };

/**
 * restic's folders the long-running agent writes to: packs (`data/`), indexes, snapshots and
 * locks. `restic forget`/`prune` delete from `data/`, `index/` and `snapshots/`, and every
 * command removes its own lock from `locks/`, so these are also the folders it may delete in.
 * `config` and `keys/` are written once, by `restic init`, and never by the agent.
 */
const AGENT_FOLDERS = ['data', 'index', 'locks', 'snapshots'];

/**
 * The S3 calls `restic init` makes on the s3 backend (restic internal/backend/s3/s3.go
 * `Create`, internal/repository/repository.go `Init`): `BucketExists` (HeadBucket, which needs
 * s3:ListBucket; restic treats AccessDenied as "exists"), `Stat` of `config` (GetObject; a
 * missing object answers 404 rather than 403 only with s3:ListBucket), `List` of `keys/` and
 * `snapshots/` (refuses to initialise over an existing repository), then `Save` of
 * `keys/<id>` and of `config` (PutObject).
 */
const INIT_ACTIONS = ['s3:GetObject', 's3:PutObject'];

/**
 * Least-privilege AWS identities for the backup agent of one or more containers.
 *
 * The **agent** identity (the long-running sidecar's): on the bucket, list within the
 * containers' prefixes, get objects there, put objects only in `data/`, `index/`,
 * `snapshots/` and `locks/`, and delete only in those folders (restic's lock handling and
 * prune); an explicit Deny of `s3:PutObject` and `s3:DeleteObject` on `<prefix>/config` and
 * `<prefix>/keys/*`, so a compromised sidecar cannot replace the repository's key material
 * (which replication would carry offsite as the new current version). Never
 * `s3:DeleteObjectVersion`, so every deletion leaves the noncurrent version behind for the
 * lifecycle window; KMS data keys through S3 only. On the offsite replica: list and get within
 * the same prefixes and decrypt through S3, nothing else. No action and no resource is `*`.
 *
 * The **initializer** identity (ACCESS_KEY only): its own IAM user and access key that may
 * only list the prefixes and get and put `<prefix>/config` and `<prefix>/keys/*`: what
 * `restic init` needs, and only for `initKeyValidityHours` after the key was created. Its key
 * goes to a one-shot init container at deploy time
 * (`StorageTargetConfig.initEnvironment`/`initSecrets`), never to the long-running sidecar.
 *
 * For a bucket whose policy does not bound uploads (`IBackupBucket.boundsUploads`, false for
 * `BackupBucket.fromAttributes`), both identities also get a managed policy that denies uploads
 * outside S3 Standard and the bucket's own encryption.
 *
 * With INSTANCE_PROFILE there is no initializer: the role is denied the same writes, and an
 * operator initialises each repository once, before the first backup, with credentials of
 * their own (`restic -r s3:https://s3.<region>.amazonaws.com/<bucket>/<prefix> init`, see
 * docs/security.md).
 */
export class AgentCredentials extends Construct {
  /**
   * The credentials `StorageTarget.s3(bucket)` uses for a container when none are given: an
   * access key scoped to the container's prefix, created once in the bucket's stack.
   */
  public static forContainer(bucket: IBackupBucket, containerName: string): AgentCredentials {
    const id = `agent-${containerName}`;
    const existing = bucket.node.tryFindChild(id);
    if (existing instanceof AgentCredentials) {
      return existing;
    }
    const provider = (bucket as { bucket?: { provider?: TerraformProvider } }).bucket?.provider;
    return new AgentCredentials(bucket, id, { bucket, containerNames: [containerName], provider });
  }

  /** The bucket these credentials reach. */
  public readonly bucket: IBackupBucket;
  /** The repository prefixes granted (one per container name). */
  public readonly prefixes: string[];
  /** The kind of identity. */
  public readonly identity: AgentIdentity;
  /** The IAM user (ACCESS_KEY). */
  public readonly user?: IamUser;
  /** The user's access key (ACCESS_KEY). */
  public readonly accessKey?: IamAccessKey;
  /** The role (INSTANCE_PROFILE). */
  public readonly role?: IamRole;
  /** The instance profile to attach to the EC2 instance (INSTANCE_PROFILE). */
  public readonly instanceProfile?: IamInstanceProfile;
  /** The access key id (ACCESS_KEY), a Terraform reference. */
  public readonly accessKeyId?: string;
  /** The secret access key (ACCESS_KEY), a sensitive Terraform reference. */
  public readonly secretAccessKey?: string;
  /** The initializer's IAM user, which may only create `config` and `keys/` (ACCESS_KEY). */
  public readonly initUser?: IamUser;
  /** The initializer's access key (ACCESS_KEY). */
  public readonly initAccessKey?: IamAccessKey;
  /**
   * The initializer's access key id (ACCESS_KEY), a Terraform reference: for the one-shot
   * container that runs `restic init`, never for the long-running sidecar.
   */
  public readonly initAccessKeyId?: string;
  /** The initializer's secret access key (ACCESS_KEY), a sensitive Terraform reference. */
  public readonly initSecretAccessKey?: string;
  /** Hours the initializer's key works after it was created (ACCESS_KEY). */
  public readonly initKeyValidityHours?: number;
  /**
   * When the initializer's key stops working (ACCESS_KEY): its `create_date` plus
   * `initKeyValidityHours`, RFC 3339, a Terraform expression known after apply.
   */
  public readonly initKeyExpiresAt?: string;
  /** How to renew the initializer's key once it expired (ACCESS_KEY): one sentence with the command. */
  public readonly initKeyRenewal?: string;

  constructor(scope: Construct, id: string, props: AgentCredentialsProps) {
    super(scope, id);
    const where = this.node.path;
    if (props.containerNames.length === 0) {
      throw credentialsDoNotCover(where, '(none)', []);
    }
    for (const name of props.containerNames) {
      checkPrefix(where, name);
    }
    const hours = props.initKeyValidityHours ?? INIT_KEY_VALIDITY_HOURS.default;
    if (!Number.isInteger(hours) || hours < INIT_KEY_VALIDITY_HOURS.min || hours > INIT_KEY_VALIDITY_HOURS.max) {
      throw outOfRange(where, 'initKeyValidityHours', hours, INIT_KEY_VALIDITY_HOURS.min, INIT_KEY_VALIDITY_HOURS.max);
    }
    this.bucket = props.bucket;
    this.prefixes = [...new Set(props.containerNames)];
    this.identity = props.identity ?? AgentIdentity.ACCESS_KEY;
    const provider = props.provider;
    const document = policyDocument(this, 'permissions', agentStatements(props.bucket, this.prefixes), provider);
    // The construct address keeps names unique when several stacks share an account.
    const name = iamName(`backup-agent-${this.node.addr.slice(0, 8)}-${this.prefixes.join('-')}`);

    if (this.identity === AgentIdentity.INSTANCE_PROFILE) {
      const trust = serviceTrustPolicy(this, 'trust', 'Ec2AssumesAgentRole', 'ec2.amazonaws.com', provider);
      this.role = new IamRole(this, 'role', {
        provider,
        name,
        path: '/cdktf-container-backup/',
        description: `restic backup agent for ${this.prefixes.join(', ')} on EC2`,
        assumeRolePolicy: trust.json,
      });
      new IamRolePolicy(this, 'role-policy', { provider, role: this.role.id, name: 'backup-agent', policy: document.json });
      this.instanceProfile = new IamInstanceProfile(this, 'instance-profile', {
        provider,
        name,
        path: '/cdktf-container-backup/',
        role: this.role.name,
      });
    } else {
      this.user = new IamUser(this, 'user', {
        provider,
        name,
        path: '/cdktf-container-backup/',
      });
      attachManagedPolicy(this, 'user-policy', { provider, user: this.user.name, name, description: `restic backup agent for ${this.prefixes.join(', ')}`, document: document.json });
      this.accessKey = new IamAccessKey(this, 'access-key', { provider, user: this.user.name });
      this.accessKeyId = this.accessKey.id;
      this.secretAccessKey = this.accessKey.secret;

      this.initKeyValidityHours = hours;
      const initName = iamName(`restic-init-${this.node.addr.slice(0, 8)}-${this.prefixes.join('-')}`);
      this.initUser = new IamUser(this, 'init-user', {
        provider,
        name: initName,
        path: '/cdktf-container-backup/',
      });
      const initKey = new IamAccessKey(this, 'init-access-key', { provider, user: this.initUser.name });
      this.initAccessKey = initKey;
      this.initAccessKeyId = initKey.id;
      this.initSecretAccessKey = initKey.secret;
      // The key's own creation time starts the window, so `-replace` of the key restarts it. A
      // local of this stack, so that another stack reads the time (one output), not the formula.
      const expiresAt = Fn.timeadd(initKey.createDate, `${hours}h`);
      this.initKeyExpiresAt = new TerraformLocal(this, 'init-key-expires-at', expiresAt).asString;
      // The key's address is fixed once its attributes are read (cdktf: no overrideLogicalId after).
      const stack = TerraformStack.of(this).node.id;
      this.initKeyRenewal = `terraform -chdir=cdktf.out/stacks/${stack} apply -replace=aws_iam_access_key.${initKey.friendlyUniqueId} (stack ${stack}: a new key, valid for ${hours} h), then deploy the Docker host's stack again`;
      const initDocument = policyDocument(
        this,
        'init-permissions',
        initializerStatements(props.bucket, this.prefixes, expiresAt),
        provider,
      );
      attachManagedPolicy(this, 'init-user-policy', {
        provider,
        user: this.initUser.name,
        name: initName,
        description: `restic init of ${this.prefixes.join(', ')}, for ${hours} h from its key's creation`,
        document: initDocument.json,
      });
      holdsSecretsInState(this, 'the secret access keys of the agent and the initializer (aws_iam_access_key)');
    }

    if (!props.bucket.boundsUploads) {
      this.boundUploads(provider);
    }
  }

  /**
   * The bucket's policy does not refuse uploads outside S3 Standard and the bucket's own
   * encryption (a bucket made elsewhere), so these identities refuse them themselves
   * (src/aws/upload-bounds.ts). A managed policy rather than more inline statements: a user's
   * inline policies share 2,048 characters in all, a managed policy has 6,144 (IAM quotas).
   */
  private boundUploads(provider?: TerraformProvider): void {
    const arn = this.bucket.bucketArn;
    const document = policyDocument(this, 'upload-bounds', uploadBounds(this.prefixes.map((p) => `${arn}/${p}/*`), false), provider);
    const policy = new IamPolicy(this, 'upload-bounds-policy', {
      provider,
      namePrefix: 'backup-upload-bounds-',
      path: '/cdktf-container-backup/',
      description: `Uploads to ${this.prefixes.join(', ')} stay in S3 Standard with the bucket's own encryption`,
      policy: document.json,
    });
    if (this.role) {
      new IamRolePolicyAttachment(this, 'role-upload-bounds', { provider, role: this.role.name, policyArn: policy.arn });
    }
    if (this.user) {
      new IamUserPolicyAttachment(this, 'user-upload-bounds', { provider, user: this.user.name, policyArn: policy.arn });
    }
    if (this.initUser) {
      new IamUserPolicyAttachment(this, 'init-user-upload-bounds', { provider, user: this.initUser.name, policyArn: policy.arn });
    }
  }

  /** Whether the repository at `prefix` is within these credentials. */
  public covers(prefix: string): boolean {
    return this.prefixes.includes(prefix);
  }
}

function agentStatements(bucket: IBackupBucket, prefixes: string[]): Statement[] {
  const arn = bucket.bucketArn;
  const statements: Statement[] = [
    ...listAndLocate(arn, prefixes),
    {
      sid: 'ReadRepositories',
      actions: ['s3:GetObject'],
      resources: prefixes.map((p) => `${arn}/${p}/*`),
    },
    {
      sid: 'WriteDataIndexSnapshotsLocks',
      actions: ['s3:AbortMultipartUpload', 's3:PutObject'],
      resources: agentFolders(arn, prefixes),
    },
    {
      sid: 'DeleteWhereLocksAndPruneNeed',
      actions: ['s3:DeleteObject'],
      resources: agentFolders(arn, prefixes),
    },
    {
      sid: 'DenyRewritingConfigAndKeys',
      effect: 'Deny',
      actions: ['s3:DeleteObject', 's3:PutObject'],
      resources: keyMaterial(arn, prefixes),
    },
  ];
  statements.push(...useBucketKey(bucket));
  const replica = bucket.offsiteCopy;
  if (replica) {
    statements.push(
      {
        sid: 'ListReplicaPrefixes',
        actions: ['s3:ListBucket'],
        resources: [replica.bucketArn],
        conditions: [{ test: 'StringLike', variable: 's3:prefix', values: prefixes.map((p) => `${p}/*`) }],
      },
      { sid: 'LocateReplica', actions: ['s3:GetBucketLocation'], resources: [replica.bucketArn] },
      {
        sid: 'ReadReplicaRepositories',
        actions: ['s3:GetObject'],
        resources: prefixes.map((p) => `${replica.bucketArn}/${p}/*`),
      },
    );
    if (replica.kmsKeyArn !== undefined) {
      statements.push({
        sid: 'DecryptReplicaThroughS3',
        actions: ['kms:Decrypt'],
        resources: [replica.kmsKeyArn],
        conditions: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${replica.region}.amazonaws.com`] }],
      });
    }
  }
  return statements;
}

/**
 * The initializer's grants, each only before `expiresAt`: `aws:CurrentTime` is in every
 * request's context (IAM User Guide, "AWS global condition context keys"), and a condition
 * operator added to a statement is ANDed with the others there (IAM, "Conditions with multiple
 * context keys or values"). After the window the key still exists but is allowed nothing.
 */
function initializerStatements(bucket: IBackupBucket, prefixes: string[], expiresAt: string): Statement[] {
  const arn = bucket.bucketArn;
  const statements: Statement[] = [
    ...listAndLocate(arn, prefixes),
    { sid: 'CreateConfigAndKeys', actions: INIT_ACTIONS, resources: keyMaterial(arn, prefixes) },
    ...useBucketKey(bucket),
  ];
  const withinWindow = { test: 'DateLessThan', variable: 'aws:CurrentTime', values: [expiresAt] };
  return statements.map((s) => ({ ...s, conditions: [...(s.conditions ?? []), withinWindow] }));
}

/** Listing the repositories' prefixes and finding the bucket's region: what every restic run needs. */
function listAndLocate(arn: string, prefixes: string[]): Statement[] {
  return [
    {
      sid: 'ListRepositoryPrefixes',
      actions: ['s3:ListBucket'],
      resources: [arn],
      conditions: [{ test: 'StringLike', variable: 's3:prefix', values: prefixes.map((p) => `${p}/*`) }],
    },
    { sid: 'LocateBucket', actions: ['s3:GetBucketLocation'], resources: [arn] },
  ];
}

/** The bucket's KMS key, through S3 only. */
function useBucketKey(bucket: IBackupBucket): Statement[] {
  if (bucket.kmsKeyArn === undefined) {
    return [];
  }
  return [
    {
      sid: 'UseBucketKeyThroughS3',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [bucket.kmsKeyArn],
      conditions: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${bucket.region}.amazonaws.com`] }],
    },
  ];
}

function agentFolders(arn: string, prefixes: string[]): string[] {
  return prefixes.flatMap((p) => AGENT_FOLDERS.map((folder) => `${arn}/${p}/${folder}/*`));
}

/** The repository's key material: `config` and every key file. */
function keyMaterial(arn: string, prefixes: string[]): string[] {
  return prefixes.flatMap((p) => [`${arn}/${p}/config`, `${arn}/${p}/keys/*`]);
}

/** IAM user and role names: at most 64 of `[\w+=,.@-]`. */
function iamName(name: string): string {
  return name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** Thrown here and by StorageTarget.s3 when credentials do not cover a target's prefix. */
export function credentialsDoNotCover(where: string, prefix: string, covered: string[]): ConfigurationError {
  return new ConfigurationError(
    where,
    `the agent credentials are scoped to the prefixes ${show(covered)} and do not cover ${show(prefix)}, so restic would be denied access to its repository`,
    `add ${show(prefix)} to the AgentCredentials' \`containerNames\`, or leave \`credentials\` unset to create credentials for this container`,
  );
}

/**
 * A user's permissions as a managed policy attached to it, not an inline one: a user's inline
 * policies share 2,048 characters in all (IAM quotas), and the agent's document for one
 * container is about 2,470 (the apply would fail with LimitExceeded); a managed policy may
 * have 6,144 (test/aws/policy-size.test.ts holds each document well within it).
 */
function attachManagedPolicy(
  scope: Construct,
  id: string,
  options: { provider?: TerraformProvider; user: string; name: string; description: string; document: string },
): void {
  const policy = new IamPolicy(scope, id, {
    provider: options.provider,
    name: options.name,
    path: '/cdktf-container-backup/',
    description: options.description,
    policy: options.document,
  });
  new IamUserPolicyAttachment(scope, `${id}-attachment`, { provider: options.provider, user: options.user, policyArn: policy.arn });
}
