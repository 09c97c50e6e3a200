/**
 * Where a quiesce command writes its dump, read from the command itself for the dump tools
 * the library knows, so that an existing `Quiesce.exec` is checked against the volumes its
 * backup reads without a change: pg_dump and pg_dumpall (`-f`/`--file`), mysqldump and
 * mariadb-dump (`-r`/`--result-file`), mongodump (`-o`/`--out`, `--archive=`), each as its own
 * program or inside `sh -c '...'` (with a `> file` redirection too). Anything else, or a dump
 * to standard output, is unknown: the pack then asks for `Quiesce.exec(command, { output })`.
 * Pure: no cdktf.
 */

/** A dump tool and its options that name the output, in the tool's own spellings. */
interface DumpTool {
  /** Program names (the last path component of argv[0]). */
  readonly programs: string[];
  /** Short options that take the output as the next word or glued on (`-f x`, `-fx`). */
  readonly short: string[];
  /** Long options that take it as `--opt=x` or `--opt x`. */
  readonly long: string[];
  /** Long options that take it only as `--opt=x` (alone, the dump goes to standard output). */
  readonly longGlued?: string[];
}

const DUMP_TOOLS: DumpTool[] = [
  { programs: ['pg_dump', 'pg_dumpall'], short: ['-f'], long: ['--file'] },
  { programs: ['mysqldump', 'mariadb-dump', 'mysqlpump'], short: ['-r'], long: ['--result-file'] },
  { programs: ['mongodump'], short: ['-o'], long: ['--out'], longGlued: ['--archive'] },
];

const SHELLS = ['sh', 'bash', 'dash', 'ash', 'zsh'];

/** The path `command` writes its dump to, when it is a known dump tool's; undefined otherwise. */
export function dumpOutputOf(command: string[]): string | undefined {
  if (command.length >= 3 && SHELLS.includes(programName(command[0])) && command[1] === '-c') {
    return shellDumpOutput(command[2]);
  }
  return toolOutput(command);
}

/** The output of a known dump tool's argv. */
function toolOutput(argv: string[]): string | undefined {
  const tool = DUMP_TOOLS.find((t) => t.programs.includes(programName(argv[0] ?? '')));
  if (tool === undefined) {
    return undefined;
  }
  let output: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      break;
    }
    for (const option of tool.short) {
      if (word === option && i + 1 < argv.length) {
        output = argv[++i];
      } else if (word.startsWith(option) && word.length > option.length && !word.startsWith('--')) {
        output = word.slice(option.length);
      }
    }
    for (const option of [...tool.long, ...(tool.longGlued ?? [])]) {
      if (word.startsWith(`${option}=`)) {
        output = word.slice(option.length + 1);
      } else if (word === option && tool.long.includes(option) && i + 1 < argv.length) {
        output = argv[++i];
      }
    }
  }
  return output;
}

/**
 * The output of a simple `sh -c` script: a `> file` redirection of its last command, or a
 * known tool's option. Words are split on blanks, with single and double quotes honoured and
 * nothing expanded; a script with `$`, backquotes or several redirections is unknown.
 */
function shellDumpOutput(script: string): string | undefined {
  if (/[`$]/.test(script)) {
    return undefined;
  }
  const words = shellWords(script);
  if (words === undefined) {
    return undefined;
  }
  const redirections = words.flatMap((w, i) => (w === '>' || w === '>>' ? [words[i + 1]] : /^>>?[^>]/.test(w) ? [w.replace(/^>>?/, '')] : []));
  if (redirections.length > 1 || redirections.some((r) => r === undefined || r.startsWith('&'))) {
    return undefined;
  }
  if (redirections.length === 1) {
    return redirections[0];
  }
  const commands = splitOn(words, ['&&', '||', ';', '|']);
  const outputs = commands.map(toolOutput).filter((o): o is string => o !== undefined);
  return outputs.length === 1 ? outputs[0] : undefined;
}

function shellWords(script: string): string[] | undefined {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (const c of script) {
    if (quote !== undefined) {
      if (c === quote) {
        quote = undefined;
      } else {
        current += c;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) {
        words.push(current);
      }
      current = '';
      started = false;
    } else if (c === '\\') {
      return undefined;
    } else {
      current += c;
      started = true;
    }
  }
  if (quote !== undefined) {
    return undefined;
  }
  if (started) {
    words.push(current);
  }
  return words;
}

function splitOn(words: string[], separators: string[]): string[][] {
  const parts: string[][] = [[]];
  for (const w of words) {
    if (separators.includes(w)) {
      parts.push([]);
    } else {
      parts[parts.length - 1].push(w);
    }
  }
  return parts.filter((p) => p.length > 0);
}

function programName(argv0: string): string {
  return argv0.slice(argv0.lastIndexOf('/') + 1);
}
