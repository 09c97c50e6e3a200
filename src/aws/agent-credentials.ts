import { IamAccessKey } from '@cdktf/provider-aws/lib/iam-access-key';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamUser } from '@cdktf/provider-aws/lib/iam-user';
import { IamUserPolicy } from '@cdktf/provider-aws/lib/iam-user-policy';
import { TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import * as errors from '../errors';
import type { IBackupBucket } from './backup-bucket';
import { Statement, policyDocument } from './policy-document';

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
 * restic's folders in a repository, and which of them `forget`/`prune` delete from. `config`
 * and `keys/` are never deletable, so the agent's credentials cannot destroy the repository's
 * key material.
 */
const DELETABLE_FOLDERS = ['data', 'index', 'locks', 'snapshots'];

/**
 * A least-privilege AWS identity for the backup agent of one or more containers.
 *
 * On the bucket: list within the containers' prefixes, get and put objects there, delete only
 * in the folders restic's lock handling and prune delete from (`locks/`, `snapshots/`,
 * `index/`, `data/`), never `s3:DeleteObjectVersion`, so every deletion leaves the noncurrent
 * version behind for the lifecycle window; KMS data keys through S3 only. On the offsite
 * replica: list and get within the same prefixes and decrypt through S3, nothing else. No
 * action and no resource is `*`.
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

  constructor(scope: Construct, id: string, props: AgentCredentialsProps) {
    super(scope, id);
    const where = this.node.path;
    if (props.containerNames.length === 0) {
      throw errors.credentialsDoNotCover(where, '(none)', []);
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
      const trust = policyDocument(
        this,
        'trust',
        [
          {
            sid: 'Ec2AssumesAgentRole',
            actions: ['sts:AssumeRole'],
            principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }],
          },
        ],
        provider,
      );
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
    {
      sid: 'ListRepositoryPrefixes',
      actions: ['s3:ListBucket'],
      resources: [arn],
      conditions: [{ test: 'StringLike', variable: 's3:prefix', values: prefixes.map((p) => `${p}/*`) }],
    },
    { sid: 'LocateBucket', actions: ['s3:GetBucketLocation'], resources: [arn] },
    {
      sid: 'ReadWriteRepositories',
      actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      resources: prefixes.map((p) => `${arn}/${p}/*`),
    },
    {
      sid: 'DeleteWhereLocksAndPruneNeed',
      actions: ['s3:DeleteObject'],
      resources: prefixes.flatMap((p) => DELETABLE_FOLDERS.map((folder) => `${arn}/${p}/${folder}/*`)),
    },
  ];
  if (bucket.kmsKeyArn !== undefined) {
    statements.push({
      sid: 'UseBucketKeyThroughS3',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [bucket.kmsKeyArn],
      conditions: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${bucket.region}.amazonaws.com`] }],
    });
  }
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

const PREFIX = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/** Throws unless `prefix` is a plain relative folder path (no wildcard, no `..`). */
export function checkPrefix(where: string, prefix: string): void {
  if (!PREFIX.test(prefix) || prefix.split('/').some((part) => part === '.' || part === '..')) {
    throw errors.invalidPrefix(where, prefix);
  }
}

/** IAM user and role names: at most 64 of `[\w+=,.@-]`. */
function iamName(name: string): string {
  return name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}
