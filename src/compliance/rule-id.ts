import { ConfigurationError, show } from '../core/configuration-error';
import { builtInRuleIds } from './built-in-rules';

/** What a rule id may be: suppressions and the report name rules by it. */
const RULE_ID = /^[A-Za-z][A-Za-z0-9-]*$/;

/** Throws unless `ruleId` is letters, digits and '-' starting with a letter. */
export function checkRuleId(where: string, ruleId: string): void {
  if (!RULE_ID.test(ruleId)) {
    throw invalidRuleId(where, ruleId);
  }
}

function invalidRuleId(where: string, ruleId: string): ConfigurationError {
  return new ConfigurationError(
    where,
    `the rule id ${show(ruleId)} is not letters, digits and '-' starting with a letter`,
    // Read from the registered rules: a list written here fell behind (QuiesceOutputBackedUp).
    `name the rule like "Acme-PinnedImage" (the built-in ids are ${builtInRuleIds().join(', ')})`,
  );
}
