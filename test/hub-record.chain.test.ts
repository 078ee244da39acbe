// A hub's payout record as the agent reads it from a real chain (anvil, the real contracts): the HubWallet
// event logs of three hubs, one that pays its miners daily, one that never paid, one the DAO banned, are
// summarized (agent/src/trust/record.ts) and ranked (the chain facts as the survey gathers them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wallet } from 'ethers';
import { confirm, createHubWallet, increaseTime, proposeCall, startDevChain } from '@sosna/contracts';
import type { CreatedHub, DevChain } from '@sosna/contracts';
import type { HubCard } from '@sosna/protocol';
import { hubFacts } from '../agent/src/trust/check.js';
import { candidateFrom, describeRanking, rankSurvey } from '../agent/src/trust/choose.js';
import { readWalletHistory } from '../agent/src/trust/history.js';
import { judgeHub } from '../agent/src/trust/policy.js';
import { summarize } from '../agent/src/trust/record.js';
import { jsonRpcReader } from '../agent/src/trust/rpc.js';

const ether = 10n ** 18n;
const DAY = 86_400n;
let chain: DevChain;
const hubs: Record<'payer' | 'silent' | 'banned', CreatedHub> = {} as never;
let ownerAddr: string;
const miners = [1, 2, 3, 4].map(() => Wallet.createRandom().address);

const card = (hubId: string, wallet: string): HubCard =>
  ({ v: 1, hubId, name: hubId, endpoints: [], owner: ownerAddr, wallet, chainId: 31337, issuedAt: 1, signature: `0x${'0'.repeat(130)}` });

beforeAll(async () => {
  chain = await startDevChain({ signers: 2 });
  const d = chain.deployment;
  const owner = chain.signers[1]!;
  ownerAddr = await owner.getAddress();
  await confirm(d.token.connect(chain.signers[0]!).transfer(ownerAddr, 1_000_000n * ether));
  for (const name of ['payer', 'silent', 'banned'] as const) {
    hubs[name] = await createHubWallet(d, owner, `mqtt://${name}.example:1883`);
    await confirm(d.token.connect(owner).transfer(hubs[name].address, 5_000n * ether));
  }
  // the banned hub paid once, then the DAO suspected it and banned it after the suspect period
  await confirm(hubs.banned.wallet.transfer(miners[0]!, 7n * ether));
  await proposeCall(d.dao, chain.signers[0]!, hubs.banned.wallet, 'suspect', [], { fastForward: chain.provider });
  await increaseTime(chain.provider, d.params.suspectPeriod);
  await proposeCall(d.dao, chain.signers[0]!, hubs.banned.wallet, 'ban', [], { fastForward: chain.provider });
  // the payer pays every day: three single payouts and a batch
  for (const m of miners.slice(0, 3)) {
    await increaseTime(chain.provider, DAY);
    await confirm(hubs.payer.wallet.transfer(m, 10n * ether));
  }
  await increaseTime(chain.provider, DAY);
  await confirm(hubs.payer.wallet.transferBatch([miners[0]!, miners[3]!], [5n * ether, 5n * ether]));
  await increaseTime(chain.provider, 3_600n);
}, 120_000); // sized for a loaded machine
afterAll(async () => {
  await chain?.stop();
});

describe('a hub’s payout record from its wallet’s logs', () => {
  const reader = () => jsonRpcReader(chain.anvil.url);

  it('reads the daily payer as regular: count, average, gaps and wallet age', async () => {
    const r = summarize(await readWalletHistory(reader(), hubs.payer.address));
    expect(r).toMatchObject({ standing: 'regular', payouts: 4, miners: 5, total: 40n * ether, average: 10n * ether, suspicions: 0, banned: false });
    // chain time: a day (give or take the seconds the transactions took) between payouts, an hour since the last
    expect(Math.abs(r.typicalGapSec! - 86_400)).toBeLessThan(120);
    expect(r.sinceLastSec).toBeGreaterThanOrEqual(3_600);
    expect(r.sinceLastSec).toBeLessThan(3_600 + 120);
    expect(r.ageSec).toBeGreaterThan(120 * 86_400); // registered before the suspect period of the banned hub passed
  });

  it('reads the silent hub as having no record, and the banned one as banned', async () => {
    expect(summarize(await readWalletHistory(reader(), hubs.silent.address))).toMatchObject({ standing: 'none', payouts: 0, total: 0n });
    expect(summarize(await readWalletHistory(reader(), hubs.banned.address))).toMatchObject({ standing: 'none', payouts: 1, total: 7n * ether, suspicions: 1, banned: true });
    expect(await chain.deployment.whitelist.isBanned(hubs.banned.address)).toBe(true);
  });

  it('ranks the payer above the silent hub (which offers more) and refuses the banned one, saying why', async () => {
    const policy = { requireTrusted: false, minAvailable: 1_000n * ether };
    const surveyed = [];
    for (const [name, price] of [['silent', '900'], ['payer', '100'], ['banned', '5000']] as const) {
      const c = { ...card(`hub-${name}`, hubs[name].address), prices: { cpu: price } };
      const facts = await hubFacts(c, reader(), chain.deployment.addresses.whitelist, null);
      const verdict = judgeHub(facts, policy);
      const record = verdict.ok ? summarize(await readWalletHistory(reader(), hubs[name].address)) : null;
      surveyed.push(candidateFrom({ url: `mqtt://${name}:1` }, c, { verdict, trusted: facts.trusted, available: facts.available, paidToOwner: facts.claimable, record }));
    }
    const { record } = rankSurvey(surveyed, 'first provisioning', 1);
    expect(record?.hubId).toBe('hub-payer');
    expect(record?.ranking.map((h) => [h.hubId, h.record?.standing])).toEqual([['hub-payer', 'regular'], ['hub-silent', 'none']]);
    expect(record?.refused).toEqual([{ hubId: 'hub-banned', url: 'mqtt://banned:1', reasons: [expect.stringMatching(/Punished, not Registered/), expect.stringMatching(/can pay out 0 wei/)] }]);
    expect(describeRanking(record!)).toMatch(/^1\. hub-payer \(listed, pays 100 wei\/s, .*record regular: 4 payouts to 5 miners, avg 10000000000000000000 wei, every ~1d \(longest gap 1d\), last 1h ago, wallet \d+d old\) \| 2\. hub-silent \(.*record none: no payouts, wallet \d+d old\) \| hub-banned refused: /);
  });
});
