// The Jobs and Earnings pages' feeds: the runs and their output within bounds, and earnings from the
// hub's answer and the chain, kept across restarts and shown (stale, with a note) while out of reach.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceJob, silentLogger } from '@sosna/protocol';
import type { DeviceEarnings, RunReport } from '@sosna/protocol';
import { StateStore } from '../state.js';
import { createEarningsSource, EARNINGS_FILE, summarize } from './earnings.js';
import { JobsFeed, tailLines } from './jobs-feed.js';
import type { JobFeedEvent } from './jobs-feed.js';

const job = (id: string) => DeviceJob.parse({ id, jobId: id.split('.')[0], spec: { image: 'busybox:1', bid: '1000' }, leaseSec: 30, issuedAt: 1 });
const report = (id: string, state: RunReport['state'], extra: Partial<RunReport> = {}): RunReport => ({ id, state, at: 1, endpoints: [], restarts: 0, ...extra });

describe('JobsFeed', () => {
  it('lists runs newest first with their summary, and sends an update only when something shown changed', () => {
    const feed = new JobsFeed({ now: () => 100 });
    const events: JobFeedEvent[] = [];
    feed.subscribe((e) => events.push(e));
    feed.update(job('j-a.0.0'), report('j-a.0.0', 'assigned'));
    feed.update(job('j-a.0.0'), report('j-a.0.0', 'assigned', { at: 2 })); // same state, another time: nothing new
    feed.update(job('j-a.0.0'), report('j-a.0.0', 'running', { startedAt: 5 }));
    feed.update(job('j-b.0.0'), report('j-b.0.0', 'assigned'));
    expect(events.map((e) => e.kind === 'update' && `${e.payload.id}:${e.payload.state}`)).toEqual(['j-a.0.0:assigned', 'j-a.0.0:running', 'j-b.0.0:assigned']);
    expect(feed.list().map((j) => j.id)).toEqual(['j-b.0.0', 'j-a.0.0']);
    expect(feed.list()[1]).toMatchObject({ id: 'j-a.0.0', jobId: 'j-a', image: 'busybox:1', state: 'running', startedAt: 5, acceptedAt: 100, bidPerSec: '1000', logTail: [] });
  });

  it('keeps the newest output within its bound and streams every piece', () => {
    const feed = new JobsFeed({ logBytes: 20 });
    const events: JobFeedEvent[] = [];
    feed.subscribe((e) => events.push(e));
    feed.update(job('j-a.0.0'), report('j-a.0.0', 'running'));
    for (let i = 1; i <= 6; i++) feed.log('j-a.0.0', { stream: 'stdout', data: `line ${i}\n`, at: i });
    feed.log('j-unknown.0.0', { stream: 'stdout', data: 'x\n', at: 9 }); // not a run of this device: ignored
    expect(feed.list()[0]!.logTail).toEqual(['line 5', 'line 6']);
    expect(feed.list()[0]!.logAt).toBe(6);
    expect(events.filter((e) => e.kind === 'log').map((e) => e.kind === 'log' && e.payload.pieces[0]!.data)).toHaveLength(6);
    expect(tailLines([{ stream: 'stdout', data: 'a\nb', at: 1 }, { stream: 'stdout', data: 'c\nd\n', at: 2 }], 2)).toEqual(['bc', 'd']);
  });

  it('forgets the oldest finished runs beyond its bound, never one in flight', () => {
    const feed = new JobsFeed({ keep: 2 });
    feed.update(job('j-a.0.0'), report('j-a.0.0', 'running'));
    feed.update(job('j-b.0.0'), report('j-b.0.0', 'succeeded'));
    feed.update(job('j-c.0.0'), report('j-c.0.0', 'failed'));
    feed.update(job('j-d.0.0'), report('j-d.0.0', 'running'));
    expect(feed.list().map((j) => j.id)).toEqual(['j-d.0.0', 'j-a.0.0']);
  });

  it('a listener that throws disturbs neither the feed nor the other listeners', () => {
    const feed = new JobsFeed();
    const seen: string[] = [];
    feed.subscribe(() => {
      throw new Error('broken');
    });
    feed.subscribe((e) => seen.push(e.kind));
    feed.update(job('j-a.0.0'), report('j-a.0.0', 'running'));
    expect(seen).toEqual(['update']);
  });
});

const OWNER = '0x1111111111111111111111111111111111111111';
const WALLET = '0x2222222222222222222222222222222222222222';
const WEI = 10n ** 18n;
const mine = (extra: Partial<DeviceEarnings> = {}): DeviceEarnings => ({ owner: OWNER, accrued: 3n * WEI, paid: WEI, runs: 2, seconds: 3, wallet: WALLET, ...extra });

describe('earnings', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const setup = (o: { connected?: () => boolean; mine?: () => Promise<DeviceEarnings>; claimable?: ((w: string, o: string) => Promise<bigint | null>) | null; hubId?: () => string; owner?: string | null } = {}) => {
    dir ??= mkdtempSync(join(tmpdir(), 'sosna-earn-'));
    let t = 0;
    return createEarningsSource({
      hubId: o.hubId ?? (() => 'hub-a'), owner: o.owner === undefined ? OWNER : o.owner, connected: o.connected ?? (() => true), mine: o.mine ?? (async () => mine()),
      claimable: o.claimable === undefined ? async () => 2n * WEI : o.claimable, state: new StateStore(dir), log: silentLogger, now: () => (t += 10_000),
    });
  };

  it('shows the hub\'s figures and the claimable amount read from the chain for the owner', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sosna-earn-'));
    const asked: string[] = [];
    const e = await setup({ claimable: async (w, o) => (asked.push(`${w}/${o}`), 2n * WEI) })();
    expect(asked).toEqual([`${WALLET}/${OWNER}`]);
    expect(e).toMatchObject({ token: 'SNM', accrued: (3n * WEI).toString(), paid: WEI.toString(), claimable: (2n * WEI).toString(), owner: OWNER });
    expect(e.perHub).toEqual([expect.objectContaining({ hubId: 'hub-a', runs: 2, seconds: 3, wallet: WALLET, claimable: (2n * WEI).toString() })]);
    expect(e.perHub[0]!.note).toBeUndefined();
  });

  it('keeps the last answer across restarts and shows it with a note while the hub is out of reach', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sosna-earn-'));
    await setup()();
    expect(JSON.parse(readFileSync(join(dir, EARNINGS_FILE), 'utf8'))).toMatchObject({ v: 1, hubs: { 'hub-a': { accrued: (3n * WEI).toString() } } });
    const offline = await setup({ connected: () => false, claimable: async () => { throw new Error('ECONNREFUSED'); } })();
    expect(offline).toMatchObject({ accrued: (3n * WEI).toString(), claimable: (2n * WEI).toString() });
    expect(offline.perHub[0]!.note).toMatch(/not connected to the hub.*cannot read the chain \(ECONNREFUSED\): claimable as last read/);
    const failing = await setup({ mine: async () => { throw new Error('E_TIMEOUT: no answer'); } })();
    expect(failing.perHub[0]!.note).toMatch(/the hub did not answer \(E_TIMEOUT: no answer\)/);
    // another hub now: the old one's figures stay listed after the current one
    const moved = await setup({ hubId: () => 'hub-b', mine: async () => mine({ accrued: 5n, paid: 0n, runs: 1 }) })();
    expect(moved.perHub.map((h) => h.hubId)).toEqual(['hub-b', 'hub-a']);
    expect(moved.accrued).toBe((3n * WEI + 5n).toString());
  });

  it('says why claimable is unknown: no chain, a hub without one, no owner, a wallet not on the Whitelist', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sosna-earn-'));
    expect((await setup({ claimable: null })()).perHub[0]!.note).toMatch(/no chain configured/);
    rmSync(join(dir, EARNINGS_FILE));
    expect((await setup({ mine: async () => mine({ wallet: null }) })()).perHub[0]!.note).toMatch(/without a chain/);
    expect((await setup({ owner: null, mine: async () => mine({ owner: 'alice' }) })()).perHub[0]!.note).toMatch(/no owner address/);
    const unlisted = await setup({ claimable: async () => null })();
    expect(unlisted.perHub[0]).toMatchObject({ claimable: null, note: expect.stringMatching(/not on the Whitelist/) });
    // the total is unknown too, with the reason, not a 0 that reads as "nothing to claim"
    expect(unlisted.claimable).toBeNull();
    expect(unlisted.claimableNote).toMatch(/not on the Whitelist/);
    const noOwner = await setup({ owner: null, mine: async () => mine({ owner: 'alice' }) })();
    expect(noOwner).toMatchObject({ claimable: null, claimableNote: expect.stringMatching(/no owner address configured/) });
  });

  it('summarize: the current hub first, wei summed as bigints', () => {
    const big = (2n ** 70n).toString();
    const s = summarize({ v: 1, hubs: {
      'hub-a': { asOf: 1, owner: OWNER, accrued: big, paid: '0', runs: 1, seconds: 1, wallet: null, claimable: null },
      'hub-z': { asOf: 1, owner: OWNER, accrued: big, paid: '1', runs: 1, seconds: 1, wallet: WALLET, claimable: '7' },
    } }, 'hub-z', {}, OWNER);
    expect(s.perHub.map((h) => h.hubId)).toEqual(['hub-z', 'hub-a']);
    expect(s).toMatchObject({ accrued: (2n * 2n ** 70n).toString(), paid: '1', claimable: '7' });
  });
});
