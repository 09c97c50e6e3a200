/**
 * A refusal: an error that reports the user's configuration, not a bug (every
 * ConfigurationError, and cdktf's errors for failed validations). It is branded with a global
 * symbol, so that copies of this library in one process recognise each other's refusals.
 *
 * What a refusal does to the program (no Terraform left to apply) is compliance's business
 * (../compliance/refused-app.ts): it listens here, so that core, which every file imports,
 * imports nothing back.
 */

/** Brands a refusal, across copies of this library in one process. */
const REFUSAL = Symbol.for('cdktf-container-backup.refusal');

const listeners: Array<() => void> = [];

/** Whether `error` is a refusal. */
export function isRefusal(error: unknown): boolean {
  return error instanceof Error && (error as any)[REFUSAL] === true;
}

/** Brands `error` as a refusal and tells the listeners that one exists. */
export function brandRefusal(error: Error): void {
  Object.defineProperty(error, REFUSAL, { value: true, enumerable: false });
  for (const listener of listeners) {
    listener();
  }
}

/** Calls `listener` at every refusal created from now on. */
export function onRefusal(listener: () => void): void {
  listeners.push(listener);
}
