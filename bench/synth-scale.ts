/**
 * Synth at scale: the library app (library-app.ts) against the hand-written app with the raw
 * provider bindings (hand-written-app.ts), at several container counts. Each measurement is
 * its own `node` process (plain JavaScript, transpiled once before, so neither side pays for
 * TypeScript compilation): its wall time, and its peak resident memory from GNU time. The two
 * apps alternate which goes first from one repetition to the next.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { removeTree, timed } from './measure';

const ROOT = path.join(__dirname, '..');

export interface SynthSample {
  readonly kind: 'library' | 'hand-written';
  readonly count: number;
  readonly rep: number;
  readonly seconds: number;
  readonly peakRssBytes: number;
  readonly loadMs: number;
  readonly constructMs: number;
  readonly synthMs: number;
  readonly outputBytes: number;
}

export interface SynthResults {
  readonly counts: number[];
  readonly reps: Record<number, number>;
  readonly samples: SynthSample[];
  /** Per stack: resource/data/output counts by type, equal for both apps at every count. */
  readonly equivalence: Array<{ count: number; stacks: Record<string, Record<string, number>>; sameShape: boolean }>;
  /**
   * A diagnostic at the top count, no goal: both apps again with cdktf's per-token stack traces
   * off (synth-child.ts `--no-token-traces`), to show how much of the gap is that upstream cost.
   */
  readonly withoutTokenTraces?: { readonly count: number; readonly samples: SynthSample[] };
  readonly buildSeconds: number;
  readonly seconds: number;
}

/** Transpiles src/ and the synth apps to plain JavaScript under `outDir` (no type check). */
export function buildSynthApps(outDir: string): string {
  removeTree(outDir);
  const files: string[] = [];
  const assets: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name);
      if (fs.statSync(full).isDirectory()) {
        walk(full);
      } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        files.push(full);
      } else if (name.endsWith('.sh') || name.endsWith('.json')) {
        assets.push(full);
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  files.push(...['library-app.ts', 'hand-written-app.ts', 'synth-child.ts'].map((f) => path.join(ROOT, 'bench', f)));
  for (const file of files) {
    const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true, experimentalDecorators: true },
    });
    const dest = path.join(outDir, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, out.outputText);
  }
  // The library reads its assets (the agent script, the seccomp profile) relative to its own
  // folder, as in the package.
  for (const asset of assets) {
    const dest = path.join(outDir, path.relative(ROOT, asset));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(asset, dest);
  }
  // Inside the repository, so node_modules resolve as for the sources.
  return path.join(outDir, 'bench', 'synth-child.js');
}

/** Counts resources, data sources and outputs by type in each stack of an output folder. */
export function countOutput(outdir: string): { stacks: Record<string, Record<string, number>>; shapes: Record<string, string[]>; bytes: number } {
  const stacks: Record<string, Record<string, number>> = {};
  const shapes: Record<string, string[]> = {};
  let bytes = 0;
  const stacksDir = path.join(outdir, 'stacks');
  for (const stack of fs.readdirSync(stacksDir).sort()) {
    const file = path.join(stacksDir, stack, 'cdk.tf.json');
    const text = fs.readFileSync(file, 'utf8');
    bytes += text.length;
    const json = JSON.parse(text);
    const counts: Record<string, number> = {};
    const shape: string[] = [];
    for (const section of ['resource', 'data']) {
      for (const [type, items] of Object.entries<any>(json[section] ?? {})) {
        const key = section === 'data' ? `data.${type}` : type;
        counts[key] = Object.keys(items).length;
        for (const item of Object.values(items)) {
          shape.push(`${key} ${shapeOf(item)}`);
        }
      }
    }
    counts.output = Object.keys(json.output ?? {}).length;
    counts.variable = Object.keys(json.variable ?? {}).length;
    for (const [name, list] of Object.entries<any>(json.provider ?? {})) {
      counts[`provider.${name}`] = Array.isArray(list) ? list.length : 1;
    }
    stacks[stack] = counts;
    shapes[stack] = shape.sort();
  }
  return { stacks, shapes, bytes };
}

/**
 * The structure of a JSON value: keys and value types, no values, no cdktf metadata. A list is
 * the set of its items' structures (how many environment entries a container has is data).
 */
function shapeOf(v: unknown): string {
  if (Array.isArray(v)) {
    return `[${[...new Set(v.map(shapeOf))].sort().join(',')}]`;
  }
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => k !== '//')
      .sort()
      .map((k) => `${k}:${shapeOf((v as any)[k])}`)
      .join(',')}}`;
  }
  return typeof v;
}

/** Which app goes first in a repetition: they alternate. */
const pairOrder = (rep: number): Array<'library' | 'hand-written'> => (rep % 2 === 0 ? ['library', 'hand-written'] : ['hand-written', 'library']);

export interface SynthBenchOptions {
  readonly work: string;
  readonly counts: number[];
  readonly reps: (count: number) => number;
  readonly log: (line: string) => void;
}

export async function runSynthBench(options: SynthBenchOptions): Promise<SynthResults> {
  const started = process.hrtime.bigint();
  const { work, log } = options;
  const b0 = process.hrtime.bigint();
  const child = buildSynthApps(path.join(work, 'build'));
  const buildSeconds = Number(process.hrtime.bigint() - b0) / 1e9;
  const samples: SynthSample[] = [];
  const equivalence: SynthResults['equivalence'] = [];
  const reps: Record<number, number> = {};
  /** One synth in its own process: its sample, and what it wrote (counted, then removed). */
  const measure = async (kind: 'library' | 'hand-written', count: number, rep: number, extra: string[]) => {
    const outdir = path.join(work, `out-${kind}`);
    removeTree(outdir);
    const m = await timed(['node', child, kind, String(count), outdir, ...extra], { cwd: ROOT });
    if (m.code !== 0) {
      throw new Error(`synth of ${count} containers (${kind}${extra.length ? ` ${extra.join(' ')}` : ''}) failed with exit ${m.code}:\n${m.stderr.slice(-3000)}`);
    }
    const phases = JSON.parse(m.stdout.trim().split('\n').filter((l) => l.startsWith('{"kind"')).pop() ?? '{}');
    const counted = countOutput(outdir);
    removeTree(outdir);
    log(`synth: ${count} containers, ${kind}${extra.length ? ` ${extra.join(' ')}` : ''}, #${rep + 1}: ${m.seconds.toFixed(1)} s, ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
    const sample: SynthSample = {
      kind,
      count,
      rep,
      seconds: m.seconds,
      peakRssBytes: m.peakRssBytes,
      loadMs: phases.loadMs,
      constructMs: phases.constructMs,
      synthMs: phases.synthMs,
      outputBytes: counted.bytes,
    };
    return { sample, counted };
  };
  for (const count of options.counts) {
    reps[count] = options.reps(count);
    for (let rep = 0; rep < reps[count]; rep++) {
      const outputs: Partial<Record<string, ReturnType<typeof countOutput>>> = {};
      for (const kind of pairOrder(rep)) {
        const { sample, counted } = await measure(kind, count, rep, []);
        if (rep === 0) {
          outputs[kind] = counted;
        }
        samples.push(sample);
      }
      if (rep === 0) {
        const lib = outputs.library!;
        const hand = outputs['hand-written']!;
        const same = JSON.stringify(lib.stacks) === JSON.stringify(hand.stacks);
        const sameShape = JSON.stringify(lib.shapes) === JSON.stringify(hand.shapes);
        if (!same) {
          throw new Error(
            `the hand-written app no longer declares the library's resources at ${count} containers; ` +
              `update bench/hand-written-app.ts.\nlibrary: ${JSON.stringify(lib.stacks)}\nhand-written: ${JSON.stringify(hand.stacks)}`,
          );
        }
        equivalence.push({ count, stacks: lib.stacks, sameShape });
      }
    }
  }
  // The diagnostic: the top count again, as many pairs, token traces off.
  const top = options.counts[options.counts.length - 1];
  const diagnostic: SynthSample[] = [];
  for (let rep = 0; rep < reps[top]; rep++) {
    for (const kind of pairOrder(rep)) {
      diagnostic.push((await measure(kind, top, rep, ['--no-token-traces'])).sample);
    }
  }
  removeTree(path.join(work, 'build'));
  return {
    counts: options.counts,
    reps,
    samples,
    equivalence,
    withoutTokenTraces: { count: top, samples: diagnostic },
    buildSeconds,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}
