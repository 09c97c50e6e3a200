/**
 * The agent is portable POSIX sh: ShellCheck-clean, and parsed by busybox sh and dash. So are
 * the one-shot scripts the library builds in TypeScript (the installer's, a swarm service's
 * initializer's), taken from the synthesized stacks and from the function that writes them.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AGENT_PARTS_DIR, agentParts } from '../../src/agent/agent-asset';
import { installScript } from '../../src/agent/agent-install';
import { app, BUCKET_WITH_INIT_CREDENTIALS, hostStack, LOCAL, postgres, postgresService } from '../compliance/stacks';
import { renderTerraformString } from '../support/terraform-string';
import { containerNamed, synthJson, terraformReferenceValues } from '../support/synth';
import { agentSourceFile } from '../support/test-values';

/** The `sh -c` program of one-shot container `name` in a synthesized stack, as Terraform renders it. */
function oneShotScript(json: any, name: string): string {
  const entrypoint: string[] = containerNamed(json, name).entrypoint;
  expect(entrypoint.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  return renderTerraformString(entrypoint[2], terraformReferenceValues(json), `${name}'s entrypoint`);
}

/** The one-shot scripts, by what makes them. */
function oneShotScripts(): Array<[string, string]> {
  const container = hostStack(app());
  postgres(container, { targets: [LOCAL(), BUCKET_WITH_INIT_CREDENTIALS()] });
  const service = hostStack(app());
  postgresService(service, { targets: [LOCAL(), BUCKET_WITH_INIT_CREDENTIALS()] });
  return [
    ['a container\'s installer (a local target, init credentials), as synthesized', oneShotScript(synthJson(container), 'db-backup-install')],
    ['a swarm service\'s initializer, as synthesized', oneShotScript(synthJson(service), 'db-backup-init')],
    ['an installer with nothing else to do', renderTerraformString(installScript({ initRepositories: false, localTargets: [] }))],
    // (A `$` in a host path would be an SC2016 note: single-quoted on purpose, which
    // shellcheck cannot know.)
    [
      'an installer of two local targets, one with a quote and a space in its host path',
      renderTerraformString(installScript({ initRepositories: true, localTargets: [{ name: 'a', hostPath: '/mnt/a' }, { name: 'b', hostPath: "/mnt/it's b" }] })),
    ],
  ];
}

describe('backup-agent.sh as a POSIX sh script', () => {
  test('shellcheck -s sh reports nothing, not even style notes', () => {
    // WHEN
    const r = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', agentSourceFile()], { encoding: 'utf8' });
    // THEN
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test.each([
    ['busybox', ['busybox', 'sh', '-n']],
    ['dash', ['dash', '-n']],
  ])('%s parses it', (_shell, argv) => {
    const r = spawnSync(argv[0], [...argv.slice(1), agentSourceFile()], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('follows the house style: a main function called with "$@", and no bash-only syntax', () => {
    const text = fs.readFileSync(agentSourceFile(), 'utf8');
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text.trimEnd().endsWith('main "$@"')).toBe(true);
    expect(text).not.toMatch(/\[\[ |\blocal\s|\bfunction\s|<<<|\$\{[A-Za-z_]+\[/);
  });

  test('each part of the agent is at most 300 lines', () => {
    const long = agentParts()
      .map((f) => [f, fs.readFileSync(path.join(AGENT_PARTS_DIR, f), 'utf8').split('\n').length - 1] as const)
      .filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });

  test('never pipes restic into another command (SIGPIPE would leave a stale lock)', () => {
    const text = fs.readFileSync(agentSourceFile(), 'utf8');
    const code = text.split('\n').filter((l) => !l.trimStart().startsWith('#'));
    expect(code.filter((l) => /\brestic\b[^|#]*\|[^|]/.test(l))).toEqual([]);
  });
});

describe('the one-shot scripts built in TypeScript, as POSIX sh', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'one-shot-scripts-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const scripts = oneShotScripts().map(([what, text], i) => {
    const file = path.join(dir, `script-${i}.sh`);
    fs.writeFileSync(file, text);
    return [what, file] as const;
  });

  test.each(scripts)('shellcheck -s sh reports nothing in %s, not even style notes', (_what, file) => {
    const r = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', file], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test.each(scripts)('busybox sh and dash parse %s', (_what, file) => {
    for (const argv of [['busybox', 'sh', '-n'], ['dash', '-n']]) {
      const r = spawnSync(argv[0], [...argv.slice(1), file], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });
});
