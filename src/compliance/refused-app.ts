/**
 * An app that stops on a configuration error leaves no Terraform to apply, in any of its stacks.
 *
 * A ConfigurationError thrown while the app is built (a constructor, a factory such as
 * `Schedule.cron`), or a refusal thrown by `app.synth()` (a failed validation; the pack's
 * findings when run without the CLI), ends the user's program before cdktf writes anything: the
 * previous run's cdk.tf.json and its "3-2-1-1-0 OK" report stay in the output folder, and a
 * pipeline that runs `cdktf synth || true` and deploys would apply stale Terraform. No hook of
 * cdktf runs then, and the error is thrown in the user's `main.ts`, so the only place a library
 * sees it is the process: Node emits 'uncaughtExceptionMonitor' before it prints an uncaught
 * exception and exits 1 (lib/internal/process/execution.js `createOnGlobalUncaughtException`:
 * the monitor first, then 'uncaughtException' listeners, or the default print and exit code 1
 * when there are none; an unhandled rejection, in the default `throw` mode, takes the same path).
 *
 * The monitor is installed once per process, by the first refusal created (every
 * ConfigurationError is one: ../core/configuration-error.ts brands it, ../core/refusal.ts tells
 * this file), so a factory that throws before any
 * construct exists is covered too. It acts only when all of these hold:
 *
 * - the error is a refusal (a ConfigurationError, or an error ./hooks.ts marked): every other
 *   error gets Node's default behaviour, untouched;
 * - the process would die of it: no 'uncaughtException' listener and no capture callback. A
 *   test runner or a user's handler that keeps the process alive is left alone, and so is code
 *   that catches the error (then nothing is uncaught). Jest runs each test file with a copy of
 *   `process` (jest-util createProcessObject), so a monitor installed from a test never fires.
 *
 * Then it refuses every stack of the output folder, prints the error's message alone (where,
 * problem, fix: no stack trace) and exits 1, as Node would. Every stack, not only the one that
 * failed: a constructor error does not name its stack (a factory has none), the stacks after it
 * were never synthesized, and their earlier output is as stale as its own. Failing closed costs
 * a re-run of the synth after the fix; failing open deploys Terraform nobody checked.
 *
 * The output folder: CDKTF_OUTDIR, which `cdktf synth` sets for the app it runs (@cdktf/cli-core
 * synth-stack.js, with CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS); the folder of every App that
 * holds a construct of this library; and cdktf's default `cdktf.out` (cdktf/lib/app.js) when
 * neither is known and it holds a manifest. Its stacks: those of the previous manifest, every
 * folder under stacks/, and every stack of this library constructed so far. The manifest is
 * rewritten to point each at its refusal notice with an ERROR annotation, so `cdktf deploy
 * --skip-synth` refuses too (@cdktf/cli-core cdktf-project.js `readSynthesizedStacks`, then
 * synth.js `printAnnotations`). On a non-zero exit of the app the CLI prints its stderr and exits
 * 1 without reading the manifest (synth-stack.js `SynthStack.synth`).
 *
 * No cdktf import here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { brandRefusal, isRefusal, onRefusal } from '../core/refusal';
import { REFUSAL_NOTICE_FILE_NAME, writeRefusalNotice } from './refusal-notice';
import { REPORT_FILE_NAME, Refusal, renderRefusedReport } from './refused-report';

// cdktf's output layout (node_modules/cdktf/lib/manifest.js) and its ERROR annotation level
// (node_modules/cdktf/lib/annotations.js).
const MANIFEST_FILE_NAME = 'manifest.json';
const STACKS_FOLDER = 'stacks';
const STACK_METADATA_FILE_NAME = 'metadata.json';
const ERROR_ANNOTATION = '@cdktf/error';
const DEFAULT_OUTDIR = 'cdktf.out';

const state = {
  armed: false,
  /** Absolute output folder → ids of the stacks of this library constructed for it. */
  stacks: new Map<string, Set<string>>(),
  /** Stack folders whose refusal the synth already wrote, with its own findings: kept. */
  withheld: new Set<string>(),
};

// The first refusal created installs the monitor (a ConfigurationError is branded by its
// constructor, in core): a factory that throws before any construct exists is covered too.
onRefusal(armRefusedApp);

/**
 * Makes `error` (cdktf's, thrown when a stack's validations or annotations refuse it) a
 * refusal: its stack becomes its message, since it reports the user's configuration, not a bug.
 */
export function markRefusal(error: unknown): void {
  if (error instanceof Error && !isRefusal(error)) {
    error.stack = `${error.name}: ${error.message}`;
    brandRefusal(error);
  }
}

/** Records that stack `stackId` of this library writes into `outdir`. */
export function rememberStack(outdir: string, stackId: string): void {
  const key = path.resolve(outdir);
  const ids = state.stacks.get(key) ?? new Set<string>();
  ids.add(stackId);
  state.stacks.set(key, ids);
}

/** Records that the synth already withheld the stack folder `folder` with its own findings. */
export function rememberWithheld(folder: string): void {
  state.withheld.add(path.resolve(folder));
}

/** Installs the process monitor, once per copy of this library. */
export function armRefusedApp(): void {
  if (state.armed || typeof process === 'undefined' || typeof process.on !== 'function') {
    return;
  }
  state.armed = true;
  process.on('uncaughtExceptionMonitor', (error) =>
    stopOnRefusal(error, process, {
      write: (text) => fs.writeSync(2, text),
      exit: (code) => process.exit(code),
    }),
  );
}

/** What `stopOnRefusal` reads of the process. */
export interface ProcessView {
  readonly env: Record<string, string | undefined>;
  cwd(): string;
  listenerCount(event: 'uncaughtException'): number;
  hasUncaughtExceptionCaptureCallback(): boolean;
}

/** What `stopOnRefusal` does to the process. */
export interface ProcessActions {
  write(text: string): void;
  exit(code: number): void;
}

/**
 * The monitor: when `error` is a refusal the process would die of, refuses every stack of the
 * output folders, prints the message alone and exits 1. Returns whether it acted.
 */
export function stopOnRefusal(error: unknown, proc: ProcessView, actions: ProcessActions): boolean {
  if (!(error instanceof Error) || !isRefusal(error)) {
    return false;
  }
  if (proc.listenerCount('uncaughtException') > 0 || proc.hasUncaughtExceptionCaptureCallback()) {
    return false;
  }
  const lines = [error.message.trimEnd()];
  for (const outdir of outdirsOf(proc)) {
    try {
      const ids = refuseApp(outdir, error.message);
      if (ids.length > 0) {
        const stacks = path.relative(proc.cwd(), path.join(outdir, STACKS_FOLDER)) || '.';
        lines.push(`No stack of this app keeps Terraform: ${REFUSAL_NOTICE_FILE_NAME} instead in ${stacks}/ (${ids.join(', ')}).`);
      }
    } catch (e) {
      lines.push(`Could not withhold the Terraform in ${outdir}: ${(e as Error).message}`);
    }
  }
  actions.write(lines.join('\n') + '\n');
  actions.exit(1);
  return true;
}

/** The output folders to refuse: the CLI's, every App's that holds this library, else cdktf's default. */
function outdirsOf(proc: ProcessView): string[] {
  const outdirs = new Set<string>(state.stacks.keys());
  if (proc.env.CDKTF_OUTDIR) {
    outdirs.add(path.resolve(proc.cwd(), proc.env.CDKTF_OUTDIR));
  }
  const fallback = path.resolve(proc.cwd(), DEFAULT_OUTDIR);
  if (outdirs.size === 0 && fs.existsSync(path.join(fallback, MANIFEST_FILE_NAME))) {
    outdirs.add(fallback);
  }
  return [...outdirs];
}

/**
 * Refuses every stack of `outdir` with `message`: removes its Terraform, writes the refusal
 * notice and a report that says refused (unless the synth already withheld the stack with its
 * own findings), and rewrites the manifest so each stack points at its notice with an ERROR
 * annotation. Returns the ids of the stacks refused.
 */
export function refuseApp(outdir: string, message: string): string[] {
  const root = path.resolve(outdir);
  if (!fs.existsSync(root)) {
    return [];
  }
  const manifestPath = path.join(root, MANIFEST_FILE_NAME);
  const previous = readManifest(manifestPath);
  const stacksRoot = path.join(root, STACKS_FOLDER);
  const folders = fs.existsSync(stacksRoot) ? fs.readdirSync(stacksRoot, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name) : [];
  const ids = [...new Set([...Object.keys(previous.stacks), ...folders, ...(state.stacks.get(root) ?? [])])].sort();
  const refusal: Refusal = {
    reason: 'the app stopped on a configuration error before all of its stacks were synthesized, so none of them keeps Terraform',
    findings: [message.trimEnd()],
  };
  const stacks: Record<string, unknown> = {};
  for (const id of ids) {
    const workingDirectory = path.join(STACKS_FOLDER, id);
    const entry = { workingDirectory, stackMetadataPath: path.join(workingDirectory, STACK_METADATA_FILE_NAME) };
    const folder = path.join(root, workingDirectory);
    let notice = path.join(workingDirectory, REFUSAL_NOTICE_FILE_NAME);
    if (!(state.withheld.has(folder) && fs.existsSync(path.join(root, notice)))) {
      notice = writeRefusalNotice(root, entry, id, refusal);
      fs.writeFileSync(path.join(folder, REPORT_FILE_NAME), renderRefusedReport(id, refusal));
    }
    const before = previous.stacks[id] ?? {};
    stacks[id] = {
      name: id,
      constructPath: before.constructPath ?? id,
      workingDirectory,
      synthesizedStackPath: notice,
      stackMetadataPath: entry.stackMetadataPath,
      annotations: [{ constructPath: before.constructPath ?? id, level: ERROR_ANNOTATION, message: message.trimEnd() }],
      dependencies: before.dependencies ?? [],
    };
  }
  fs.writeFileSync(manifestPath, `${JSON.stringify({ version: previous.version ?? 'unknown', stacks }, undefined, 2)}\n`);
  return ids;
}

/** The previous synth's manifest, or an empty one when there is none (or it is not JSON). */
function readManifest(file: string): { version?: string; stacks: Record<string, { constructPath?: string; dependencies?: string[] }> } {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    return { version: parsed.version, stacks: parsed.stacks ?? {} };
  } catch {
    return { stacks: {} };
  }
}
