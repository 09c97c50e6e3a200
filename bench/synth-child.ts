/**
 * One synth measurement, run as its own process (so its wall time and peak memory are its
 * own): `node synth-child.js <library|hand-written> <count> <outdir> [--no-token-traces]`.
 * Prints one JSON line with the in-process phases (module load, construction, synth) in
 * milliseconds.
 *
 * `--no-token-traces` is a diagnostic, never a goal's measurement: cdktf records a full stack
 * trace in every token it creates (Intrinsic, Lazy: `creationStack`, used only in error
 * messages; hashicorp/terraform-cdk#3892), and the option replaces that capture with an empty
 * one, to show how much of each app's time and memory is that upstream cost.
 */
import { performance } from 'perf_hooks';

const [kind, countArg, outdir, option] = process.argv.slice(2);
const count = Number(countArg);
if (!['library', 'hand-written'].includes(kind) || !Number.isInteger(count) || count < 1 || !outdir || ![undefined, '--no-token-traces'].includes(option)) {
  console.error('usage: synth-child <library|hand-written> <count> <outdir> [--no-token-traces]');
  process.exit(2);
}
const t0 = performance.now();
if (option === '--no-token-traces') {
  // cdktf's compiled modules call it as `(0, stack_trace_1.captureStackTrace)()`: the export
  // is read at each call, so replacing it here reaches every token.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('cdktf/lib/tokens/private/stack-trace').captureStackTrace = () => [];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { App } = require('cdktf') as typeof import('cdktf');
const build: (app: import('cdktf').App, n: number) => void =
  kind === 'library' ? require('./library-app').libraryApp : require('./hand-written-app').handWrittenApp;
const t1 = performance.now();
const app = new App({ outdir, skipValidation: false });
build(app, count);
const t2 = performance.now();
app.synth();
const t3 = performance.now();
console.log(JSON.stringify({ kind, count, loadMs: t1 - t0, constructMs: t2 - t1, synthMs: t3 - t2 }));
