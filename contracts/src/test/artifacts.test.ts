import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { artifacts, compilerVersion } from '../generated/artifacts.js';

const script = fileURLToPath(new URL('../../scripts/compile.mjs', import.meta.url));

describe('generated artifacts', () => {
  it('hold every contract with an ABI and bytecode', () => {
    expect(Object.keys(artifacts).sort()).toEqual(['DAO', 'HubFactory', 'HubWallet', 'JobEscrow', 'SNMToken', 'Stake', 'Whitelist']);
    for (const a of Object.values(artifacts)) {
      expect(a.abi.length).toBeGreaterThan(0);
      expect(a.bytecode).toMatch(/^0x[0-9a-f]{200,}$/);
    }
    expect(compilerVersion).toMatch(/^0\.8\.28/);
  });

  it('are up to date with contracts/solidity (else run: node contracts/scripts/compile.mjs)', () => {
    const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8', timeout: 120_000 });
    const message =
      `src/generated/artifacts.ts does not match the Solidity sources; run: node contracts/scripts/compile.mjs\n` +
      `${run.stdout}${run.stderr}`;
    expect(run.status, message).toBe(0);
  }, 120_000);
});
