import * as errors from './errors';

/** Docker's rule for container and volume names, kept to 63 characters so derived names fit. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Throws a `ConfigurationError` naming `where` when `value` is not a valid Docker name. */
export function checkName(where: string, what: string, value: string): void {
  if (!NAME.test(value)) {
    throw errors.invalidName(where, what, value);
  }
}
