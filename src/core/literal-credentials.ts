/**
 * Credentials written inside a longer value: a password in a URL (`postgres://gitea:hunter2@db`)
 * or a `Password=`/`Pwd=` in a connection string (`Server=db;User Id=sa;Password=hunter2`).
 * Such a value is stored in plain text in cdk.tf.json and the Terraform plan whatever the
 * variable or argument is called. A Terraform reference in the password's place (a sensitive
 * variable's value) is fine, and so is a shell or environment reference (`$PGPASSWORD`), which
 * the container resolves itself.
 */
import { STRING_TOKEN } from './string-token';

/** Stands in for a token while the text is searched (no literal holds it). */
const MARK = '\u0000';
/** `$NAME` or `${NAME}`: resolved in the container from its environment. */
const ENV_REFERENCE = /^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$/;
/** `scheme://user:password@`: group 1 is up to the colon, group 2 the password. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:)([^\s/@]*)@/i;
/** `password=...` as a connection string, DSN or query writes it: group 2 the value. */
const KEY_PASSWORD = /((?:^|[\s;?&,-])(?:password|passwd|pwd)\s*=\s*)("[^"]*"|'[^']*'|[^\s;&,]*)/i;

/** A literal credential found in a value, and the value with it masked. */
export interface LiteralCredential {
  /** What was found, e.g. "a literal password inside a URL". */
  readonly what: string;
  /** The value with the password replaced by `***` (references shown as `<reference>`). */
  readonly masked: string;
}

/** The literal credential `value` holds, if any. */
export function literalCredentialIn(value: string): LiteralCredential | undefined {
  const text = value.replace(STRING_TOKEN, MARK);
  for (const [pattern, what] of [
    [URL_PASSWORD, 'a literal password inside a URL'],
    [KEY_PASSWORD, 'a literal password in a connection string'],
  ] as const) {
    const m = pattern.exec(text);
    if (m === null) {
      continue;
    }
    const secret = m[2].replace(/^(["'])(.*)\1$/, '$2');
    if (secret === '' || secret.includes(MARK) || ENV_REFERENCE.test(secret)) {
      continue;
    }
    const masked = text.slice(0, m.index) + m[1] + '***' + text.slice(m.index + m[1].length + m[2].length);
    return { what, masked: readable(masked) };
  }
  return undefined;
}

/**
 * Whether a URL names a user or password before its host (`https://alice:secret@host`), in its
 * literal parts: where a target's URL must carry no credentials at all (they have fields of
 * their own, delivered as files).
 */
export function urlHasUserInfo(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url.replace(STRING_TOKEN, MARK));
}

/** `url` with the password of its user info masked, for messages. */
export function maskedUrl(url: string): string {
  return readable(url.replace(STRING_TOKEN, MARK).replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, '$1***@'));
}

/** Text with the token marks shown as `<reference>`. */
function readable(text: string): string {
  return text.split(MARK).join('<reference>');
}
