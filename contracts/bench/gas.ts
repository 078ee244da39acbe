// Gas report for the sosna contracts on a fresh anvil chain. Run as a script it prints a table;
// runGasReport() returns the numbers.
import { dataSlice, getAddress, id } from 'ethers';
import { DAY, SNM, confirm, createHubWallet, increaseTime, startDevChain } from '../src/index.js';

/** The batch payout target: gas per miner for a 100-miner batch. */
export const BATCH_GAS_PER_MINER_TARGET = 40_000n;

export interface GasReport {
  deployment: { SNMToken: bigint; DAO: bigint; Whitelist: bigint; HubFactory: bigint; 'HubWallet (via factory)': bigint };
  /** HubWallet.transfer to a miner never paid before, and to one already holding an allowance. */
  transfer: { newMiner: bigint; knownMiner: bigint };
  /** HubWallet.transferBatch to new miners: whole transaction and per miner. */
  batch: { miners: number; gas: bigint; perMiner: bigint }[];
  /** The same 100 miners paid again (allowance slots already non-zero). */
  batchRepeat100: { gas: bigint; perMiner: bigint };
  payDay: bigint;
  /** A miner claiming its whole allowance (first tokens it ever holds). */
  claim: bigint;
  targetMet: boolean;
}

function freshAddresses(n: number, salt: string): string[] {
  return Array.from({ length: n }, (_, i) => getAddress(dataSlice(id(`${salt}:${i}`), 12)));
}

export async function runGasReport(): Promise<GasReport> {
  const chain = await startDevChain({ signers: 4 });
  try {
    const d = chain.deployment;
    const signer = (i: number) => {
      const s = chain.signers[i];
      if (s === undefined) throw new Error(`no dev signer ${i}`);
      return s;
    };
    const [owner, minerA, minerB] = [signer(1), signer(2), signer(3)];
    await confirm(d.token.transfer(owner.address, 100_000n * SNM));
    const hub = await createHubWallet(d, owner, 'mqtt://bench:1883');
    await confirm(d.token.connect(owner).transfer(hub.address, 50_000n * SNM));
    const wallet = hub.wallet;

    const newMiner = (await confirm(wallet.transfer(minerA.address, 10n * SNM))).gasUsed;
    const knownMiner = (await confirm(wallet.transfer(minerA.address, 10n * SNM))).gasUsed;
    await confirm(wallet.transfer(minerB.address, 10n * SNM));

    const batch: GasReport['batch'] = [];
    for (const n of [10, 100]) {
      const miners = freshAddresses(n, `bench-${n}`);
      const gas = (await confirm(wallet.transferBatch(miners, miners.map((_, i) => SNM + BigInt(i))))).gasUsed;
      batch.push({ miners: n, gas, perMiner: gas / BigInt(n) });
    }
    const again = freshAddresses(100, 'bench-100');
    const repeatGas = (await confirm(wallet.transferBatch(again, again.map(() => SNM)))).gasUsed;

    const claim = (await confirm(wallet.connect(minerB).claimAll())).gasUsed;
    await increaseTime(chain.provider, 30n * DAY);
    const payDay = (await confirm(wallet.payDay())).gasUsed;

    const at100 = batch.find((b) => b.miners === 100);
    return {
      deployment: {
        SNMToken: d.deployGas.token,
        DAO: d.deployGas.dao,
        Whitelist: d.deployGas.whitelist,
        HubFactory: d.deployGas.factory,
        'HubWallet (via factory)': hub.gasUsed,
      },
      transfer: { newMiner, knownMiner },
      batch,
      batchRepeat100: { gas: repeatGas, perMiner: repeatGas / 100n },
      payDay,
      claim,
      targetMet: at100 !== undefined && at100.perMiner < BATCH_GAS_PER_MINER_TARGET,
    };
  } finally {
    await chain.stop();
  }
}

export function formatGasReport(r: GasReport): string {
  const rows: [string, bigint][] = [
    ...Object.entries(r.deployment).map(([name, gas]): [string, bigint] => [`deploy ${name}`, gas]),
    ['transfer (new miner)', r.transfer.newMiner],
    ['transfer (miner with an allowance)', r.transfer.knownMiner],
    ...r.batch.flatMap((b): [string, bigint][] => [
      [`transferBatch ${b.miners} new miners (total)`, b.gas],
      [`transferBatch ${b.miners} new miners (per miner)`, b.perMiner],
    ]),
    ['transferBatch 100 known miners (per miner)', r.batchRepeat100.perMiner],
    ['payDay', r.payDay],
    ['claimAll', r.claim],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = rows.map(([name, gas]) => `${name.padEnd(width)}  ${gas.toLocaleString('en-US').padStart(10)}`);
  const per100 = r.batch.find((b) => b.miners === 100)?.perMiner ?? 0n;
  const verdict = r.targetMet ? 'MET' : 'NOT MET';
  lines.push('', `target < ${BATCH_GAS_PER_MINER_TARGET.toLocaleString('en-US')} gas/miner at 100 miners: ${verdict} (${per100.toLocaleString('en-US')})`);
  return `${'operation'.padEnd(width)}  ${'gas'.padStart(10)}\n${lines.join('\n')}`;
}
