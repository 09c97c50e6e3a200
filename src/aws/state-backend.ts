import { Container } from '@cdktf/provider-docker/lib/container';
import {
  AnnotationMetadataEntryType,
  Aspects,
  IAspect,
  LocalBackend,
  S3Backend,
  TerraformBackend,
  TerraformRemoteState,
  TerraformStack,
} from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { ConfigurationError, show } from '../core/configuration-error';

/**
 * Which secrets a stack's Terraform state holds, and a check at synth that such a stack does
 * not keep its state in a local `terraform.tfstate` file.
 *
 * Terraform stores every sensitive attribute (IAM secret keys, SSM parameter values) and
 * every `upload` content of a Docker container in plain text in the state of the stack that
 * declares it, and a `terraform_remote_state` data source can read every output of another
 * stack. A stack that holds any of these gets a warning at synth while its backend is local
 * (no backend declared, or `LocalBackend`): the warning names the stack, what it holds, and
 * the fix (`EncryptedStateBackend.s3(...)`). docs/security.md lists which state holds what.
 *
 * The constructs of this library record what they put into state; record your own with
 * `SecretsInState.record(scope, what)`.
 */
export class SecretsInState {
  /** Records that the stack holding `scope` stores `what` in its state (e.g. "the webhook URL"). */
  public static record(scope: IConstruct, what: string): void {
    holdsSecretsInState(scope, what);
  }

  /**
   * What the stack holding `scope` stores in its state: what was recorded, Docker containers
   * with uploaded files, and `terraform_remote_state` reads of other stacks.
   */
  public static of(scope: IConstruct): string[] {
    const stack = TerraformStack.of(scope);
    const found = new Set(RECORDED.get(stack) ?? []);
    for (const node of stack.node.findAll()) {
      if (node instanceof Container && hasUploads(node)) {
        found.add(`the content of every file uploaded into docker_container ${node.node.path} (e.g. the restic password and storage keys of a backup sidecar)`);
      }
      if (node instanceof TerraformRemoteState) {
        found.add(`the outputs of another stack read through terraform_remote_state (${node.node.path}), which can read that stack's whole state`);
      }
    }
    return [...found];
  }

  private constructor() {}
}

const RECORDED = new WeakMap<TerraformStack, Set<string>>();

/** Internal: records a secret in the state of `scope`'s stack, and checks the backend at synth. */
export function holdsSecretsInState(scope: IConstruct, what: string): void {
  const stack = TerraformStack.of(scope);
  let recorded = RECORDED.get(stack);
  if (!recorded) {
    recorded = new Set();
    RECORDED.set(stack, recorded);
    Aspects.of(stack).add(new LocalStateCheck(stack));
  }
  recorded.add(what);
}

function hasUploads(container: Container): boolean {
  const uploads = (container as unknown as { uploadInput?: unknown }).uploadInput;
  return Array.isArray(uploads) ? uploads.length > 0 : uploads !== undefined;
}

/** Whether the stack's state stays in a local file (no backend declared, or `LocalBackend`). */
export function usesLocalState(stack: TerraformStack): boolean {
  const backends = stack.node.findAll().filter((n): n is TerraformBackend => TerraformBackend.isBackend(n));
  return backends.length === 0 || backends.every((b) => b instanceof LocalBackend);
}

/** Warns at synth when a stack that holds secrets keeps its state in a local file. */
class LocalStateCheck implements IAspect {
  private done = false;

  constructor(private readonly stack: TerraformStack) {}

  public visit(node: IConstruct): void {
    if (node !== this.stack || this.done) {
      return;
    }
    this.done = true;
    if (usesLocalState(this.stack)) {
      // Straight to metadata, as the compliance pack does: the warning is about the user's
      // configuration, and Annotations would attach a stack trace of this library.
      this.stack.node.addMetadata(AnnotationMetadataEntryType.WARN, secretsInLocalState(this.stack.node.path, SecretsInState.of(this.stack)));
    }
  }
}

/** Where the encrypted state of each stack goes. */
export interface EncryptedStateBackendProps {
  /** The S3 bucket that holds the state files (versioned, public access blocked, access restricted: see docs/security.md). */
  readonly bucket: string;
  /** The state bucket's region. */
  readonly region: string;
  /**
   * The customer managed KMS key that encrypts each state file (ARN, or alias ARN). Grant
   * `kms:Decrypt`/`kms:GenerateDataKey` on it only to the principals that run Terraform.
   */
  readonly kmsKeyId: string;
  /** The DynamoDB table (partition key `LockID`, a string) that locks the state during a run. */
  readonly dynamodbTable: string;
  /**
   * The folder of the bucket for these stacks' states: each stack's state is `<keyPrefix>/<stack name>.tfstate`.
   * @default "cdktf-container-backup"
   */
  readonly keyPrefix?: string;
  /**
   * A role Terraform assumes to read and write the state, so that only that role needs access
   * to the bucket, the key and the table.
   * @default - the credentials Terraform runs with
   */
  readonly roleArn?: string;
}

/**
 * An encrypted, locked S3 backend for the stacks that hold secrets: `encrypt = true` with a
 * customer managed KMS key, a DynamoDB lock table, one state file per stack.
 *
 * @example
 * EncryptedStateBackend.forEveryStack(app, {
 *   bucket: 'acme-terraform-state', region: 'eu-west-1',
 *   kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:alias/terraform-state',
 *   dynamodbTable: 'terraform-state-lock',
 * });
 */
export class EncryptedStateBackend {
  /** Sets the backend of `stack` (which must not have one yet). */
  public static s3(stack: TerraformStack, props: EncryptedStateBackendProps): S3Backend {
    const where = `EncryptedStateBackend.s3(${stack.node.path})`;
    for (const field of ['bucket', 'region', 'kmsKeyId', 'dynamodbTable'] as const) {
      if (typeof props[field] !== 'string' || props[field].trim() === '') {
        throw missingStateBackendSetting(where, field, props[field]);
      }
    }
    const existing = stack.node.findAll().find((n) => TerraformBackend.isBackend(n));
    if (existing) {
      throw stackAlreadyHasBackend(where, existing.node.path);
    }
    const prefix = (props.keyPrefix ?? 'cdktf-container-backup').replace(/\/+$/, '');
    return new S3Backend(stack, {
      bucket: props.bucket,
      region: props.region,
      key: `${prefix}/${stack.node.id}.tfstate`,
      encrypt: true,
      kmsKeyId: props.kmsKeyId,
      dynamodbTable: props.dynamodbTable,
      assumeRole: props.roleArn !== undefined ? { roleArn: props.roleArn } : undefined,
    });
  }

  /** Sets the backend of every stack in `scope` (an App or a stack) that has none yet. */
  public static forEveryStack(scope: Construct, props: EncryptedStateBackendProps): S3Backend[] {
    return scope.node
      .findAll()
      .filter((n): n is TerraformStack => TerraformStack.isStack(n))
      .filter((stack) => !stack.node.findAll().some((n) => TerraformBackend.isBackend(n)))
      .map((stack) => EncryptedStateBackend.s3(stack, props));
  }

  private constructor() {}
}

function secretsInLocalState(stack: string, secrets: string[]): string {
  return new ConfigurationError(
    `stack ${stack}`,
    `its Terraform state holds secrets in plain text (${secrets.join('; ')}), and it keeps that state in a local terraform.tfstate file (no backend, or LocalBackend), unencrypted, unlocked and readable by whoever can read the folder`,
    'give the stack an encrypted, access-restricted remote backend: EncryptedStateBackend.s3(stack, { bucket, region, kmsKeyId, dynamodbTable }) (or EncryptedStateBackend.forEveryStack(app, {...})), see docs/security.md',
  ).message;
}

function missingStateBackendSetting(where: string, field: string, value: unknown): ConfigurationError {
  return new ConfigurationError(
    where,
    `${field} must be a non-empty string, got ${show(value)}`,
    `pass ${field}: the state bucket, its region, the KMS key that encrypts the state and the DynamoDB lock table are all required for an encrypted, locked state`,
  );
}

function stackAlreadyHasBackend(where: string, backendPath: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the stack already has a backend (${backendPath}); a stack has exactly one`,
    'remove the other backend, or call EncryptedStateBackend.forEveryStack(app, ...), which skips stacks that already have one',
  );
}
