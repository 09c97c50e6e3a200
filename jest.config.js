/**
 * Jest runs the TypeScript sources directly through ts-jest (no build step before tests), in
 * two projects:
 *
 * - `pure`: every test outside test/engine and test/e2e. None needs a Docker Engine (the agent
 *   tests run the synthesized sidecar in the sidecar sandbox, a mount namespace on the host),
 *   so this project has no global setup: `npx jest test/model` starts no dockerd.
 * - `engine`: test/engine and test/e2e, the real-engine tier. Its globalSetup starts one
 *   private Docker Engine for the run (test/support/engine/global-setup.ts) and its
 *   globalTeardown stops it. Jest runs a project's global setup only when at least one of
 *   the project's tests is selected.
 */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }],
};

/** The folders of the real-engine tier (relative to test/). */
const ENGINE_FOLDERS = ['engine', 'e2e'];

module.exports = {
  // Integration tests start servers and run restic; give them room, never a timed assertion.
  // (A global option: jest-circus reads it from the global config, for every project.)
  testTimeout: 120000,
  // Two workers on the two cores: the agent suites spend much of their time waiting on
  // restic, servers and schedules, so they overlap well (jest's default here would be one).
  maxWorkers: 2,
  projects: [
    {
      displayName: 'pure',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...ENGINE_FOLDERS.map((f) => `<rootDir>/test/${f}/`)],
      transform,
    },
    {
      displayName: 'engine',
      testEnvironment: 'node',
      roots: ENGINE_FOLDERS.map((f) => `<rootDir>/test/${f}`),
      testMatch: ['**/*.test.ts'],
      transform,
      // One private Docker Engine per run, in its own network namespace: the real-engine tier.
      globalSetup: '<rootDir>/test/support/engine/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/engine/global-teardown.ts',
    },
  ],
};
