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
};
