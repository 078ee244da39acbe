// Adaptive verification end to end: a real hub (in process, embedded broker) on a test-owned anvil chain
// with the Stake contract, and simulated devices that speak the jobs protocol over MQTT (the set-up of
// test/jobs-scheduler.test.ts). A staked owner's device that answers a ringer wrongly loses reputation and
// stake (on chain, exactly the stated cut), and its next job is replicated again; an honest device's
// replication chance falls with its streak.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { confirm, deployStake, startDevChain } from '@sosna/contracts';
import type { DevChain, StakeContract } from '@sosna/contracts';
import { addOperator, ConsoleClient, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { jobsService, silentLogger, trustService } from '@sosna/protocol';
import type { JobSpecInput } from '@sosna/protocol';
import { prepareHub } from './chain-fixture.js';
import { tempDir, waitFor } from './helpers.js';
import { JobDevice } from './job-device.js';

const ether = 10n ** 18n;
const MIN_STAKE = 100n * ether;
const tmp = tempDir('sosna-trust-');
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const RINGER_ANSWER = digest('e');
let chain: DevChain;
let stake: StakeContract;
let hub: Hub;
let url: string;
let operator: ConsoleClient;
const devices: JobDevice[] = [];

async function addDevice(name: string, owner: string, jobs = 4): Promise<JobDevice> {
  const d = await JobDevice.preIssue(hub, name, { owner, jobs });
  const online = waitFor(`${name} online`, () => hub.store.getDevice(d.id)?.online);
  await d.connect(url);
  await online;
  devices.push(d);
  return d;
}
const submit = (spec: JobSpecInput) => operator.call(jobsService, 'submit', { spec: spec as never });
const show = (jobId: string) => operator.call(jobsService, 'show', { jobId });
const isRinger = (jobId: string) => hub.store.jobs.getJob(jobId)?.submittedBy === 'hub:ringer';
const holds = (d: JobDevice, jobId: string) => [...d.runs.values()].some((r) => r.jobId === jobId);

/** Runs already answered (run ids are unique across devices). */
const answered = new Set<string>();
/** Answers every run the device holds and has not answered: ringers with `ringer`, buyers' jobs with `buyer`. */
async function answerAll(d: JobDevice, answers: { ringer: string; buyer: string }, skip: (jobId: string) => boolean = () => false) {
  for (const run of [...d.runs.values()]) {
    if (answered.has(run.id) || skip(run.jobId) || hub.jobs.getJob(run.jobId)?.state === 'cancelled') continue;
    answered.add(run.id);
    await d.finish(run.id, isRinger(run.jobId) ? answers.ringer : answers.buyer);
  }
}

beforeAll(async () => {
  chain = await startDevChain({ signers: 2 });
  const fixture = await prepareHub(chain, tmp.dir);
  const deployer = chain.signers[0]!;
  ({ stake } = await deployStake(deployer, { token: chain.deployment.addresses.token, treasury: chain.deployment.addresses.dao, minStake: MIN_STAKE, unbondingPeriod: 86_400n }));
  hub = await startHub(
    {
      dataDir: fixture.hubDir, mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024,
      chain: { mode: 'rpc', rpcUrl: chain.anvil.url, contractsFile: fixture.contractsFile },
      jobs: {
        leaseSec: 30, offlineGraceSec: 5, tickMs: 100, maxRetries: 5,
        // every buyer run brings a ringer, so that the test knows which runs are checks
        trust: { ringerRate: 1, minStake: MIN_STAKE.toString(), stakeContract: await stake.getAddress(), ringers: [{ spec: { image: 'sosna/check', command: ['check', '7'] }, digest: RINGER_ANSWER }] },
      },
    },
    { log: silentLogger },
  );
  url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  const { password } = await addOperator(hub.store, 'alice', 'operator', { N: 1024, r: 8, p: 1 });
  operator = await ConsoleClient.connect({ url, hubId: hub.hubId, user: 'alice', password });
}, 120_000);

afterAll(async () => {
  await operator?.close();
  for (const d of devices) d.close();
  await hub?.stop();
  await chain?.stop();
  tmp.cleanup();
});

describe('adaptive verification with stakes', () => {
  const cheatOwner = new Wallet(Wallet.createRandom().privateKey);
  let cheat: JobDevice;
  let honest: JobDevice[];

  it('a staked owner ranks first; a wrong answer to a ringer costs reputation and the stated cut of the stake, and its next job is replicated again', async () => {
    // the cheater's owner stakes 200 SNM with this hub (the hub's key is the hub's owner address)
    const owner = cheatOwner.connect(chain.provider);
    const deployer = chain.signers[0]!;
    await confirm(deployer.sendTransaction({ to: owner.address, value: ether }) as never);
    await confirm(chain.deployment.token.connect(deployer).mint(owner.address, 200n * ether));
    await confirm(chain.deployment.token.connect(owner).approve(await stake.getAddress(), 200n * ether));
    await confirm(stake.connect(owner).stake(hub.owner, 200n * ether));

    // honest devices take one run at a time (so that a test can keep them busy)
    honest = [await addDevice('honest-1', Wallet.createRandom().address, 1), await addDevice('honest-2', Wallet.createRandom().address, 1)];
    cheat = await addDevice('cheat', owner.address);
    const v = hub.jobs.verifier!;
    await waitFor('the hub read the stake', () => v.stakeOf(owner.address) === 200n * ether);
    const rep0 = hub.jobs.market(cheat.id).reputation;

    const { jobId } = await submit({ image: 'busybox', command: ['work', '1'], bid: '1' });
    // the staked newcomer ranks first; a newcomer's result is always replicated (on another owner)
    await waitFor('the job on the cheater', () => holds(cheat, jobId));
    await waitFor('a second replica on an honest device', () => honest.some((d) => holds(d, jobId)));
    expect((await show(jobId)).replicas).toBe(2);
    // every buyer run brought a ringer for its device
    await waitFor('a ringer for the cheater', () => [...cheat.runs.values()].some((r) => isRinger(r.jobId)));

    await waitFor('all answered and settled', async () => {
      await answerAll(cheat, { ringer: digest('0'), buyer: digest('1') }); // right on the job, wrong on the check
      for (const d of honest) await answerAll(d, { ringer: RINGER_ANSWER, buyer: digest('1') });
      return hub.store.jobs.slashes({ owner: owner.address }).length === 1 && (await show(jobId)).state === 'succeeded';
    });

    // the ledger: 10% of 200 SNM, exactly, and the same cut on chain
    const [slash] = hub.store.jobs.slashes({ owner: owner.address });
    expect(slash).toMatchObject({ owner: owner.address, amount: 20n * ether, reason: expect.stringContaining('wrong answer to a check') });
    await waitFor('the slash on chain', async () => (await stake.stakeOf(hub.owner, owner.address))[0] === 180n * ether, 30_000);
    await waitFor('the slash marked sent', () => hub.store.jobs.slashes({ owner: owner.address })[0]!.txHash !== null);
    expect(v.stakeOf(owner.address)).toBe(180n * ether);
    // reputation and record: the failed check cost more than the agreement earned
    expect(hub.jobs.market(cheat.id).reputation).toBeLessThan(rep0);
    expect(hub.store.jobs.getStanding(`owner:${owner.address}`)).toMatchObject({ failures: 1 });
    expect(v.replicationChance(cheat.id, owner.address)).toBe(1);

    // the honest devices finish their checks (their ringers may have started after the job settled)
    await waitFor('nothing left to run', async () => {
      for (const d of honest) await answerAll(d, { ringer: RINGER_ANSWER, buyer: digest('1') });
      return hub.store.jobs.liveJobs().length === 0;
    });
    // its next job is replicated again: keep the honest devices busy with a job of two fixed replicas
    // (they rank above the cheater now), then the next job can only start on the cheater
    const blocker = await submit({ image: 'busybox', command: ['work', 'block'], bid: '1', replicas: 2 });
    await waitFor('the honest devices busy', () => honest.every((d) => holds(d, blocker.jobId)));
    const next = await submit({ image: 'busybox', command: ['work', '2'], bid: '1' });
    await waitFor('the next job on the cheater', () => holds(cheat, next.jobId));
    const detail = await show(next.jobId);
    expect(detail.replicas).toBe(2);
    expect(detail.events.map((e) => e.reason)).toContainEqual(`verification: replicated (chance 1.000 for ${cheat.id})`);
    await operator.call(jobsService, 'cancel', { jobId: next.jobId, reason: 'test over' });
    // a buyer whose output is not reproducible says so (jobs submit --no-verify): never replicated by the hub
    const unchecked = await submit({ image: 'busybox', command: ['work', 'clock'], bid: '1', verify: false });
    await waitFor('the unreproducible job on the cheater', () => holds(cheat, unchecked.jobId));
    const shown = await show(unchecked.jobId);
    expect(shown.replicas).toBe(1);
    expect(shown.events.map((e) => e.reason ?? '').filter((r) => r.startsWith('verification'))).toEqual([]);
    await operator.call(jobsService, 'cancel', { jobId: unchecked.jobId, reason: 'test over' });
    await waitFor('the blocker done', async () => {
      for (const d of honest) await answerAll(d, { ringer: RINGER_ANSWER, buyer: digest('b') });
      return (await show(blocker.jobId)).state === 'succeeded';
    });
  });

  it('the console shows each record, the stake and the slash (sosna console trust, trust slashes)', async () => {
    const owner = hub.jobs.ownerOf(cheat.id);
    const r = await operator.call(trustService, 'records', {});
    expect(r).toMatchObject({ enabled: true, stakeContract: await stake.getAddress() });
    const rec = r.records.find((x) => x.deviceId === cheat.id)!;
    expect(rec).toMatchObject({ owner, failures: 1, ownerFailures: 1, stake: 180n * ether, replicationChance: 1, quarantined: false });
    for (const d of honest) expect(r.records.find((x) => x.deviceId === d.id)).toMatchObject({ failures: 0, stake: 0n });
    expect((await operator.call(trustService, 'records', { owner })).records.map((x) => x.deviceId)).toEqual([cheat.id]);
    const s = await operator.call(trustService, 'slashes', { owner });
    expect(s.total).toBe(20n * ether);
    expect(s.slashes).toEqual([expect.objectContaining({ owner, amount: 20n * ether, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) })]);
  });

  it("an honest device's replication chance falls over its streak", async () => {
    const v = hub.jobs.verifier!;
    const d = honest[0]!;
    const owner = hub.jobs.ownerOf(d.id);
    const streakOf = () => hub.store.jobs.getStanding(`device:${d.id}`)?.streak ?? 0;
    const chances = new Map<number, number>([[streakOf(), v.replicationChance(d.id, owner)]]);
    for (let i = 0; i < 12 && chances.size < 4; i++) {
      const { jobId } = await submit({ image: 'busybox', command: ['work', `h${i}`], bid: '1' });
      await waitFor(`job h${i} settled`, async () => {
        for (const x of devices) await answerAll(x, { ringer: RINGER_ANSWER, buyer: digest('2') });
        return (await show(jobId)).state === 'succeeded';
      });
      chances.set(streakOf(), v.replicationChance(d.id, owner));
    }
    const seq = [...chances.entries()].sort((a, b) => a[0] - b[0]);
    expect(seq.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seq.length; i++) expect(seq[i]![1]).toBeLessThan(seq[i - 1]![1]);
    for (const [streak, chance] of seq) expect(chance).toBeCloseTo(Math.max(0.05, 1 / (1 + streak / 4)), 10); // K = 4, no stake
  });
});

describe('bad trust config', () => {
  it('a ringer with no known answer stops the hub from starting, naming it', async () => {
    const dir = tempDir('sosna-trust-bad-');
    try {
      await expect(
        startHub(
          {
            dataDir: join(dir.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' },
            jobs: { trust: { enabled: true, ringers: [{ spec: { image: 'sosna/check' }, digest: RINGER_ANSWER }, { spec: { image: 'busybox' } }] } },
          },
          { log: silentLogger },
        ),
      ).rejects.toThrow('jobs.trust.ringers[1] (image busybox): a ringer needs its known answer: digest must be sha256:<64 hex digits>, got none');
      await expect(
        startHub({ dataDir: join(dir.dir, 'hub2'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, chain: { mode: 'off' }, jobs: { trust: { minStake: '0' } } }, { log: silentLogger }),
      ).rejects.toThrow(/jobs\.trust\.minStake.*positive whole number of wei/);
    } finally {
      dir.cleanup();
    }
  });
});
