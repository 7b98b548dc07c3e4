import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // After each file: its SDK responses checked against the SDKs' own model (test/support/azure-model).
    setupFiles: ['test/support/azure-model/per-file.ts'],
    pool: 'forks',
    // Two cores: two files at a time keeps Postgres, Redis and Azurite responsive.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
