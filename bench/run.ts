/**
 * `npm run bench`: synth at scale and the backup agent, measured side by side, written as
 * bench/report.md with SVG plots and bench/results.json.
 *
 *   npm run bench                      the full bench (writes bench/report.md, results.json, *.svg)
 *   npm run bench -- --quick           a small version of every case (about two minutes), written
 *                                      to bench/.work/quick/ so the committed report stays
 *   npm run bench -- --out DIR         write somewhere else
 *   npm run bench -- --only synth      only one part (synth | agent)
 *   npm run bench -- --days N          another number of simulated days
 *
 * Scratch goes to bench/.work/ (gitignored). The agent part needs root (mount namespaces);
 * restic, busybox, jq and GNU time come from scripts/ensure-system-tools.js, run first as
 * `npm test` runs it.
 * Missed goals do not fail the run: they are what the report is about. A broken case does.
 */
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runAgentBench } from './agent';
import { agentScript } from '../src/agent/agent-asset';
import { BenchResults, evaluateGoals, writeReport } from './report';
import { countsOfResults, routineCallsWarning } from './restic-calls';
import { runSynthBench } from './synth-scale';

const ROOT = path.join(__dirname, '..');

interface Config {
  readonly mode: 'full' | 'quick';
  readonly synthCounts: number[];
  readonly synthReps: (count: number) => number;
  readonly dataBytes: number;
  readonly agentReps: number;
  readonly days: number;
  readonly incrementalFanOut: boolean;
  readonly choices: string[];
}

const FULL: Config = {
  mode: 'full',
  synthCounts: [1, 10, 100, 1000],
  synthReps: (count) => (count >= 1000 ? 3 : 5),
  dataBytes: 500_000_000,
  agentReps: 5,
  days: 30,
  incrementalFanOut: true,
  choices: [
    'Synth: 5 repetitions at 1, 10 and 100 containers, **3 at 1,000**. One pair of 1,000-container synths (library and ' +
      'hand-written) takes 4 to 7 minutes on this shared 2-core machine, so 5 pairs would take longer than all the rest ' +
      'of the bench; the 1,000-container ratios (and the 1,000 vs 100 growth) are therefore medians of 3, not 5.',
    'Agent: 5 repetitions of every timed case on a 500 MB data set; 30 simulated days (sizes, measured once: they are ' +
      'deterministic).',
    'Runtime: the whole bench takes about 40 to 50 minutes here, over the suggested half hour: the 1,000-container synths ' +
      'and the 30 daily 500 MB tarballs alone take about 25 minutes, and every other case keeps its 5 repetitions. ' +
      '`--only synth` and `--only agent` split it.',
  ],
};

const QUICK: Config = {
  mode: 'quick',
  synthCounts: [1, 4, 16],
  synthReps: () => 1,
  dataBytes: 20_000_000,
  agentReps: 1,
  days: 1,
  incrementalFanOut: true,
  choices: [
    'Quick variant, for CI: it proves every case still runs, its figures are not the report. Synth at 1, 4 and 16 ' +
      'containers, **1 repetition** each; the agent on a 20 MB data set, **1 repetition** of every case (each agent run ' +
      'pays seconds of fixed restic costs whatever the data size), 1 simulated day. The "linear growth" limit scales ' +
      'with the counts (1.1 × the count ratio).',
  ],
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function version(pkg: string): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  const base = process.argv.includes('--quick') ? QUICK : FULL;
  const daysArg = arg('--days');
  const config: Config = daysArg === undefined ? base : { ...base, days: Number(daysArg), choices: [...base.choices, `${daysArg} simulated days (--days).`] };
  if (!Number.isInteger(config.days) || config.days < 1) {
    throw new Error(`--days takes a whole number of days, at least 1; got ${daysArg}`);
  }
  const out = path.resolve(arg('--out') ?? (config.mode === 'quick' ? path.join(__dirname, '.work', 'quick') : __dirname));
  const only = arg('--only');
  if (only !== undefined && !['synth', 'agent'].includes(only)) {
    throw new Error(`--only takes synth or agent, got ${only}`);
  }
  const work = path.join(__dirname, '.work', config.mode);
  fs.mkdirSync(work, { recursive: true });
  const started = new Date();
  const t0 = process.hrtime.bigint();
  const elapsed = () => `${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0)}s`;
  const log = (line: string) => console.log(`[bench ${elapsed()}] ${line}`);
  const loadStart = os.loadavg();
  // What is measured is the tree as it is now (others may commit while the bench runs).
  const commitAtStart = git(['rev-parse', 'HEAD']);
  // "Before" for the restic call counts: the last committed full run (the working tree's
  // results.json may already be this branch's own earlier run).
  const committed = git(['show', 'HEAD:bench/results.json']);
  const committedAt = git(['log', '-1', '--format=%h (%cs)', '--', 'bench/results.json']);
  const resticCallsBefore = committed === '' ? undefined : countsOfResults(JSON.parse(committed), `bench/results.json of commit ${committedAt || 'HEAD'}`);
  const dirtyAtStart = git(['status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench']) !== '';
  log(`${config.mode} run, output to ${out}`);

  // The system tools the bench runs (restic, busybox, jq, GNU time, ...), as `npm test` gets them.
  const tools = spawnSync('node', [path.join(ROOT, 'scripts', 'ensure-system-tools.js')], { stdio: 'inherit' });
  if (tools.status !== 0) {
    throw new Error('scripts/ensure-system-tools.js could not provide the system tools (see above)');
  }
  if (only !== 'synth') {
    if (process.getuid?.() !== 0) {
      throw new Error('the agent benchmark runs the sidecar in mount namespaces: run it as root (or pass --only synth)');
    }
    for (const tool of ['restic', 'busybox', 'jq', 'unshare', 'tar', 'gzip']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
        throw new Error(`${tool} is missing: run \`node scripts/ensure-system-tools.js\` (as root)`);
      }
    }
  }
  if (!fs.existsSync('/usr/bin/time')) {
    throw new Error('GNU time (/usr/bin/time) is missing: run `node scripts/ensure-system-tools.js` (as root) or `apt-get install time`');
  }

  const results: {
    meta?: BenchResults['meta'];
    synth?: BenchResults['synth'];
    agent?: BenchResults['agent'];
  } = {};
  // Each part's results are kept as soon as it ends: a later failure does not lose them.
  const partial = path.join(work, 'partial-results.json');
  if (only !== 'agent') {
    const counts = config.synthCounts;
    results.synth = await runSynthBench({ work: path.join(work, 'synth'), counts, reps: config.synthReps, log });
    fs.writeFileSync(partial, JSON.stringify(results, null, 1));
    log(`synth results kept in ${partial}`);
  }
  if (only !== 'synth') {
    results.agent = await runAgentBench({
      work: path.join(work, 'agent'),
      dataBytes: config.dataBytes,
      reps: config.agentReps,
      days: config.days,
      incrementalFanOut: config.incrementalFanOut,
      log,
    });
  }

  const finished = new Date();
  const cpus = os.cpus();
  const bench: BenchResults = {
    meta: {
      mode: config.mode,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      command: `npm run bench${config.mode === 'quick' ? ' -- --quick' : ''}${only ? ` --only ${only}` : ''}`,
      machine: {
        cpus: cpus.length,
        cpuModel: cpus[0]?.model ?? '?',
        memoryBytes: os.totalmem(),
        kernel: os.release(),
        loadAverageStart: loadStart,
        loadAverageEnd: os.loadavg(),
      },
      node: process.version,
      gitCommit: commitAtStart,
      gitDirty: dirtyAtStart,
      agentScript: {
        path: 'src/agent/parts/*.sh, joined',
        sha256: createHash('sha256').update(agentScript()).digest('hex').slice(0, 12),
        committed: git(['status', '--porcelain', '--', 'src/agent/parts']) === '',
      },
      versions: {
        cdktf: version('cdktf'),
        '@cdktf/provider-aws': version('@cdktf/provider-aws'),
        '@cdktf/provider-docker': version('@cdktf/provider-docker'),
        restic: (spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout ?? '').split(' ')[1] ?? '?',
      },
      choices: config.choices,
    },
    synth: results.synth,
    agent: results.agent,
    resticCallsBefore,
  };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(bench, null, 1) + '\n');
  await writeReport(out, bench);
  for (const g of evaluateGoals(bench)) {
    log(`${g.met ? 'met   ' : 'MISSED'} ${g.title}: ${g.measured.median.toFixed(4)}x (${g.measured.min.toFixed(4)}–${g.measured.max.toFixed(4)}), goal ${g.limitText}`);
  }
  const warning = bench.agent && routineCallsWarning(bench.agent.resticCalls);
  if (warning) {
    log(`WARNING: ${warning}`);
  }
  log(`done in ${elapsed()}: ${path.join(out, 'report.md')}`);
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.stack : err}`);
  process.exit(1);
});
