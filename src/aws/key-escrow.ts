import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { Construct } from 'constructs';
import { ConfigurationError } from '../core/configuration-error';
import { RepositoryPassword } from '../targets/repository-password';
import type { BackupBucket } from './backup-bucket';
import { holdsSecretsInState } from './state-backend';

/** Properties of a `KeyEscrow`. */
export interface KeyEscrowProps {
  /** The restic repository password to keep. */
  readonly password: RepositoryPassword;
  /**
   * The bucket whose offsite region and offsite KMS key hold the escrowed password. It must
   * have an offsite replica.
   */
  readonly bucket: BackupBucket;
  /**
   * The SSM parameter's name.
   * @default "/cdktf-container-backup/<construct path>/restic-password"
   */
  readonly parameterName?: string;
  /**
   * Refuse `terraform destroy` of the parameter.
   * @default true
   */
  readonly protectFromDestroy?: boolean;
}

/**
 * Keeps the restic repository password in escrow: an SSM Parameter Store SecureString in the
 * bucket's offsite region, encrypted with the offsite replica's KMS key. Losing the Docker
 * host (and the password file in its sidecar) then does not lose the ability to restore: an
 * operator with `ssm:GetParameter` and `kms:Decrypt` reads it back (docs/restore.md, "Host
 * lost: recover the password from escrow"). The agent's credentials are not granted it.
 *
 * Use `repositoryPassword` as the sidecar's password, so the copy in escrow and the password
 * that encrypts the repositories cannot drift apart.
 */
export class KeyEscrow extends Construct {
  /** The SecureString parameter. */
  public readonly parameter: SsmParameter;
  /** The parameter's name. */
  public readonly parameterName: string;
  /** The region that holds it. */
  public readonly region: string;

  constructor(scope: Construct, id: string, props: KeyEscrowProps) {
    super(scope, id);
    const offsite = props.bucket.offsite;
    if (!offsite) {
      throw escrowWithoutOffsite(this.node.path);
    }
    this.region = offsite.region;
    this.parameterName =
      props.parameterName ??
      `/cdktf-container-backup/${this.node.path.replace(/[^A-Za-z0-9_.\/-]/g, '-')}/restic-password`;
    this.parameter = new SsmParameter(this, 'password', {
      provider: offsite.provider,
      name: this.parameterName,
      description: `restic repository password of ${props.bucket.node.path}, escrowed offsite`,
      type: 'SecureString',
      tier: 'Standard',
      keyId: offsite.key.keyArn,
      value: props.password.value,
      lifecycle: (props.protectFromDestroy ?? true) ? { preventDestroy: true } : undefined,
    });
    holdsSecretsInState(this, `the escrowed restic password (aws_ssm_parameter ${this.node.path} value)`);
  }

  /**
   * The escrowed password, read back from the parameter: give it to the sidecars as their
   * `password`, so they use exactly what escrow holds.
   */
  public get repositoryPassword(): RepositoryPassword {
    return RepositoryPassword.fromString(this.parameter.value, { escrowedIn: `the SSM SecureString ${this.parameterName} in ${this.region} (${this.node.path})` });
  }
}

function escrowWithoutOffsite(where: string): ConfigurationError {
  return new ConfigurationError(
    where,
    'the bucket has no offsite replica, so there is no offsite region to keep the escrowed password in',
    'give the BackupBucket `offsite: OffsiteReplica.inRegion("eu-central-1")`, so that losing the primary region or the Docker host does not lose the password',
  );
}
