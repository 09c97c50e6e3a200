/** The agent is portable POSIX sh: ShellCheck-clean, and parsed by busybox sh and dash. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { AGENT_PARTS_DIR, agentParts } from '../../src/agent/agent-asset';
import { agentSourceFile } from '../support/test-values';

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
