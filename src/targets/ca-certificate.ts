import { Token } from 'cdktf';
import * as errors from '../errors';

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
    throw errors.caCertificateWithPrivateKey(where);
  }
  if (!PEM_CERTIFICATES.test(value.trim() + '\n')) {
    throw errors.invalidCaCertificate(where, value);
  }
}
