import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // fuse-native and @parcel/watcher are native addons that are not thread-safe: one process per file.
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration files start real daemons and mounts; two cores, so keep parallelism modest.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
