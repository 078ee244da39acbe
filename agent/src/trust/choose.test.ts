import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceConfig } from '@sosna/protocol';
import type { HubCard } from '@sosna/protocol';
import { StateStore } from '../state.js';
import { candidateFrom, configForHub, describeRanking, HUB_CHOICE_FILE, HubChoiceRecord, hubOptions, rankSurvey, recordedChoice } from './choose.js';
import { summarize } from './record.js';

const ownerB = `0x${'bb'.repeat(20)}`;
const config = DeviceConfig.parse({
  hub: { url: 'mqtt://a:1', owner: `0x${'aa'.repeat(20)}` }, provisioningKey: 'ka.sa',
  hubs: [{ url: 'mqtt://b:2', owner: ownerB, provisioningKey: 'kb.sb' }, { url: 'mqtt://c:3' }],
});
const card = (hubId: string, prices?: Record<string, string>): HubCard =>
  ({ v: 1, hubId, name: hubId.toUpperCase(), endpoints: [], owner: ownerB, issuedAt: 1, signature: `0x${'00'.repeat(65)}`, ...(prices ? { prices } : {}) });
const ok = (facts: { trusted?: boolean; available?: bigint; paidToOwner?: bigint } = {}) => ({ verdict: { ok: true as const, score: 0, claimable: 0n }, trusted: false, available: 10n, paidToOwner: 0n, ...facts });
const [a, b, c] = hubOptions(config) as [never, never, never];

describe('choosing among configured hubs (pure parts)', () => {
  it('lists every hub, `hub` first, each with its own key or the top-level one', () => {
    expect(hubOptions(config)).toEqual([
      { url: 'mqtt://a:1', owner: `0x${'aa'.repeat(20)}`, provisioningKey: 'ka.sa' },
      { url: 'mqtt://b:2', owner: ownerB, provisioningKey: 'kb.sb' },
      { url: 'mqtt://c:3', provisioningKey: 'ka.sa' },
    ]);
    const forB = configForHub(config, b);
    expect(forB.hub).toEqual({ url: 'mqtt://b:2', owner: ownerB });
    expect(forB.provisioningKey).toBe('kb.sb');
    expect(forB.chain).toBe(config.chain);
  });

  it('ranks the acceptable hubs (the one paying more first), keeps refusals with reasons, and says so in one line', () => {
    const { record } = rankSurvey([
      candidateFrom(a, card('hub-a', { cpu: '1' }), ok()),
      candidateFrom(b, card('hub-b', { cpu: '5000000000000000000000' }), ok({ paidToOwner: 7n })),
      candidateFrom(c, null, { refused: 'hub mqtt://c:3: connection refused' }),
    ], 'first provisioning', 42);
    expect(record).toMatchObject({
      v: 1, at: 42, why: 'first provisioning', hubId: 'hub-b', url: 'mqtt://b:2',
      ranking: [
        { hubId: 'hub-b', url: 'mqtt://b:2', name: 'HUB-B', price: '5000000000000000000000', paidToOwner: '7', trusted: false },
        { hubId: 'hub-a', url: 'mqtt://a:1', price: '1' },
      ],
      refused: [{ hubId: 'mqtt://c:3', url: 'mqtt://c:3', reasons: ['hub mqtt://c:3: connection refused'] }],
    });
    expect(describeRanking(record!)).toBe(
      '1. hub-b (listed, pays 5000000000000000000000 wei/s, approved to owner 7, available 10, record unknown) | 2. hub-a (listed, pays 1 wei/s, approved to owner 0, available 10, record unknown) | mqtt://c:3 refused: hub mqtt://c:3: connection refused',
    );
  });

  it('a trusted hub beats a better price; a refused one never wins; none acceptable gives no record', () => {
    const refused = { verdict: { ok: false as const, reasons: ['wallet 0x1 is Suspected, not Registered'], claimable: 0n }, trusted: true, available: 10n ** 30n, paidToOwner: 0n };
    const r = rankSurvey([candidateFrom(a, card('hub-a', { cpu: '9' }), ok()), candidateFrom(b, card('hub-b'), ok({ trusted: true })), candidateFrom(c, card('hub-c', { cpu: '99' }), refused)], 'w', 1);
    expect(r.record?.ranking.map((h) => h.hubId)).toEqual(['hub-b', 'hub-a']);
    expect(r.record?.refused).toEqual([{ hubId: 'hub-c', url: 'mqtt://c:3', reasons: ['wallet 0x1 is Suspected, not Registered'] }]);
    const none = rankSurvey([candidateFrom(c, card('hub-c'), refused)], 'w', 1);
    expect(none.record).toBeNull();
    expect(describeRanking(none.ranking)).toMatch(/^hub-c refused: wallet 0x1 is Suspected/);
  });

  it('ranks the hub with a regular payout record first and shows the evidence in the line and the record', () => {
    const DAY = 86_400;
    const now = 10 * DAY;
    const regularHistory = { now, registeredAt: 4 * DAY, payouts: [5, 6, 7, 8].map((d) => ({ at: d * DAY, amount: 5n * 10n ** 18n, miners: 1 })), untimed: { payouts: 0, amount: 0n, miners: 0 }, suspicions: 0, banned: false };
    const regular = summarize(regularHistory);
    const none = summarize({ now, registeredAt: 9 * DAY, payouts: [], untimed: { payouts: 0, amount: 0n, miners: 0 }, suspicions: 0, banned: false });
    expect(regular.standing).toBe('regular'); // the last payout two days old, the typical gap one day
    expect(summarize({ ...regularHistory, now: 12 * DAY }).standing).toBe('irregular'); // four days without a payout
    const fresh = summarize({ now: 8 * DAY + 3600, registeredAt: 4 * DAY, payouts: [5, 6, 7, 8].map((d) => ({ at: d * DAY, amount: 5n * 10n ** 18n, miners: 1 })), untimed: { payouts: 0, amount: 0n, miners: 0 }, suspicions: 0, banned: false });
    const { record } = rankSurvey([
      candidateFrom(a, card('hub-a', { cpu: '9' }), ok({ record: none })),
      candidateFrom(b, card('hub-b', { cpu: '1' }), ok({ record: fresh })),
    ], 'first provisioning', 1);
    expect(record).toMatchObject({ hubId: 'hub-b', ranking: [{ hubId: 'hub-b', record: { standing: 'regular', payouts: 4, average: '5000000000000000000', typicalGapSec: DAY, maxGapSec: DAY, sinceLastSec: 3600, ageSec: 4 * DAY + 3600 } }, { hubId: 'hub-a', record: { standing: 'none', payouts: 0 } }] });
    expect(describeRanking(record!)).toBe(
      '1. hub-b (listed, pays 1 wei/s, approved to owner 0, available 10, record regular: 4 payouts to 4 miners, avg 5000000000000000000 wei, every ~1d (longest gap 1d), last 1h ago, wallet 4d old)'
      + ' | 2. hub-a (listed, pays 9 wei/s, approved to owner 0, available 10, record none: no payouts, wallet 1d old)',
    );
    // what hub-choice.json holds parses back; a file written before records existed still does
    expect(HubChoiceRecord.parse(JSON.parse(JSON.stringify(record)))).toEqual(record);
    const { record: _r, ...old } = record!.ranking[0]!;
    expect(HubChoiceRecord.safeParse({ ...record, ranking: [old] }).success).toBe(true);
  });

  it('reads back a recorded choice only while the config still lists that hub', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-choice-'));
    try {
      const state = new StateStore(dir);
      expect(recordedChoice(config, state)).toBeNull();
      state.write(HUB_CHOICE_FILE, rankSurvey([candidateFrom(b, card('hub-b'), ok())], 'first provisioning', 5).record);
      expect(recordedChoice(config, state)).toMatchObject({ record: { hubId: 'hub-b' }, option: { url: 'mqtt://b:2', provisioningKey: 'kb.sb' } });
      expect(recordedChoice(DeviceConfig.parse({ hub: { url: 'mqtt://a:1' } }), state)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a preferred acceptable hub wins over the ranking; a preferred refused hub stays refused, with its reasons', () => {
    const refused = { verdict: { ok: false as const, reasons: ['hub-a is not on the Whitelist'], claimable: 0n }, trusted: false, available: 0n, paidToOwner: 0n };
    const survey = [
      candidateFrom(a, card('hub-a', { cpu: '1' }), ok()),
      candidateFrom(b, card('hub-b', { cpu: '5000' }), ok({ trusted: true })),
      candidateFrom(c, card('hub-c', { cpu: '9' }), ok()),
    ];
    // the ranking alone: trusted hub-b first
    expect(rankSurvey(survey, 'w', 1).record).toMatchObject({ hubId: 'hub-b' });
    expect(rankSurvey(survey, 'w', 1, 'best').record?.preferred).toBeUndefined();
    // preferring the worst-ranked hub-a: it wins, the ranking is kept as it is
    const pick = rankSurvey(survey, 'w', 1, 'mqtt://a:1').record!;
    expect(pick).toMatchObject({ hubId: 'hub-a', url: 'mqtt://a:1', preferred: { url: 'mqtt://a:1', chosen: true, reasons: [] } });
    expect(pick.ranking.map((h) => h.hubId)).toEqual(['hub-b', 'hub-c', 'hub-a']);
    expect(describeRanking(pick)).toMatch(/^preferred mqtt:\/\/a:1: chosen \| 1\. hub-b/);
    // preferring a hub that fails the checks: refused with the reason, the ranking's best is joined
    const bad = rankSurvey([candidateFrom(a, card('hub-a', { cpu: '99' }), refused), ...survey.slice(1)], 'w', 1, 'mqtt://a:1').record!;
    expect(bad).toMatchObject({ hubId: 'hub-b', preferred: { url: 'mqtt://a:1', chosen: false, reasons: ['hub-a is not on the Whitelist'] } });
    expect(bad.refused).toEqual([{ hubId: 'hub-a', url: 'mqtt://a:1', reasons: ['hub-a is not on the Whitelist'] }]);
    expect(describeRanking(bad)).toMatch(/^preferred mqtt:\/\/a:1 refused: hub-a is not on the Whitelist \| /);
    // the only hub, preferred and refused: nothing is joined
    expect(rankSurvey([candidateFrom(a, card('hub-a'), refused)], 'w', 1, 'mqtt://a:1').record).toBeNull();
  });

  it('the config accepts "best" or a configured hub URL as hubPreference and names the field otherwise', () => {
    expect(DeviceConfig.parse({ ...config, hubPreference: 'mqtt://c:3' }).hubPreference).toBe('mqtt://c:3');
    expect(DeviceConfig.parse({ ...config, hubPreference: 'best' }).hubPreference).toBe('best');
    const r = DeviceConfig.safeParse({ ...config, hubPreference: 'mqtt://elsewhere:1' });
    expect(r.success).toBe(false);
    expect(r.error!.issues).toEqual([expect.objectContaining({ path: ['hubPreference'], message: 'mqtt://elsewhere:1 is not a configured hub: use "best" or one of mqtt://a:1, mqtt://b:2, mqtt://c:3' })]);
  });
});
