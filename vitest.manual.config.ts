import { defineConfig } from 'vitest/config';

// Checks too slow for the suite, run by hand (npm run test:manual): the arm64 full image's first build
// emulates its debootstrap second stage (~45 min on 2 cores), ~2.5 min once its rootfs is cached.
export default defineConfig({
  resolve: { conditions: ['sosna-source'] },
  ssr: { resolve: { conditions: ['sosna-source'] } },
  test: { include: ['test/manual/**/*.e2e.ts'], pool: 'forks', maxWorkers: 1, testTimeout: 30_000, hookTimeout: 60_000 },
});
