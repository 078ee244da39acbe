// The trust simulation (npm run bench trust) on a small fleet: it drives the hub's real scheduler, catches
// always-wrong devices, keeps the stake ledger exact, and a stake lowers the replication honest owners pay.
import { describe, expect, it } from 'vitest';
import { runTrustSim } from './bench/trust-sim.js';
import { DEFAULT_TRUST_POLICY } from '../hub/src/jobs/trust.js';

describe('trust simulation', () => {
  it('accepts no wrong result from devices that are always wrong, and slashes staked cheaters exactly', async () => {
    const r = await runTrustSim({ cheat: 'always-wrong', devices: 20, jobs: 600, seed: 3, stake: () => DEFAULT_TRUST_POLICY.minStake * 2n });
    expect(r.accepted).toBeGreaterThan(590);
    expect(r.wrongAccepted).toBe(0);
    expect(r.ringerRuns).toBeGreaterThan(0);
    // each proven wrong result cost 10% of what was left; the simulation checks slashed + left == staked
    expect(r.slashed).toBeGreaterThan(0n);
  });

  it('without checks the same population gets its wrong results accepted', async () => {
    const r = await runTrustSim({ cheat: 'always-wrong', devices: 20, jobs: 600, seed: 3, mode: 'none' });
    expect(r.wrongAccepted).toBeGreaterThan(0);
    expect(r.overhead).toBe(1);
  });

  it('a stake lowers the replication honest owners need', async () => {
    const plain = await runTrustSim({ cheat: 'honest', devices: 20, jobs: 1000, seed: 5 });
    const staked = await runTrustSim({ cheat: 'honest', devices: 20, jobs: 1000, seed: 5, stake: () => DEFAULT_TRUST_POLICY.minStake * 3n });
    expect(staked.overhead).toBeLessThan(plain.overhead);
    expect(staked.slashed).toBe(0n);
  });
});
