import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One PostgreSQL, one MariaDB and one etcd for the whole run; tests reach them with inject().
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    include: [
      'packages/*/src/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'deploy/**/*.test.ts',
      'scripts/**/*.test.ts',
      'examples/**/*.test.ts',
    ],
    // The container images have their own command (pnpm test:images: root, podman, long builds).
    exclude: ['**/node_modules/**', 'deploy/images/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The machine has 2 cores.
    maxWorkers: 2,
  },
});
