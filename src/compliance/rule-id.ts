import { ConfigurationError, show } from '../core/configuration-error';

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
    'name the rule like "Acme-PinnedImage" (the built-in ids are ThreeCopies, TwoMedia, OneOffsite, OneImmutableOrOffline, ZeroErrors, ObjectLockCoversRetention, ScheduleMeetsRpo, RepositoriesEncrypted, DatabaseConsistency, ServiceDataPinned, ReplicatedServiceData, AllDataBackedUp, PasswordEscrowed)',
  );
}
