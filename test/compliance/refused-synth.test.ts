/**
 * A topology the pack refuses leaves no Terraform to apply: the refused stack has no cdk.tf.json
 * (neither a fresh one nor one left from an earlier synth), the finding is still printed and the
 * synth still fails. A passing stack of the same app is written as usual: its Terraform is sound,
 * and cdktf writes stacks one by one.
 *
 * Both ways cdktf runs a stack's synthesizer are covered: on its own (`app.synth()`, which throws
 * on the finding before writing) and as the CLI runs the app (CDKTF_CONTINUE_SYNTH_ON_ERROR_
 * ANNOTATIONS: every stack written, the CLI reads them through the manifest, prints the
 * annotations and exits 1), the latter also through a real `cdktf synth`.
 *
 * Issue 22: a program that stops instead (a constructor's ConfigurationError, a failed
 * validation) leaves no Terraform in any stack of the app, the stale output of an earlier synth
 * included, prints the message without a trace and exits 1, through a real `cdktf synth` too.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SynthStack } from '@cdktf/cli-core/src/lib/synth-stack';
import { printAnnotations } from '@cdktf/cli-core/src/lib/synth';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { App, Aspects, TerraformStack, Testing } from 'cdktf';
import { BackupBucket, ThreeTwoOneChecks } from '../../src';
import { REPORT_FILE_NAME } from '../../src/compliance/hooks';
import { isRefusal } from '../../src/core/refusal';
import { REFUSAL_NOTICE_FILE_NAME } from '../../src/compliance/refused-stack';
import { hostStack, LOCAL, postgres } from './stacks';
import { tempDirs } from '../support/synth';

const root = path.resolve(__dirname, '..', '..');
const CONTINUE = 'CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS';
/** The finding a one-medium, one-site topology gets (the rule and its fix). */
const OFFSITE_FINDING = 'db-host/db [OneOffsite]: only 1 site (docker-host)';
const OFFSITE_FIX = 'Fix: add an offsite copy';

const tmp = tempDirs();

const stackFile = (outdir: string, stack: string, name: string) => path.join(outdir, 'stacks', stack, name);

/** A Terraform file as an earlier, passing synth left it in the refused stack's folder. */
function seedStaleTerraform(outdir: string): string {
  const stale = stackFile(outdir, 'db-host', 'cdk.tf.json');
  fs.mkdirSync(path.dirname(stale), { recursive: true });
  fs.writeFileSync(stale, JSON.stringify({ resource: { docker_container: { db: { name: 'db' } } } }));
  return stale;
}

/** `ok-host`: a full 3-2-1-1-0 topology. `db-host`: one local disk only, refused by the pack. */
function twoStackApp(outdir: string): App {
  const app = new App({ outdir, stackTraces: false });
  Aspects.of(app).add(new ThreeTwoOneChecks({ printSummary: false }));
  postgres(hostStack(app, 'ok-host'), {}, {}, 'ok');
  postgres(hostStack(app, 'db-host'), { targets: [LOCAL()] });
  return app;
}

/** Runs `fn` with `name` set (or unset) in the environment: cdktf reads it when a stack is constructed. */
function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const before = process.env[name];
  if (value === undefined) {
    delete process.env[name];
  } else {
    process.env[name] = value;
  }
  try {
    return fn();
  } finally {
    if (before === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = before;
    }
  }
}

describe('app.synth() on its own', () => {
  test('throws the finding, and the refused stack has no cdk.tf.json, not even one left from an earlier synth', () => {
    // GIVEN
    const outdir = tmp('refused-app-');
    const stale = seedStaleTerraform(outdir);
    const app = withEnv(CONTINUE, undefined, () => twoStackApp(outdir));
    // WHEN
    let error: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      error = e as Error;
    }
    // THEN
    expect(error?.message).toContain(OFFSITE_FINDING);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(stackFile(outdir, 'db-host', 'cdk.tf'))).toBe(false);
    expect(fs.readFileSync(stackFile(outdir, 'db-host', REPORT_FILE_NAME), 'utf8')).toContain('OneOffsite');
    expect(fs.readFileSync(stackFile(outdir, 'db-host', REFUSAL_NOTICE_FILE_NAME), 'utf8')).toContain(`# ${OFFSITE_FINDING}`);
    // ok-host comes first and passes: written as usual
    expect(JSON.parse(fs.readFileSync(stackFile(outdir, 'ok-host', 'cdk.tf.json'), 'utf8')).resource).toBeDefined();
  });

  test('Testing.fullSynth of the refused stack throws the finding; of the passing stack, writes cdk.tf.json', () => {
    // GIVEN
    const app = Testing.app();
    Aspects.of(app).add(new ThreeTwoOneChecks({ printSummary: false }));
    const ok = hostStack(app, 'ok-host');
    postgres(ok);
    const refused = hostStack(app, 'db-host');
    postgres(refused, { targets: [LOCAL()] });
    // WHEN
    const okOut = Testing.fullSynth(ok);
    // THEN
    expect(fs.existsSync(stackFile(okOut, 'ok-host', 'cdk.tf.json'))).toBe(true);
    expect(fs.existsSync(stackFile(okOut, 'ok-host', REFUSAL_NOTICE_FILE_NAME))).toBe(false);
    expect(() => Testing.fullSynth(refused)).toThrow(OFFSITE_FINDING);
  });
});

describe('as the CLI runs the app (continue on ERROR annotations)', () => {
  test('the app writes no cdk.tf.json for the refused stack; the CLI reads the manifest, prints the finding and fails', () => {
    // GIVEN
    const outdir = tmp('refused-cli-mode-');
    const stale = seedStaleTerraform(outdir);
    const app = withEnv(CONTINUE, 'true', () => twoStackApp(outdir));
    // WHEN
    app.synth();
    // THEN: the Terraform of the refused stack is gone, the passing stack's is there
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readdirSync(path.join(outdir, 'stacks', 'db-host')).sort()).toEqual([REPORT_FILE_NAME, REFUSAL_NOTICE_FILE_NAME, 'metadata.json'].sort());
    expect(fs.existsSync(stackFile(outdir, 'ok-host', 'cdk.tf.json'))).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    expect(manifest.stacks['db-host'].synthesizedStackPath).toBe(path.join('stacks', 'db-host', REFUSAL_NOTICE_FILE_NAME));
    expect(manifest.stacks['db-host'].annotations).toContainEqual(expect.objectContaining({ level: '@cdktf/error', message: expect.stringContaining(OFFSITE_FINDING) }));
    expect(manifest.stacks['ok-host'].synthesizedStackPath).toBe(path.join('stacks', 'ok-host', 'cdk.tf.json'));
    expect(manifest.stacks['ok-host'].annotations.filter((a: { level: string }) => a.level === '@cdktf/error')).toEqual([]);
    expect(JSON.parse(fs.readFileSync(stackFile(outdir, 'db-host', 'metadata.json'), 'utf8'))).toEqual({
      '//': { refused: expect.arrayContaining([expect.stringContaining(OFFSITE_FINDING)]) },
      'terraform': {},
    });
  });

  test('what the CLI does next (its own code): reads every stack through the manifest, prints the finding, refuses', async () => {
    // GIVEN
    const outdir = tmp('refused-cli-read-');
    withEnv(CONTINUE, 'true', () => twoStackApp(outdir)).synth();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    // WHEN
    const stacks = await SynthStack.readSynthesizedStacks(outdir);
    let refusal: Error | undefined;
    try {
      printAnnotations(stacks);
    } catch (e) {
      refusal = e as Error;
    }
    const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
    log.mockRestore();
    // THEN
    expect(stacks.map((s) => s.name).sort()).toEqual(['db-host', 'ok-host']);
    expect(printed).toContain(`ERROR [db-host/db]: ${OFFSITE_FINDING}`);
    expect(refusal?.message).toMatch(/error annotations have been encountered/);
  });
});

describe('a real `cdktf synth` of an app with a refused stack', () => {
  test('exits 1 printing the finding and its fix; no cdk.tf.json for the refused stack, the passing stack written', () => {
    // GIVEN: a small app in its own folder, and a cdk.tf.json left by an earlier, passing synth
    const dir = tmp('refused-synth-');
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(
      path.join(dir, 'main.ts'),
      [
        "import { App, Aspects } from 'cdktf';",
        `import { ThreeTwoOneChecks } from '${path.join(root, 'src')}';`,
        `import { hostStack, LOCAL, postgres } from '${path.join(root, 'test', 'compliance', 'stacks')}';`,
        'const app = new App();',
        'Aspects.of(app).add(new ThreeTwoOneChecks());',
        "postgres(hostStack(app, 'ok-host'), {}, {}, 'ok');",
        "postgres(hostStack(app, 'db-host'), { targets: [LOCAL()] });",
        'app.synth();',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(dir, 'cdktf.json'),
      JSON.stringify({ language: 'typescript', app: `npx ts-node --project ${path.join(root, 'tsconfig.dev.json')} main.ts`, projectId: 'refused-synth', sendCrashReports: 'false' }),
    );
    const outdir = path.join(dir, 'cdktf.out');
    const stale = seedStaleTerraform(outdir);
    // WHEN
    const synth = cdktf(dir, ['synth', '--output', outdir]);
    // THEN
    expect(synth.output).toContain(`ERROR [db-host/db]: ${OFFSITE_FINDING}`);
    expect(synth.output).toContain(OFFSITE_FIX);
    expect(synth.code).toBe(1);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readdirSync(path.join(outdir, 'stacks', 'db-host')).filter((f) => /\.tf(\.json)?$/.test(f))).toEqual([]);
    expect(fs.readFileSync(stackFile(outdir, 'db-host', REPORT_FILE_NAME), 'utf8')).toContain('OneOffsite');
    expect(JSON.parse(fs.readFileSync(stackFile(outdir, 'ok-host', 'cdk.tf.json'), 'utf8')).resource.docker_container).toBeDefined();

    // AND: deploying what that synth left refuses on the same finding, before any Terraform runs
    const deploy = cdktf(dir, ['deploy', 'db-host', '--skip-synth', '--auto-approve', '--output', outdir]);
    expect(deploy.output).toContain(`ERROR [db-host/db]: ${OFFSITE_FINDING}`);
    expect(deploy.code).toBe(1);

    // AND: Terraform run by hand in the refused stack's folder finds nothing to apply
    const plan = spawnSync('terraform', [`-chdir=${path.join(outdir, 'stacks', 'db-host')}`, 'plan', '-input=false', '-no-color'], {
      encoding: 'utf8',
      env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1' },
    });
    expect(`${plan.stdout}${plan.stderr}`).toContain('No configuration files');
    expect(plan.status).not.toBe(0);
  }, 300_000);
});

/** Runs the repository's cdktf CLI in `cwd`. */
function cdktf(cwd: string, args: string[]) {
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'cdktf'), args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1', FORCE_COLOR: '0', NO_COLOR: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
    timeout: 280_000,
  });
  return { code: result.status, output: `${result.stdout}\n${result.stderr}` };
}

// ---- Issue 22: a program that stops on a refusal leaves no Terraform in any stack ------------

/** `storage`: a BackupBucket, and with `secondPolicy` another bucket policy of its bucket, which its validation refuses. */
function storageStack(app: App, secondPolicy: boolean): TerraformStack {
  const storage = new TerraformStack(app, 'backup-storage');
  new AwsProvider(storage, 'aws', { region: 'eu-west-1' });
  const vault = new BackupBucket(storage, 'vault');
  if (secondPolicy) {
    new S3BucketPolicy(storage, 'mine', { bucket: vault.bucketName, policy: '{}' });
  }
  return storage;
}
const VALIDATION_FINDING = '[backup-storage/vault] backup-storage/vault: another aws_s3_bucket_policy (backup-storage/mine) sets the policy of this bucket';

describe('a stack whose synth throws: a failed validation (node.addValidation), the pack\'s findings, anything else', () => {
  test.each([
    ['as the CLI runs the app', 'true'],
    ['on its own', undefined],
  ])('%s: the error is a refusal without a trace, and the stack has no cdk.tf.json, a notice and a report that say refused', (_name, continueOnErrors) => {
    // GIVEN: a Terraform file left by an earlier, passing synth
    const outdir = tmp('refused-validation-');
    const stale = stackFile(outdir, 'backup-storage', 'cdk.tf.json');
    fs.mkdirSync(path.dirname(stale), { recursive: true });
    fs.writeFileSync(stale, '{}');
    const app = withEnv(CONTINUE, continueOnErrors, () => new App({ outdir, stackTraces: false }));
    storageStack(app, true);
    // WHEN
    let error: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      error = e as Error;
    }
    // THEN
    expect(error?.message).toContain(VALIDATION_FINDING);
    expect(isRefusal(error)).toBe(true);
    expect(error?.stack).toBe(`Error: ${error?.message}`);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readFileSync(stackFile(outdir, 'backup-storage', REFUSAL_NOTICE_FILE_NAME), 'utf8')).toContain(
      `# No Terraform for stack "backup-storage": a validation of its constructs failed.\n`,
    );
    expect(fs.readFileSync(stackFile(outdir, 'backup-storage', REFUSAL_NOTICE_FILE_NAME), 'utf8')).toContain(`# ${VALIDATION_FINDING}`);
    const report = fs.readFileSync(stackFile(outdir, 'backup-storage', REPORT_FILE_NAME), 'utf8');
    expect(report).toContain('**REFUSED: no Terraform was written for this stack** (a validation of its constructs failed)');
    expect(report).toContain(`- ${VALIDATION_FINDING}`);
  });

  test('any other error of a stack\'s synth keeps its stack trace (not a refusal), and the stack still keeps no Terraform', () => {
    // GIVEN: an aspect with a bug, and a Terraform file left by an earlier synth
    const outdir = tmp('synth-bug-');
    const stale = stackFile(outdir, 'db-host', 'cdk.tf.json');
    fs.mkdirSync(path.dirname(stale), { recursive: true });
    fs.writeFileSync(stale, '{}');
    const app = new App({ outdir, stackTraces: false });
    const stack = hostStack(app, 'db-host');
    postgres(stack);
    Aspects.of(stack).add({
      visit: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'node')");
      },
    });
    // WHEN
    let error: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      error = e as Error;
    }
    // THEN
    expect(error).toBeInstanceOf(TypeError);
    expect(isRefusal(error)).toBe(false);
    expect(error?.stack).toMatch(/\n\s+at /);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readFileSync(stackFile(outdir, 'db-host', REFUSAL_NOTICE_FILE_NAME), 'utf8')).toContain(
      '# No Terraform for stack "db-host": its synth failed.\n',
    );
  });

  test('the pack\'s findings that app.synth() throws on its own are a refusal too, without a trace', () => {
    const app = withEnv(CONTINUE, undefined, () => twoStackApp(tmp('refused-annotations-')));
    let error: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/^Encountered Annotations with level "ERROR":/);
    expect(isRefusal(error)).toBe(true);
    expect(error?.stack).toBe(`Error: ${error?.message}`);
  });

  test('a bucket that passes its validation writes its Terraform and no report', () => {
    const outdir = tmp('valid-storage-');
    const app = new App({ outdir, stackTraces: false });
    storageStack(app, false);
    app.synth();
    expect(fs.readdirSync(path.join(outdir, 'stacks', 'backup-storage'))).toEqual(['cdk.tf.json']);
  });
});

describe('a real `cdktf synth` of an app that stops on a refusal, after a good synth', () => {
  /**
   * A folder with cdktf.json and main.ts: `build` is the body of main.ts between `new App()` and
   * `app.synth()`, with the AWS imports when it uses them (ts-node checks for unused ones).
   */
  function project(prefix: string): { dir: string; outdir: string; write: (build: string[]) => void } {
    const dir = tmp(prefix);
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(
      path.join(dir, 'cdktf.json'),
      JSON.stringify({ language: 'typescript', app: `npx ts-node --project ${path.join(root, 'tsconfig.dev.json')} main.ts`, projectId: prefix, sendCrashReports: 'false' }),
    );
    const write = (build: string[]) =>
      fs.writeFileSync(
        path.join(dir, 'main.ts'),
        [
          ...(build.some((l) => l.includes('AwsProvider')) ? ["import { AwsProvider } from '@cdktf/provider-aws/lib/provider';"] : []),
          ...(build.some((l) => l.includes('S3BucketPolicy')) ? ["import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';"] : []),
          `import { App, Aspects${build.some((l) => l.includes('TerraformStack')) ? ', TerraformStack' : ''} } from 'cdktf';`,
          `import { ${build.some((l) => l.includes('BackupBucket')) ? 'BackupBucket, ' : ''}${build.some((l) => l.includes('Quiesce.')) ? 'Quiesce, ' : ''}ThreeTwoOneChecks } from '${path.join(root, 'src')}';`,
          `import { hostStack, postgres } from '${path.join(root, 'test', 'compliance', 'stacks')}';`,
          'const app = new App();',
          'Aspects.of(app).add(new ThreeTwoOneChecks());',
          ...build,
          'app.synth();',
          '',
        ].join('\n'),
      );
    return { dir, outdir: path.join(dir, 'cdktf.out'), write };
  }

  /** THEN, for every stack: no Terraform, a notice with `finding`, a report that says refused (no OK verdict). */
  function expectRefused(outdir: string, stacks: string[], finding: string) {
    expect(fs.readdirSync(path.join(outdir, 'stacks')).sort()).toEqual(stacks);
    for (const stack of stacks) {
      expect({ stack, files: fs.readdirSync(path.join(outdir, 'stacks', stack)).sort() }).toEqual({ stack, files: [REPORT_FILE_NAME, 'metadata.json', REFUSAL_NOTICE_FILE_NAME] });
      expect(fs.readFileSync(stackFile(outdir, stack, REFUSAL_NOTICE_FILE_NAME), 'utf8')).toContain(finding.split('\n')[0]);
      const report = fs.readFileSync(stackFile(outdir, stack, REPORT_FILE_NAME), 'utf8');
      expect(report).toContain('**REFUSED: no Terraform was written for this stack**');
      expect(report).not.toMatch(/3-2-1-1-0 OK/);
    }
  }

  /** The output of the failed synth says the message, with no stack trace and no source excerpt. */
  function expectMessageAlone(output: string, message: string) {
    expect(output).toContain(message);
    expect(output).not.toMatch(/^\s+at .*\(?.*:\d+:\d+\)?$/m);
    expect(output).not.toMatch(/\.(ts|js):\d+/);
    expect(output).not.toContain('[ConfigurationError');
  }

  test('a constructor that throws a ConfigurationError (a pg_dump written outside the volume, issue 22): exit 1, the message alone, no cdk.tf.json in any stack, refused.txt and a report that says refused', () => {
    // GIVEN: two passing stacks, synthesized
    const { dir, outdir, write } = project('refused-ctor-');
    write(["postgres(hostStack(app, 'ok-host'), {}, {}, 'ok');", "postgres(hostStack(app, 'db-host'));"]);
    const good = cdktf(dir, ['synth', '--output', outdir]);
    expect({ code: good.code, output: good.code === 0 ? '' : good.output }).toEqual({ code: 0, output: '' });
    expect(fs.readFileSync(stackFile(outdir, 'db-host', REPORT_FILE_NAME), 'utf8')).toContain('**3-2-1-1-0 OK**');
    expect(fs.existsSync(stackFile(outdir, 'ok-host', 'cdk.tf.json'))).toBe(true);
    // WHEN: db-host's dump goes to /var/lib/postgres/... while its volume is mounted at
    // /var/lib/postgresql/data (the mistake a new user made, issue 22); ok-host comes after it
    write([
      "postgres(hostStack(app, 'db-host'), { quiesce: Quiesce.exec(['pg_dump', '-U', 'gitea', '-f', '/var/lib/postgres/data/gitea.dump', 'gitea']) });",
      "postgres(hostStack(app, 'ok-host'), {}, {}, 'ok');",
    ]);
    const synth = cdktf(dir, ['synth', '--output', outdir]);
    // THEN
    const message =
      'db-host/db/backup: the quiesce command writes "/var/lib/postgres/data/gitea.dump", which lies in no volume of the container (mounted: pgdata at /var/lib/postgresql/data): ' +
      "the dump would stay in the container's own file system, never backed up, while every cycle reports success. Fix: write the dump into a backed-up volume, e.g. under its containerPath, or mount a volume where it is written";
    expect(synth.code).toBe(1);
    expectMessageAlone(synth.output, message);
    expect(synth.output).toContain('No stack of this app keeps Terraform: refused.txt instead in cdktf.out/stacks/ (db-host, ok-host).');
    expectRefused(outdir, ['db-host', 'ok-host'], message);

    // AND: deploying what that synth left refuses on the same message, before any Terraform runs
    const deploy = cdktf(dir, ['deploy', 'ok-host', '--skip-synth', '--auto-approve', '--output', outdir]);
    expect(deploy.output).toContain(`ERROR [ok-host]: ${message}`);
    expect(deploy.code).toBe(1);
  }, 600_000);

  test('a validation that fails: exit 1, the findings without a trace, no cdk.tf.json in any stack', () => {
    // GIVEN
    const { dir, outdir, write } = project('refused-valid-');
    const build = (secondPolicy: boolean) => [
      "const storage = new TerraformStack(app, 'backup-storage');",
      "new AwsProvider(storage, 'aws', { region: 'eu-west-1' });",
      ...(secondPolicy
        ? ["const vault = new BackupBucket(storage, 'vault');", "new S3BucketPolicy(storage, 'mine', { bucket: vault.bucketName, policy: '{}' });"]
        : ["new BackupBucket(storage, 'vault');"]),
      "postgres(hostStack(app, 'db-host'));",
    ];
    write(build(false));
    const good = cdktf(dir, ['synth', '--output', outdir]);
    expect({ code: good.code, output: good.code === 0 ? '' : good.output }).toEqual({ code: 0, output: '' });
    expect(fs.existsSync(stackFile(outdir, 'db-host', 'cdk.tf.json'))).toBe(true);
    // WHEN: a second policy of the bucket
    write(build(true));
    const synth = cdktf(dir, ['synth', '--output', outdir]);
    // THEN: backup-storage says why; db-host, synthesized after it, is refused with the same error
    expect(synth.code).toBe(1);
    expectMessageAlone(synth.output, VALIDATION_FINDING);
    expectRefused(outdir, ['backup-storage', 'db-host'], VALIDATION_FINDING);
    expect(fs.readFileSync(stackFile(outdir, 'backup-storage', REFUSAL_NOTICE_FILE_NAME), 'utf8')).toContain('a validation of its constructs failed');
  }, 600_000);
});
