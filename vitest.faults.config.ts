import { defineConfig } from 'vitest/config';

// The fault suite (`pnpm test:faults`): real agents, servers and faults, scenario after scenario.
// Each file starts its own servers (it restarts and breaks them); files run one at a time so that
// the recovery times they measure are not those of a machine busy with the other file.
export default defineConfig({
  test: {
    include: ['apps/agent/faults/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
