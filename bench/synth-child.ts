/**
 * One synth measurement, run as its own process (so its wall time and peak memory are its
 * own): `node synth-child.js <library|hand-written> <count> <outdir>`. Prints one JSON line
 * with the in-process phases (module load, construction, synth) in milliseconds.
 */
import { performance } from 'perf_hooks';

const [kind, countArg, outdir] = process.argv.slice(2);
const count = Number(countArg);
if (!['library', 'hand-written'].includes(kind) || !Number.isInteger(count) || count < 1 || !outdir) {
  console.error('usage: synth-child <library|hand-written> <count> <outdir>');
  process.exit(2);
}
const t0 = performance.now();
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
