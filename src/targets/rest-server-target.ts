import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigurationError, show } from '../core/configuration-error';
import { checkCaCertificate } from './ca-certificate';
import { Medium } from './medium';
import { maskedUrl, urlHasUserInfo } from '../core/literal-credentials';
import { credentialsInUrl, literalSecretKey, plainHttpEndpoint } from './remote-server';
import { checkPrefix } from './repository-prefix';
import { Site } from './site';
import type { IStorageTarget, StorageTargetBindContext, StorageTargetConfig } from './storage-target-config';

/** Properties of `StorageTarget.restServer`. */
export interface RestServerTargetProps {
  /**
   * The server's URL, without credentials: "https://backup.example.internal:8000", or with a
   * base path behind a reverse proxy, "https://backup.example.internal/restic". A Terraform
   * token is accepted (then pass `site`).
   */
  readonly url: string;
  /**
   * The repository's path on the server. A server started with `--private-repos` only lets a
   * user reach paths that start with its user name, e.g. "alice/db".
   * @default - the container name
   */
  readonly repositoryPath?: string;
  /**
   * The user name of the server's basic authentication (`RESTIC_REST_USERNAME`).
   * @default - no authentication
   */
  readonly username?: string;
  /**
   * The password of the server's basic authentication: a Terraform token (a sensitive
   * variable), never a literal. It reaches the sidecar as a file (`RESTIC_REST_PASSWORD`).
   * @default - no authentication
   */
  readonly password?: string;
  /**
   * The target's name in logs, status and `--target`.
   * @default "rest"
   */
  readonly name?: string;
  /**
   * What the server stores the repository on. A REST server is usually another machine's
   * disk reached over the network; set `Medium.OBJECT_STORAGE` for a server in front of an
   * object store (`rclone serve restic` over S3), `Medium.DISK` for one on the Docker host.
   * @default Medium.NAS
   */
  readonly medium?: Medium;
  /**
   * Where the server keeps the data.
   * @default Site.named(<the URL's host name>); required when `url` is a token
   */
  readonly site?: Site;
  /**
   * Whether the server runs in append-only mode (`rest-server --append-only`, `rclone serve
   * restic --append-only`): snapshots cannot be deleted or overwritten through it, which
   * makes this copy the immutable one of 3-2-1-1-0. The agent then skips `restic forget` and
   * `restic prune` for this target (reported as `skipped`, reason `append-only`, not as a
   * failure) and still verifies it: pruning the repository is the server administrator's job
   * (restic run on the server, or through a server instance without `--append-only`).
   * @default false
   */
  readonly appendOnly?: boolean;
  /**
   * The CA certificate (PEM text) that signed the server's TLS certificate, for a server whose
   * certificate a private CA issued: restic trusts it for this target only (`--cacert`). A
   * literal ("-----BEGIN CERTIFICATE-----...") or a token such as `Fn.file("ca.pem")`; it is
   * not a secret, and reaches the sidecar as a file.
   * @default - the system's CA certificates only
   */
  readonly caCertificate?: string;
  /**
   * Accept an `http://` URL (a server on the same trusted host only).
   * @default false
   */
  readonly allowPlainHttp?: boolean;
}

/**
 * A restic repository on a REST server (restic's rest-server, `rclone serve restic`):
 * `rest:<url>/<repositoryPath>`, with optional basic authentication. Creates no resources.
 * The agent puts the credentials into the URL at run time (restic before 0.17 reads them
 * only from there), so they never appear in the repository string of cdk.tf.json.
 */
export class RestServerTarget implements IStorageTarget {
  /** The target's name. */
  public readonly name: string;
  private readonly baseUrl: string;
  private readonly host?: string;
  private readonly where: string;

  constructor(private readonly props: RestServerTargetProps) {
    // Masked: a URL with credentials must not print them in the error that refuses it.
    this.where = `StorageTarget.restServer(${Token.isUnresolved(props.url) ? '<token>' : JSON.stringify(maskedUrl(props.url))})`;
    this.name = props.name ?? 'rest';
    if (urlHasUserInfo(props.url)) {
      throw credentialsInUrl(
        this.where,
        'URL',
        maskedUrl(props.url),
        'take them out of the URL: pass the user name as `username` and the password as `password` (a sensitive variable\'s value), which reach the sidecar as a file',
      );
    }
    if (Token.isUnresolved(props.url)) {
      if (props.site === undefined) {
        throw siteNeededForTokenUrl(this.where);
      }
      this.baseUrl = props.url;
    } else {
      let url: URL;
      try {
        url = new URL(props.url);
      } catch {
        throw invalidRestUrl(this.where, props.url);
      }
      if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username || url.password) {
        throw invalidRestUrl(this.where, props.url);
      }
      if (url.protocol === 'http:' && !(props.allowPlainHttp ?? false)) {
        throw plainHttpEndpoint(this.where, props.url);
      }
      this.baseUrl = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
      this.host = url.hostname;
    }
    if (props.username !== undefined && props.password === undefined) {
      throw restCredentialsIncomplete(this.where, 'username', 'password');
    }
    if (props.password !== undefined && props.username === undefined) {
      throw restCredentialsIncomplete(this.where, 'password', 'username');
    }
    if (props.password !== undefined && !Token.isUnresolved(props.password)) {
      throw literalSecretKey(this.where, 'password');
    }
    checkCaCertificate(this.where, props.caCertificate);
  }

  public bind(_scope: Construct, context: StorageTargetBindContext): StorageTargetConfig {
    const path = this.props.repositoryPath ?? context.containerName;
    if (!Token.isUnresolved(path)) {
      checkPrefix(this.where, path);
    }
    const authenticated = this.props.username !== undefined;
    return {
      name: this.name,
      repository: `rest:${this.baseUrl}/${path}`,
      medium: this.props.medium ?? Medium.NAS,
      site: this.props.site ?? Site.named(this.host!),
      immutable: this.props.appendOnly ?? false,
      appendOnly: this.props.appendOnly ?? false,
      ...(this.props.caCertificate !== undefined ? { caCertificate: this.props.caCertificate } : {}),
      ...(authenticated
        ? {
          environment: { RESTIC_REST_USERNAME: this.props.username! },
          secrets: [{ variable: 'RESTIC_REST_PASSWORD', value: this.props.password! }],
        }
        : {}),
    };
  }
}

function siteNeededForTokenUrl(where: string): ConfigurationError {
  return new ConfigurationError(
    where,
    'the URL is a Terraform token, so the site of the repository cannot be read from its host name',
    'pass `site`, e.g. Site.named("backup-server-dc2"), so the 3-2-1 checks know where this copy is',
  );
}

function invalidRestUrl(where: string, url: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the URL ${show(url)} is not an absolute https:// URL of a REST server without credentials, query or fragment`,
    'pass the server\'s URL, e.g. "https://backup.example.internal:8000", with the repository path in `repositoryPath` and the credentials in `username` and `password`',
  );
}

function restCredentialsIncomplete(where: string, given: string, missing: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${given} is set but ${missing} is not; the REST server's basic authentication needs both`,
    `set ${missing} as well, or neither for a server without authentication`,
  );
}
