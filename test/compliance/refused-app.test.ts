/**
 * An app that stops on a configuration error leaves no Terraform to apply (issue 22): the
 * process monitor of src/compliance/refused-app.ts, driven here with a stand-in for the process
 * (jest gives each test file a copy of `process` whose events Node never emits, so the monitor
 * this library installs never fires under jest). The real program, stopped by a real error under
 * a real `cdktf synth`, is test/compliance/refused-synth.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SynthStack } from '@cdktf/cli-core/src/lib/synth-stack';
import { printAnnotations } from '@cdktf/cli-core/src/lib/synth';
import { App, Aspects } from 'cdktf';
import { ThreeTwoOneChecks } from '../../src';
import { REPORT_FILE_NAME } from '../../src/compliance/hooks';
import { isRefusal } from '../../src/core/refusal';
import { markRefusal, refuseApp, stopOnRefusal } from '../../src/compliance/refused-app';
import { REFUSAL_NOTICE_FILE_NAME } from '../../src/compliance/refused-stack';
import { ConfigurationError } from '../../src/core/configuration-error';
import { tempDirs } from '../support/synth';
import { LOCAL, hostStack, postgres } from './stacks';

const tmp = tempDirs();
const MESSAGE = 'db-host/db: the volume name "pgdata" is declared more than once. Fix: give every entry of `volumes` its own name, or mount the same volume once';
const stackFile = (outdir: string, stack: string, name: string) => path.join(outdir, 'stacks', stack, name);

/** `outdir` as a good synth of two passing stacks (ok-host, db-host) left it. */
function goodSynth(prefix: string): string {
  const outdir = tmp(prefix);
  const app = new App({ outdir, stackTraces: false });
  Aspects.of(app).add(new ThreeTwoOneChecks({ printSummary: false }));
  postgres(hostStack(app, 'ok-host'), {}, {}, 'ok');
  postgres(hostStack(app, 'db-host'));
  app.synth();
  return outdir;
}

/** The error a constructor throws: the same volume twice. */
function constructorError(): ConfigurationError {
  try {
    postgres(hostStack(new App({ outdir: tmp('ctor-') }), 'db-host'), {}, { volumes: [{ name: 'pgdata', containerPath: '/a' }, { name: 'pgdata', containerPath: '/b' }] });
  } catch (e) {
    return e as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

/** A stand-in for the process: its environment, its listeners, and what the monitor wrote and exited with. */
function fakeProcess(env: Record<string, string | undefined>, handlers = { listeners: 0, capture: false }) {
  const written: string[] = [];
  const exits: number[] = [];
  return {
    proc: {
      env,
      cwd: () => '/',
      listenerCount: () => handlers.listeners,
      hasUncaughtExceptionCaptureCallback: () => handlers.capture,
    },
    actions: { write: (t: string) => written.push(t), exit: (c: number) => exits.push(c) },
    written,
    exits,
  };
}

const terraformFiles = (outdir: string) =>
  fs.readdirSync(path.join(outdir, 'stacks')).flatMap((s) => fs.readdirSync(path.join(outdir, 'stacks', s)).filter((f) => /\.tf(\.json)?$/.test(f)).map((f) => `${s}/${f}`));

describe('what the monitor acts on', () => {
  test('a ConfigurationError is a refusal, and creating it installs the monitor once', () => {
    // WHEN
    const first = new ConfigurationError('a', 'b', 'c');
    new ConfigurationError('d', 'e', 'f');
    // THEN: installed on this file's copy of process (jest's), once
    expect(isRefusal(first)).toBe(true);
    expect(process.listeners('uncaughtExceptionMonitor')).toHaveLength(1);
    expect(first.stack).toBe('ConfigurationError: a: b. Fix: c');
  });

  test('an error cdktf throws for a refused stack becomes a refusal with its message as its whole stack', () => {
    // GIVEN
    const error = new Error('Validation failed with the following errors:\n  [s/v] s/v: bad. Fix: good');
    // WHEN
    markRefusal(error);
    // THEN
    expect(isRefusal(error)).toBe(true);
    expect(error.stack).toBe(`Error: ${error.message}`);
    expect(isRefusal(new Error('a bug'))).toBe(false);
    expect(isRefusal('a string')).toBe(false);
  });

  test('any other error: nothing written, nothing removed, the process left to Node', () => {
    // GIVEN
    const outdir = goodSynth('other-error-');
    const { proc, actions, written, exits } = fakeProcess({ CDKTF_OUTDIR: outdir });
    // WHEN
    const acted = stopOnRefusal(new TypeError("Cannot read properties of undefined (reading 'node')"), proc, actions);
    // THEN
    expect(acted).toBe(false);
    expect(written).toEqual([]);
    expect(exits).toEqual([]);
    expect(terraformFiles(outdir).sort()).toEqual(['db-host/cdk.tf.json', 'ok-host/cdk.tf.json']);
  });

  test.each([
    ['an uncaughtException listener (a test runner, a handler of the user)', { listeners: 1, capture: false }],
    ['an uncaught exception capture callback (a domain)', { listeners: 0, capture: true }],
  ])('a refusal that %s handles: left alone', (_name, handlers) => {
    // GIVEN
    const outdir = goodSynth('handled-');
    const { proc, actions, written, exits } = fakeProcess({ CDKTF_OUTDIR: outdir }, handlers);
    // WHEN
    const acted = stopOnRefusal(constructorError(), proc, actions);
    // THEN
    expect(acted).toBe(false);
    expect(written).toEqual([]);
    expect(exits).toEqual([]);
    expect(terraformFiles(outdir)).toHaveLength(2);
  });
});

describe('a program about to die of a ConfigurationError', () => {
  test('every stack of the output folder is refused, the message alone is printed, and the exit code is 1', async () => {
    // GIVEN: the CLI's output folder, as a good synth left it
    const outdir = goodSynth('refused-app-');
    const { proc, actions, written, exits } = fakeProcess({ CDKTF_OUTDIR: outdir });
    // WHEN
    const acted = stopOnRefusal(constructorError(), proc, actions);
    // THEN: no Terraform in any stack
    expect(acted).toBe(true);
    expect(exits).toEqual([1]);
    expect(terraformFiles(outdir)).toEqual([]);
    for (const stack of ['db-host', 'ok-host']) {
      expect(fs.readFileSync(stackFile(outdir, stack, REFUSAL_NOTICE_FILE_NAME), 'utf8')).toContain(`# ${MESSAGE}\n`);
      const report = fs.readFileSync(stackFile(outdir, stack, REPORT_FILE_NAME), 'utf8');
      expect(report).toContain('**REFUSED: no Terraform was written for this stack**');
      expect(report).toContain(`- ${MESSAGE}`);
      expect(report).not.toContain('3-2-1-1-0 OK');
    }
    // AND: the message first, without a trace, then where the notices are
    const text = written.join('');
    expect(text.startsWith(`${MESSAGE}\n`)).toBe(true);
    expect(text).toContain(`No stack of this app keeps Terraform: refused.txt instead in ${path.relative('/', path.join(outdir, 'stacks'))}/ (db-host, ok-host).`);
    expect(text).not.toMatch(/\bat .*:\d+:\d+/);

    // AND: the manifest points every stack at its notice, with the error as an ERROR annotation,
    // so what the CLI does with --skip-synth (its own code) prints it and refuses
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const stacks = await SynthStack.readSynthesizedStacks(outdir);
    let refusal: Error | undefined;
    try {
      printAnnotations(stacks);
    } catch (e) {
      refusal = e as Error;
    }
    const printed = log.mock.calls.map((c) => String(c[0]));
    log.mockRestore();
    expect(stacks.map((s) => [s.name, s.synthesizedStackPath])).toEqual([
      ['db-host', path.join('stacks', 'db-host', REFUSAL_NOTICE_FILE_NAME)],
      ['ok-host', path.join('stacks', 'ok-host', REFUSAL_NOTICE_FILE_NAME)],
    ]);
    expect(printed).toEqual([`ERROR [db-host]: ${MESSAGE}`, `ERROR [ok-host]: ${MESSAGE}`]);
    expect(refusal?.message).toMatch(/error annotations have been encountered/);
  });

  test('without the CLI, the folder of the App that holds the library is refused, also a stack never synthesized', () => {
    // GIVEN: an App built into its own folder, with a stale cdk.tf.json of one stack and no manifest
    const outdir = tmp('refused-own-app-');
    const app = new App({ outdir });
    postgres(hostStack(app, 'db-host'));
    postgres(hostStack(app, 'new-host'), {}, {}, 'new');
    fs.mkdirSync(path.join(outdir, 'stacks', 'db-host'), { recursive: true });
    fs.writeFileSync(stackFile(outdir, 'db-host', 'cdk.tf.json'), '{}');
    const { proc, actions, exits } = fakeProcess({});
    // WHEN
    stopOnRefusal(constructorError(), proc, actions);
    // THEN
    expect(exits).toEqual([1]);
    expect(fs.existsSync(stackFile(outdir, 'db-host', 'cdk.tf.json'))).toBe(false);
    expect(fs.existsSync(stackFile(outdir, 'new-host', REFUSAL_NOTICE_FILE_NAME))).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.stacks).sort()).toEqual(['db-host', 'new-host']);
  });

  test('a stack the synth already withheld keeps its own notice; the others get the error', () => {
    // GIVEN: db-host refused by the pack in an earlier step of the same program
    const outdir = goodSynth('refused-kept-');
    const app = new App({ outdir, stackTraces: false });
    Aspects.of(app).add(new ThreeTwoOneChecks({ printSummary: false }));
    postgres(hostStack(app, 'db-host'), { targets: [LOCAL()] });
    try {
      app.synth();
    } catch {
      // the pack's finding: the refusal under test comes next
    }
    const own = fs.readFileSync(stackFile(outdir, 'db-host', REFUSAL_NOTICE_FILE_NAME), 'utf8');
    // WHEN
    refuseApp(outdir, MESSAGE);
    // THEN
    expect(fs.readFileSync(stackFile(outdir, 'db-host', REFUSAL_NOTICE_FILE_NAME), 'utf8')).toBe(own);
    expect(fs.readFileSync(stackFile(outdir, 'ok-host', REFUSAL_NOTICE_FILE_NAME), 'utf8')).toContain(`# ${MESSAGE}`);
  });
});
