import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // integration tests mount overlays and run runc; two cores, so keep files serial there
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    // Every CLI a test starts inherits this: daemonless (test/helpers/build-fixture.ts, DAEMONLESS_ENV).
    // Tests of the build server set TSBUILD_SERVER themselves.
    env: { TSBUILD_SERVER: '0' },
    hookTimeout: 120_000,
  },
});
