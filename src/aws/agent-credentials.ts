import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { IamUserPolicy } from '@cdktf/provider-aws/lib/iam-user-policy';
import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigurationError, show } from '../configuration-error';
import { checkPrefix } from '../targets/repository-prefix';
import type { IBackupBucket } from './backup-bucket';
import { Statement, policyDocument, serviceTrustPolicy } from './policy-document';
import { holdsSecretsInState } from './state-backend';

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
}

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
 * `restic init` needs. Its key goes to a one-shot init container at deploy time
 * (`StorageTargetConfig.initEnvironment`/`initSecrets`), never to the long-running sidecar.
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

  constructor(scope: Construct, id: string, props: AgentCredentialsProps) {
    super(scope, id);
    const where = this.node.path;
    if (props.containerNames.length === 0) {
      throw credentialsDoNotCover(where, '(none)', []);
    }
    for (const name of props.containerNames) {
      checkPrefix(where, name);
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
      new IamUserPolicy(this, 'user-policy', { provider, user: this.user.name, name: 'backup-agent', policy: document.json });
      this.accessKey = new IamAccessKey(this, 'access-key', { provider, user: this.user.name });
      this.accessKeyId = this.accessKey.id;
      this.secretAccessKey = this.accessKey.secret;

      const initDocument = policyDocument(this, 'init-permissions', initializerStatements(props.bucket, this.prefixes), provider);
      this.initUser = new IamUser(this, 'init-user', {
        provider,
        name: iamName(`restic-init-${this.node.addr.slice(0, 8)}-${this.prefixes.join('-')}`),
        path: '/cdktf-container-backup/',
      });
      new IamUserPolicy(this, 'init-user-policy', {
        provider,
        user: this.initUser.name,
        name: 'restic-init',
        policy: initDocument.json,
      });
      this.initAccessKey = new IamAccessKey(this, 'init-access-key', { provider, user: this.initUser.name });
      this.initAccessKeyId = this.initAccessKey.id;
      this.initSecretAccessKey = this.initAccessKey.secret;
      holdsSecretsInState(this, 'the secret access keys of the agent and the initializer (aws_iam_access_key)');
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

function initializerStatements(bucket: IBackupBucket, prefixes: string[]): Statement[] {
  const arn = bucket.bucketArn;
  const statements: Statement[] = [
    ...listAndLocate(arn, prefixes),
    { sid: 'CreateConfigAndKeys', actions: INIT_ACTIONS, resources: keyMaterial(arn, prefixes) },
  ];
  statements.push(...useBucketKey(bucket));
  return statements;
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
