/**
 * A token inside a string, recognised without importing cdktf (the model stays free of it):
 * cdktf writes an unresolved string as `${TfToken[TOKEN.n]}` (node_modules/cdktf/lib/tokens/
 * private/encoding.js, STRING_TOKEN_REGEX), which `Token.isUnresolved` looks for.
 */

/** cdktf's mark for a token inside a string; global, for `replace`. */
export const STRING_TOKEN = /\$\{TfToken\[[a-zA-Z0-9:._-]+\]\}/g;

/** Whether `value` holds a token Terraform resolves at apply time (`Token.isUnresolved` of a string). */
export function holdsToken(value: string): boolean {
  return new RegExp(STRING_TOKEN.source).test(value);
}
