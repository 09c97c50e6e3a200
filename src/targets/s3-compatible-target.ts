import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigurationError, show } from '../core/configuration-error';
import { invalidBucketName, outOfRange } from '../core/validation';
import { checkCaCertificate } from './ca-certificate';
import { Medium } from './medium';
import { maskedUrl, urlHasUserInfo } from '../core/literal-credentials';
import { credentialsInUrl, literalSecretKey, plainHttpEndpoint } from './remote-server';
import { checkPrefix } from './repository-prefix';
import { Site } from './site';
import type { IStorageTarget, StorageTargetBindContext, StorageTargetConfig } from './storage-target-config';

/** Properties of `StorageTarget.s3Compatible`. */
export interface S3CompatibleTargetProps {
  /**
   * The service's URL, without a path: "https://s3.eu-central-003.backblazeb2.com",
   * "https://s3.eu-central-1.wasabisys.com", "https://minio.example.internal:9000".
   */
  readonly endpoint: string;
  /** The bucket (it must exist; this target creates no resources). */
  readonly bucket: string;
  /** The access key id. */
  readonly accessKeyId: string;
  /**
   * The secret key: a Terraform token (a sensitive variable), never a literal. It reaches the
   * sidecar as a file.
   */
  readonly secretAccessKey: string;
  /**
   * The folder of the bucket that holds this container's repository.
   * @default - the container name
   */
  readonly prefix?: string;
  /**
   * The region the service expects in signatures (`AWS_DEFAULT_REGION`).
   * @default - not set (restic's default, "us-east-1")
   */
  readonly region?: string;
  /**
   * The target's name in logs, status and `--target`.
   * @default "s3-compatible"
   */
  readonly name?: string;
  /**
   * Where the service keeps the data.
   * @default Site.named(<the endpoint's host name>)
   */
  readonly site?: Site;
  /**
   * What the data is stored on.
   * @default Medium.OBJECT_STORAGE
   */
  readonly medium?: Medium;
  /**
   * Whether the bucket is immutable (e.g. B2 or Wasabi Object Lock, set up outside this library).
   * @default - true when `immutableRetentionDays` is set, false otherwise
   */
  readonly immutable?: boolean;
  /**
   * The bucket's default Object Lock retention, in days (set up on the service, outside this
   * library): every object restic writes stays locked that long. Declaring it makes the
   * target immutable, and lets the compliance checks compare it with the retention
   * (`ObjectLockCoversRetention`).
   * @default - no lock period declared
   */
  readonly immutableRetentionDays?: number;
  /**
   * The CA certificate (PEM text) that signed the endpoint's TLS certificate, for a service
   * whose certificate a private CA issued (an in-house MinIO or Ceph RGW): restic trusts it for
   * this target only (`--cacert`). A literal ("-----BEGIN CERTIFICATE-----...") or a token such
   * as `Fn.file("ca.pem")`; it is not a secret, and reaches the sidecar as a file.
   * @default - the system's CA certificates only
   */
  readonly caCertificate?: string;
  /**
   * Accept an `http://` endpoint (a server on the same trusted host only).
   * @default false
   */
  readonly allowPlainHttp?: boolean;
}

/**
 * A restic repository on an S3-compatible service (MinIO, Backblaze B2, Wasabi, Ceph RGW):
 * `s3:<endpoint>/<bucket>/<prefix>`. Creates no AWS resources.
 */
export class S3CompatibleTarget implements IStorageTarget {
  /** The target's name. */
  public readonly name: string;
  private readonly endpoint: string;
  private readonly host: string;

  constructor(private readonly props: S3CompatibleTargetProps) {
    const where = `StorageTarget.s3Compatible(${JSON.stringify(maskedUrl(props.endpoint))})`;
    if (urlHasUserInfo(props.endpoint)) {
      throw credentialsInUrl(
        where,
        'endpoint',
        maskedUrl(props.endpoint),
        'take them out of the endpoint: the access key goes in `accessKeyId` and the secret key in `secretAccessKey` (a sensitive variable\'s value), which reaches the sidecar as a file',
      );
    }
    this.name = props.name ?? 's3-compatible';
    let url: URL;
    try {
      url = new URL(props.endpoint);
    } catch {
      throw invalidEndpoint(where, props.endpoint);
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname.replace(/\/+$/, '') !== '' || url.search || url.username) {
      throw invalidEndpoint(where, props.endpoint);
    }
    if (url.protocol === 'http:' && !(props.allowPlainHttp ?? false)) {
      throw plainHttpEndpoint(where, props.endpoint);
    }
    if (!Token.isUnresolved(props.secretAccessKey)) {
      throw literalSecretKey(where, 'secretAccessKey');
    }
    if (!Token.isUnresolved(props.bucket) && !/^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/.test(props.bucket)) {
      throw invalidBucketName(where, props.bucket);
    }
    if (props.immutableRetentionDays !== undefined) {
      const days = props.immutableRetentionDays;
      if (!Number.isInteger(days) || days < 1 || days > 36500) {
        throw outOfRange(where, 'immutableRetentionDays', days, 1, 36500);
      }
      if (props.immutable === false) {
        throw lockPeriodWithoutLock(where, days);
      }
    }
    checkCaCertificate(where, props.caCertificate);
    this.endpoint = `${url.protocol}//${url.host}`;
    this.host = url.hostname;
  }

  public bind(_scope: Construct, context: StorageTargetBindContext): StorageTargetConfig {
    const prefix = this.props.prefix ?? context.containerName;
    checkPrefix(`StorageTarget.s3Compatible(${JSON.stringify(this.endpoint)})`, prefix);
    const environment: { [name: string]: string } = { AWS_ACCESS_KEY_ID: this.props.accessKeyId };
    if (this.props.region !== undefined) {
      environment.AWS_DEFAULT_REGION = this.props.region;
    }
    return {
      name: this.name,
      repository: `s3:${this.endpoint}/${this.props.bucket}/${prefix}`,
      medium: this.props.medium ?? Medium.OBJECT_STORAGE,
      site: this.props.site ?? Site.named(this.host),
      immutable: this.props.immutable ?? this.props.immutableRetentionDays !== undefined,
      immutableRetentionDays: this.props.immutableRetentionDays,
      environment,
      secrets: [{ variable: 'AWS_SECRET_ACCESS_KEY', value: this.props.secretAccessKey }],
      ...(this.props.caCertificate !== undefined ? { caCertificate: this.props.caCertificate } : {}),
    };
  }
}

function invalidEndpoint(where: string, endpoint: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the endpoint ${show(endpoint)} is not an absolute https:// URL without a path`,
    'pass the service URL, e.g. "https://s3.eu-central-003.backblazeb2.com" or "https://minio.example.internal:9000"',
  );
}

function lockPeriodWithoutLock(where: string, days: number): ConfigurationError {
  return new ConfigurationError(
    where,
    `immutableRetentionDays is ${show(days)} but immutable is false: a lock period on a bucket that is not locked`,
    'remove `immutable: false` when the bucket has Object Lock, or remove `immutableRetentionDays` when it has none',
  );
}
