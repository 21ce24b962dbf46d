import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// `pnpm test:images` (./idra test-images): the image test alone, apart from `pnpm test` — it needs root,
// podman and debootstrap, and a cold run builds for ~15 min (base image, three images).
export default defineConfig({
  test: {
    root: resolve(import.meta.dirname, '../..'),
    include: ['deploy/images/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60 * 60_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
