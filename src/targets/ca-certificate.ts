import { Token } from 'cdktf';
import { ConfigurationError, show } from '../core/configuration-error';

const PEM_CERTIFICATES = /^(?:-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/;

/**
 * Checks a target's `caCertificate` (PEM text restic gets through `--cacert`): a literal must
 * be one or more PEM certificates and no private key; a token (e.g. `Fn.file(...)`) is
 * resolved by Terraform and taken as it is.
 * @internal
 */
export function checkCaCertificate(where: string, value: string | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) {
    return;
  }
  if (/PRIVATE KEY/.test(value)) {
    throw caCertificateWithPrivateKey(where);
  }
  if (!PEM_CERTIFICATES.test(value.trim() + '\n')) {
    throw invalidCaCertificate(where, value);
  }
}

function invalidCaCertificate(where: string, value: string): ConfigurationError {
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return new ConfigurationError(
    where,
    `caCertificate must be the PEM text of one or more CA certificates ("-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----"), got ${show(shown)}`,
    'pass the certificate\'s text, not its path: e.g. fs.readFileSync("ca.pem", "utf8") or Fn.file("ca.pem") (a token, read by Terraform), or leave caCertificate unset for a server with a publicly trusted certificate',
  );
}

function caCertificateWithPrivateKey(where: string): ConfigurationError {
  return new ConfigurationError(
    where,
    'caCertificate contains a private key ("PRIVATE KEY"), which would be written in plain text into cdk.tf.json and the Terraform state (the value is not shown here)',
    'pass only the CA certificate(s), the "-----BEGIN CERTIFICATE-----" blocks; a client never needs the server\'s or the CA\'s key',
  );
}
