import { defineConfig } from 'vitest/config';

// Sources are tested directly (the `sosna-source` export condition maps @sosna/* to src/*.ts);
// end-to-end tests under test/ run the built artifacts (npm run build first; scripts/test.sh does).
export default defineConfig({
  resolve: { conditions: ['sosna-source'] },
  ssr: { resolve: { conditions: ['sosna-source'] } },
  test: {
    include: ['*/src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // Most end-to-end files wait on processes (hubs, agents, dockerd, qemu) rather than compute: two at a time
    // on a 2-core machine halves the suite's wall time (vitest's default there is one).
    maxWorkers: 2,
    testTimeout: 30_000,
    // expect.poll's default (1 s) is short for a browser round trip on a loaded machine
    expect: { poll: { timeout: 10_000 } },
    // set-up starts hubs (embedded chain), agents, dockerd: sized for a loaded machine
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
