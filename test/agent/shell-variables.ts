/**
 * A small static analysis of the agent's parts (POSIX sh), for test/agent/globals.test.ts:
 * which part assigns and which part reads each variable. It is not a shell parser; it knows
 * what the parts use, and is strict where that matters:
 *
 * - quoting: '...' is literal (jq and awk programs), "..." expands, `$(...)`, `${...}` and
 *   `$((...))` nest, in and out of double quotes; comments and here-documents are skipped
 *   (an unquoted here-document's expansions are reads);
 * - assignments: `NAME=` at the start of a word outside quotes (a prefix such as
 *   `LC_ALL=C sort` is the command's environment, not an assignment: reported apart), `read
 *   [-r] NAME...`, `for NAME in`, `${NAME:=...}`, and the plan's settings, which plan_load
 *   assigns with one eval of the jq program's `set("NAME"; ...)`; assignments inside `$(...)`
 *   happen in a subshell and are not counted;
 * - reads: `$NAME`, `${NAME...}`, and every name inside `$((...))`;
 * - functions: `name() {` at the start of a line up to the `}` that starts a line.
 */

/** One use of a variable. */
export interface VariableUse {
  readonly part: string;
  readonly line: number;
  /** The function it is in, or '' at the top level of the part. */
  readonly fn: string;
}

/** What the analysis found in the parts. */
export interface VariableInventory {
  /** Assignments, by variable name. */
  readonly assigned: Map<string, VariableUse[]>;
  /** Reads, by variable name. */
  readonly read: Map<string, VariableUse[]>;
  /** Environment prefixes of a single command (`LC_ALL=C sort`), by variable name. */
  readonly commandEnvironment: Map<string, VariableUse[]>;
  /** The names declared `readonly`, by part. */
  readonly readonlyNames: Map<string, string[]>;
  /** The names plan_load's eval assigns (the jq program's `set("NAME"; ...)`), with their part. */
  readonly planSettings: Map<string, string>;
}

/** A part of the agent: its file name and text. */
export interface ShellPart {
  readonly name: string;
  readonly text: string;
}

/** The family name of a target's settings, `T_<scope>_<KEY>` (`T_2_NAME`, `T_1_REPLICA_1_ENV`). */
export const TARGET_SETTINGS = 'T_<scope>_<KEY>';

type Context = 'code' | 'dq' | 'sq' | 'comment' | 'heredoc' | 'literal';

interface Scanned {
  /** Per character: how the shell reads it. */
  readonly context: Context[];
  /** Per character: how many command substitutions `$(...)` it is inside. */
  readonly subshell: number[];
  /** Per character: inside `$((...))`. */
  readonly arithmetic: boolean[];
}

/** Classifies every character of a part's text. */
function scan(text: string): Scanned {
  const n = text.length;
  const context: Context[] = new Array(n).fill('code');
  const subshell: number[] = new Array(n).fill(0);
  const arithmetic: boolean[] = new Array(n).fill(false);
  // The stack of open constructs: what closes each.
  type Frame = { kind: 'dq' | 'sq' | 'cmd' | 'brace' | 'arith'; depth: number };
  const stack: Frame[] = [];
  const pendingHeredocs: Array<{ delimiter: string; quoted: boolean }> = [];
  const top = () => stack[stack.length - 1];
  const inSubshell = () => stack.filter((f) => f.kind === 'cmd').length;
  const isCodeFrame = () => stack.length === 0 || top().kind === 'cmd' || top().kind === 'brace' || top().kind === 'arith';
  let i = 0;
  const mark = (from: number, to: number, c: Context) => {
    for (let k = from; k < to && k < n; k++) context[k] = c;
  };
  while (i < n) {
    const ch = text[i];
    const frame = top();
    subshell[i] = inSubshell();
    arithmetic[i] = stack.some((f) => f.kind === 'arith');
    if (frame?.kind === 'sq') {
      context[i] = ch === "'" ? 'code' : 'sq';
      if (ch === "'") stack.pop();
      i++;
      continue;
    }
    if (frame?.kind === 'dq') {
      context[i] = 'dq';
      if (ch === '\\') {
        context[i + 1] = 'dq';
        i += 2;
        continue;
      }
      if (ch === '"') {
        context[i] = 'code';
        stack.pop();
        i++;
        continue;
      }
      i = openExpansion(i) ?? i + 1;
      continue;
    }
    // Code: the top level, a command substitution, a ${...} or a $((...)).
    context[i] = 'code';
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === "'") {
      stack.push({ kind: 'sq', depth: 0 });
      i++;
      continue;
    }
    if (ch === '"') {
      stack.push({ kind: 'dq', depth: 0 });
      i++;
      continue;
    }
    const opened = openExpansion(i);
    if (opened !== undefined) {
      i = opened;
      continue;
    }
    if (frame?.kind === 'brace') {
      if (ch === '}') stack.pop();
      i++;
      continue;
    }
    if (frame?.kind === 'arith' || frame?.kind === 'cmd') {
      if (ch === '(') {
        frame.depth++;
      } else if (ch === ')') {
        if (frame.depth > 0) {
          frame.depth--;
        } else if (frame.kind === 'arith') {
          // `))` closes $((...)).
          stack.pop();
          i += 2;
          continue;
        } else {
          stack.pop();
        }
      }
    }
    if (ch === '#' && isCodeFrame() && (i === 0 || /[\s;&|()]/.test(text[i - 1]))) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      mark(i, stop, 'comment');
      i = stop;
      continue;
    }
    if (ch === '<' && text[i + 1] === '<' && text[i + 2] !== '<') {
      const m = /^<<-?\s*(['"]?)([A-Za-z_]+)\1/.exec(text.slice(i));
      if (m) {
        pendingHeredocs.push({ delimiter: m[2], quoted: m[1] !== '' });
        i += m[0].length;
        continue;
      }
    }
    if (ch === '\n' && pendingHeredocs.length > 0) {
      let at = i + 1;
      for (const doc of pendingHeredocs.splice(0)) {
        while (at < n) {
          const end = text.indexOf('\n', at);
          const stop = end < 0 ? n : end;
          const isEnd = text.slice(at, stop).replace(/^\t+/, '') === doc.delimiter;
          mark(at, stop + 1, doc.quoted || isEnd ? 'literal' : 'heredoc');
          at = stop + 1;
          if (isEnd) break;
        }
      }
      i = at;
      continue;
    }
    i++;
  }
  return { context, subshell, arithmetic };

  /** Opens the `$(`, `$((` or `${` at `at`: where the scan goes on, or undefined when none starts there. */
  function openExpansion(at: number): number | undefined {
    if (text[at] !== '$') return undefined;
    if (text[at + 1] === '(') return openDollarParen(at);
    if (text[at + 1] !== '{') return undefined;
    stack.push({ kind: 'brace', depth: 0 });
    return at + 2;
  }

  function openDollarParen(at: number): number {
    if (text[at + 2] === '(') {
      stack.push({ kind: 'arith', depth: 0 });
      for (let k = at; k < at + 3; k++) arithmetic[k] = true;
      return at + 3;
    }
    stack.push({ kind: 'cmd', depth: 0 });
    return at + 2;
  }
}

/** The functions of a part: for each line (0-based), the function it is in, or ''. */
function functionOfLines(lines: string[]): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of lines) {
    const start = /^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{/.exec(line);
    if (start) current = start[1];
    out.push(current);
    if (line === '}') current = '';
  }
  return out;
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';

/** Analyses the parts, in order. */
export function analyseParts(parts: ShellPart[]): VariableInventory {
  const assigned = new Map<string, VariableUse[]>();
  const read = new Map<string, VariableUse[]>();
  const commandEnvironment = new Map<string, VariableUse[]>();
  const readonlyNames = new Map<string, string[]>();
  const planSettings = new Map<string, string>();
  const add = (map: Map<string, VariableUse[]>, name: string, use: VariableUse) => {
    const key = /^T_[0-9]/.test(name) || name === 'T_' ? TARGET_SETTINGS : name;
    map.set(key, [...(map.get(key) ?? []), use]);
  };

  for (const part of parts) {
    const { text } = part;
    const { context, subshell, arithmetic } = scan(text);
    const lineStarts = [0];
    for (let k = 0; k < text.length; k++) if (text[k] === '\n') lineStarts.push(k + 1);
    const lineOf = (at: number) => {
      let lo = 0;
      let hi = lineStarts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (lineStarts[mid] <= at) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const fns = functionOfLines(text.split('\n'));
    const use = (at: number): VariableUse => ({ part: part.name, line: lineOf(at) + 1, fn: fns[lineOf(at)] });
    // The text as the analysis reads it: quoted and commented characters blanked (kept: newlines).
    const blank = (keep: (c: Context) => boolean) =>
      text
        .split('')
        .map((c, k) => (c === '\n' || keep(context[k]) ? c : context[k] === 'comment' ? ' ' : '_'))
        .join('');
    const code = blank((c) => c === 'code');
    const expanding = blank((c) => c === 'code' || c === 'dq' || c === 'heredoc');

    // Assignments: NAME=VALUE words before a simple command's name (and after export and
    // readonly); before a command name they are its environment only.
    for (const word of commandWords(code)) {
      if (subshell[word.at] > 0 || arithmetic[word.at]) continue;
      add(word.prefix ? commandEnvironment : assigned, word.name, use(word.at));
    }
    for (const m of code.matchAll(new RegExp(`(?<=^|[\\s;&|({!])read((?:[ \\t]+-[a-z]+)*)((?:[ \\t]+${NAME})+)`, 'gm'))) {
      if (subshell[m.index!] > 0) continue;
      for (const name of m[2].trim().split(/[ \t]+/)) add(assigned, name, use(m.index!));
    }
    for (const m of code.matchAll(new RegExp(`(?<=^|[\\s;&|({!])for[ \\t]+(${NAME})[ \\t]+in\\b`, 'gm'))) {
      if (subshell[m.index!] > 0) continue;
      add(assigned, m[1], use(m.index!));
    }
    for (const m of code.matchAll(new RegExp(`(?<=^|[\\s;&|({!])readonly[ \\t]+(${NAME})`, 'gm'))) {
      readonlyNames.set(part.name, [...(readonlyNames.get(part.name) ?? []), m[1]]);
    }
    for (const m of code.matchAll(new RegExp(`(?<=^|[\\s;&|({!])readonly((?:[ \\t]+${NAME})+)[ \\t]*$`, 'gm'))) {
      // `readonly A B C` (no value): after the plan is loaded
      const names = m[1].trim().split(/[ \t]+/).slice(1);
      readonlyNames.set(part.name, [...(readonlyNames.get(part.name) ?? []), ...names]);
    }

    // Reads: $NAME, ${NAME...} (and ${NAME:=...}, an assignment too), names inside $((...)).
    for (const m of expanding.matchAll(new RegExp(`\\$\\{#?(${NAME})(:?=)?`, 'g'))) {
      add(read, m[1], use(m.index!));
      if (m[2]) add(assigned, m[1], use(m.index!));
    }
    for (const m of expanding.matchAll(new RegExp(`\\$(${NAME})`, 'g'))) add(read, m[1], use(m.index!));
    for (const m of expanding.matchAll(new RegExp(`(?<![$A-Za-z0-9_{#])(${NAME})`, 'g'))) {
      if (arithmetic[m.index!] && context[m.index!] === 'code') add(read, m[1], use(m.index!));
    }

    // The plan's settings: plan_load evaluates what the jq program's set("NAME"; ...) print.
    for (const m of text.matchAll(new RegExp(`\\bset\\("(${NAME})";`, 'g'))) {
      planSettings.set(m[1], part.name);
      add(assigned, m[1], use(m.index!));
    }
    for (const m of text.matchAll(/\bset\("T_\\\(/g)) {
      planSettings.set(TARGET_SETTINGS, part.name);
      add(assigned, TARGET_SETTINGS, use(m.index!));
    }
  }
  return { assigned, read, commandEnvironment, readonlyNames, planSettings };
}

/** Where the word that starts at `at` in `code` (quotes blanked, nesting kept) ends. */
function endOfWord(code: string, at: number): number {
  let depth = 0;
  let i = at;
  while (i < code.length) {
    const ch = code[i];
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === '(' || ch === '{') depth++;
    else if (ch === ')' || ch === '}') {
      if (depth === 0) return i;
      depth--;
    } else if (depth === 0 && /[\s;&|]/.test(ch)) {
      return i;
    } else if (ch === '\n') {
      // inside $(...) spanning lines
    }
    i++;
  }
  return i;
}

/** The shell's reserved words (and `{`, `!`) after which a command name may still follow. */
const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', '!', '{', '}', 'esac']);

/**
 * The NAME=VALUE words of `code` (quotes blanked) that the shell treats as assignments: at the
 * start of a simple command (`prefix` when a command name follows them: that command's
 * environment only), or the arguments of export and readonly.
 */
function commandWords(code: string): Array<{ name: string; at: number; prefix: boolean }> {
  const out: Array<{ name: string; at: number; prefix: boolean }> = [];
  let atStart = true;
  let pending: Array<{ name: string; at: number; prefix: boolean }> = [];
  let declaring = false;
  const flush = (prefix: boolean) => {
    out.push(...pending.map((w) => ({ ...w, prefix })));
    pending = [];
  };
  let pos = 0;
  while (pos < code.length) {
    const ch = code[pos];
    if (ch === ' ' || ch === '\t') {
      pos++;
      continue;
    }
    if (ch === '\\' && code[pos + 1] === '\n') {
      pos += 2;
      continue;
    }
    if (/[\n;&|()]/.test(ch) || ((ch === '{' || ch === '}') && /[\s;]/.test(code[pos + 1] ?? '\n'))) {
      flush(false);
      atStart = true;
      declaring = false;
      pos++;
      continue;
    }
    const end = Math.max(endOfWord(code, pos), pos + 1);
    const word = code.slice(pos, end);
    const assignment = new RegExp(`^(${NAME})=`).exec(word);
    if ((atStart || declaring) && assignment) {
      pending.push({ name: assignment[1], at: pos, prefix: false });
      if (declaring) flush(false);
    } else if (atStart && RESERVED.has(word)) {
      flush(false);
    } else if (atStart) {
      flush(true);
      atStart = false;
      declaring = word === 'export' || word === 'readonly';
    }
    pos = end;
  }
  flush(false);
  return out;
}
