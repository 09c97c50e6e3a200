/**
 * The error every configuration check throws. Each check's factory lives beside the check (in
 * the file of the construct, policy, target or rule that throws it); this file holds only what
 * they share.
 *
 * Each message says where (the construct path or the factory call), what is wrong, the value
 * received, and how to fix it. The errors carry no stack trace: a configuration mistake is the
 * user's input, not a bug in this library, and `cdktf synth` should print one clear paragraph.
 *
 * Every ConfigurationError is a refusal: if none of the user's code catches it, the program
 * stops the way a refused synth does, with no Terraform left to apply
 * (../compliance/refused-app.ts, told through ./refusal.ts).
 */
import { brandRefusal } from './refusal';

/** The error type thrown for invalid configuration. */
export class ConfigurationError extends Error {
  constructor(where: string, problem: string, fix: string) {
    super(`${where}: ${problem}. Fix: ${fix}`);
    this.name = 'ConfigurationError';
    // A configuration error is about the user's input: show the message, not our call stack.
    this.stack = `${this.name}: ${this.message}`;
    brandRefusal(this);
  }
}

/** A received value as the messages quote it: JSON where it has one (strings in quotes). */
export const show = (value: unknown): string => JSON.stringify(value) ?? String(value);
