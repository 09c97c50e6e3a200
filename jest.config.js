/** Jest runs the TypeScript sources directly through ts-jest (no build step before tests). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }],
  },
  // Integration tests start servers and run restic; give them room, never a timed assertion.
  testTimeout: 120000,
  // Two workers on the two cores: the agent suites spend much of their time waiting on
  // restic, servers and schedules, so they overlap well (jest's default here would be one).
  maxWorkers: 2,
  // One private Docker Engine per run, in its own network namespace: the real-engine tier.
  globalSetup: '<rootDir>/test/support/engine/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/engine/global-teardown.ts',
};
