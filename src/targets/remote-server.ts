/**
 * The REST and S3-compatible targets reach a server the user runs, not AWS: both refuse plain
 * HTTP (unless allowed) and a credential written as a literal, with the same words.
 */
import { ConfigurationError, show } from '../core/configuration-error';

export function plainHttpEndpoint(where: string, endpoint: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the endpoint ${show(endpoint)} uses plain HTTP, so credentials and repository traffic would cross the network unprotected`,
    'serve the endpoint over TLS (https://), or set `allowPlainHttp: true` for a server on the same trusted host',
  );
}

/**
 * A user or password written into the server's URL: it would travel in the repository string of
 * the agent's plan and its logs, in plain text, whether the password is a literal or a reference.
 */
export function credentialsInUrl(where: string, field: string, masked: string, fix: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the ${field} ${show(masked)} carries credentials (user:password@), which would be written in plain text into cdk.tf.json, the agent's plan and its logs`,
    fix,
  );
}

export function literalSecretKey(where: string, field: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${field} is a literal string, which would be written in plain text into cdk.tf.json and the Terraform plan`,
    `pass a sensitive TerraformVariable's value, e.g. new TerraformVariable(stack, "s3_secret_key", { sensitive: true }).stringValue`,
  );
}
