/**
 * The folder a repository lives in, below a bucket or a REST server: checked alike by the S3,
 * S3-compatible and REST targets and by AgentCredentials (which scopes IAM to it), so it lives
 * here rather than with any one of them.
 */
import { ConfigurationError, show } from '../core/configuration-error';

const PREFIX = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/** Throws unless `prefix` is a plain relative folder path (no wildcard, no `..`). */
export function checkPrefix(where: string, prefix: string): void {
  if (!PREFIX.test(prefix) || prefix.split('/').some((part) => part === '.' || part === '..')) {
    throw invalidPrefix(where, prefix);
  }
}

function invalidPrefix(where: string, value: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the repository prefix ${show(value)} is not a plain folder name (letters, digits, '.', '_' and '-', separated by single '/', no leading or trailing '/')`,
    'pass a prefix such as "db" or "hosts/db"',
  );
}
