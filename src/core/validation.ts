/**
 * Checks and errors shared by several owners (constructs, policies, targets), each kept here
 * rather than in any one of them. An error only one file throws lives in that file.
 */
import { ConfigurationError, show } from './configuration-error';

/** Docker's rule for container and volume names, kept to 63 characters so derived names fit. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Throws a `ConfigurationError` naming `where` when `value` is not a valid Docker name. */
export function checkName(where: string, what: string, value: string): void {
  if (!NAME.test(value)) {
    throw invalidName(where, what, value);
  }
}

function invalidName(path: string, what: string, value: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `${what} ${show(value)} is not a valid name (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters)`,
    `rename it, e.g. ${show(value.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63) || 'data')}`,
  );
}

/** A number outside its range (days, seconds, counts), named by the field that holds it. */
export function outOfRange(factory: string, field: string, value: number, min: number, max: number): ConfigurationError {
  return new ConfigurationError(
    factory,
    `${field} must be a whole number from ${min} to ${max}, got ${show(value)}`,
    `pass ${field} between ${min} and ${max}`,
  );
}

/** A path that must be absolute (a volume's containerPath, a local target's hostPath). */
export function relativePath(path: string, what: string, value: string): ConfigurationError {
  return new ConfigurationError(
    path,
    `${what} must be an absolute path, got ${show(value)}`,
    `start it with '/', e.g. ${show('/' + value.replace(/^\.?\/*/, ''))}`,
  );
}

/** A bucket name S3 (or an S3-compatible service) would refuse. */
export function invalidBucketName(where: string, value: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `${show(value)} is not a valid S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)`,
    `rename it, e.g. ${show(value.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '').slice(0, 63) || 'backups')}`,
  );
}
