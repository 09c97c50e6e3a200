/**
 * How Terraform evaluates a string of a synthesized cdk.tf.json, for the cases the stack's
 * containers use: escapes undone (`$${` → `${`, `%%{` → `%{`), references substituted from
 * given values, the agent plan's embedded JSON-string references, and anything else refused.
 * Pure: the synthesized-output readers (synth.ts), the sidecar harness and sandbox, and the
 * engine tier's applier all read strings through it.
 */
/**
 * Undoes Terraform's escapes in a string of the JSON configuration: `$${` stands for `${`
 * and `%%{` for `%{`. Nothing else changes.
 */
export function terraformUnescape(text: string): string {
  return text.replace(/\$\$\{|%%\{/g, (escape) => escape.slice(1));
}

/**
 * How the agent's plan embeds a Terraform reference in a JSON string (src/agent/agent-plan.ts,
 * jsonStringToken): `trimsuffix(trimprefix(jsonencode(REF), "\""), "\"")`, the value
 * JSON-escaped without its quotes. Group 1 is REF.
 */
export const JSON_STRING_TOKEN = /^trimsuffix\(trimprefix\(jsonencode\(([^()]+)\), "\\""\), "\\""\)$/;

/** What Terraform's jsonencode makes of a string, quotes dropped (it also escapes <, >, &, U+2028/9). */
export function jsonStringValue(value: string): string {
  return JSON.stringify(value).slice(1, -1).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Evaluates a string of the JSON configuration the way Terraform does for the cases a
 * sidecar uses: escapes are undone, each `${expression}` is replaced by `values[expression]`.
 * An expression without a value, and any `%{` directive, throw: the caller must say what
 * Terraform would have put there.
 */
export function renderTerraformString(text: string, values: Record<string, string> = {}, where = 'a string'): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i) || text.startsWith('%%{', i)) {
      out += text.slice(i + 1, i + 3);
      i += 3;
    } else if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i + 2);
      if (end < 0) {
        throw new Error(`unterminated Terraform interpolation in ${where}: ${text.slice(i, i + 40)}`);
      }
      const expression = text.slice(i + 2, end).trim();
      const embedded = JSON_STRING_TOKEN.exec(expression);
      if (embedded && embedded[1] in values) {
        out += jsonStringValue(values[embedded[1]]);
        i = end + 1;
        continue;
      }
      if (!(expression in values)) {
        throw new Error(
          `Terraform would interpolate \${${expression}} in ${where}; pass its value in ` +
            `terraformValues['${expression}'] (or the text was not escaped as $\${)`,
        );
      }
      out += values[expression];
      i = end + 1;
    } else if (text.startsWith('%{', i)) {
      throw new Error(`Terraform would run the template directive ${text.slice(i, i + 30)} in ${where}; escape it as %%{`);
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}
