// Which of the configured hubs to join (issue #5: "prefers, among acceptable hubs, the one with the best
// score"). The device config names one `hub` and optionally more in `hubs`; before its first provisioning,
// and when its hub fails the trust check on a reconnect, the agent surveys them:
//   for each hub: connect with that hub's provisioning key (a key may read announcements, see the hub's
//   ACL), read its retained signed card, check it (signature, pinned owner, and on chain when configured),
// then ranks the acceptable ones with `chooseHub` (prefer.ts), records the choice in the state directory
// (hub-choice.json, with the ranking and the refusals) and logs why. Provisioning (provision.ts, which may
// run in a child process) joins the hub the record names.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { connectOnce, createCodec, PROVISION_CLIENT_PREFIX, SosnaError, subscribeAsync, topics, usernames, verifyHubCard } from '@sosna/protocol';
import type { Codec, DeviceConfig, HubCard, Logger, MqttClient } from '@sosna/protocol';
import { hubFacts } from './check.js';
import { readWalletHistory } from './history.js';
import { describeRecord, STANDINGS, summarize } from './record.js';
import type { PayoutRecord } from './record.js';
import { judgeHub } from './policy.js';
import type { Verdict } from './policy.js';
import { cardPrice, chooseHub } from './prefer.js';
import type { HubCandidate } from './prefer.js';
import type { EthReader } from './rpc.js';
import type { StateStore } from '../state.js';
import { tlsFor } from '../tls.js';

/** One hub the device may join: `hub` (with the top-level key) or an entry of `hubs`. */
export interface HubOption {
  url: string;
  id?: string;
  owner?: string;
  /** The CA the hub's TLS certificate must chain to (PEM or path; config `hub.ca`). */
  ca?: string;
  fingerprint?: string;
  provisioningKey?: string;
}

/** The price key a device reads on hub cards (the card's `prices[key]`, wei per second). */
export const PRICE_KEY = 'cpu';

/** Every configured hub, `hub` first; entries without their own key use the top-level one. Pure. */
export function hubOptions(config: DeviceConfig): HubOption[] {
  const all: HubOption[] = [
    { ...config.hub, ...(config.provisioningKey ? { provisioningKey: config.provisioningKey } : {}) },
    ...config.hubs.map((h) => ({ ...h, ...(h.provisioningKey ?? config.provisioningKey ? { provisioningKey: h.provisioningKey ?? config.provisioningKey } : {}) })),
  ];
  return all.filter((o, i) => all.findIndex((p) => p.url === o.url) === i);
}

/** The config as it applies to one hub: its URL, pinned id and owner, and its provisioning key. Pure. */
export function configForHub(config: DeviceConfig, o: HubOption): DeviceConfig {
  return {
    ...config,
    hub: { url: o.url, ...(o.id ? { id: o.id } : {}), ...(o.owner ? { owner: o.owner } : {}), ...(o.ca ? { ca: o.ca } : {}), ...(o.fingerprint ? { fingerprint: o.fingerprint } : {}) },
    provisioningKey: o.provisioningKey,
  };
}

/** The configured hub at `url`; null when the config no longer lists it. */
export function optionAt(config: DeviceConfig, url: string): HubOption | null {
  return hubOptions(config).find((o) => o.url === url) ?? null;
}

const Wei = z.string().regex(/^\d{1,78}$/);
const Seconds = z.number().int().nonnegative();
/** A hub's payout record as the ranking shows it (record.ts), with its one-line summary. */
export const RecordView = z.object({
  standing: z.enum(STANDINGS), payouts: Seconds, miners: Seconds, total: Wei, average: Wei,
  typicalGapSec: Seconds.nullable(), maxGapSec: Seconds.nullable(), sinceLastSec: Seconds.nullable(), ageSec: Seconds.nullable(),
  suspicions: Seconds, banned: z.boolean(), summary: z.string(),
});
export type RecordView = z.infer<typeof RecordView>;

/** The record for the ranking file and the dashboard (amounts as decimal strings). Pure. */
export function recordView(r: PayoutRecord): RecordView {
  return { ...r, total: r.total.toString(), average: r.average.toString(), summary: describeRecord(r) };
}
/** What hub-choice.json holds and the dashboard shows (amounts as decimal wei strings). */
export const HubChoiceRecord = z.object({
  v: z.literal(1),
  at: z.number(),
  /** Why a survey ran: first provisioning, or the refusal that made the agent move. */
  why: z.string(),
  hubId: z.string(),
  url: z.string(),
  ranking: z.array(z.object({
    hubId: z.string(), url: z.string(), name: z.string().nullable(), trusted: z.boolean(), price: Wei.nullable(), paidToOwner: Wei, available: Wei,
    /** The wallet's payout record (absent in records written before it was read; null: not read). */
    record: RecordView.nullable().optional(),
  })),
  refused: z.array(z.object({ hubId: z.string(), url: z.string(), reasons: z.array(z.string()) })),
  /** The owner's hub preference (config `hubPreference`) when it names a hub: chosen, or refused with the reasons. */
  preferred: z.object({ url: z.string(), chosen: z.boolean(), reasons: z.array(z.string()) }).optional(),
});
export type HubChoiceRecord = z.infer<typeof HubChoiceRecord>;
export const HUB_CHOICE_FILE = 'hub-choice.json';

/** What the survey learned about one configured hub. */
export interface Surveyed {
  option: HubOption;
  card: HubCard | null;
  candidate: HubCandidate;
}

/** A surveyed hub from its card (or why there is none) and its chain facts; pure. */
export function candidateFrom(
  option: HubOption,
  card: HubCard | null,
  found: { verdict: Verdict; trusted: boolean; available: bigint; paidToOwner: bigint; record?: PayoutRecord | null } | { refused: string },
): Surveyed {
  const hubId = card?.hubId ?? option.id ?? option.url;
  const base = { hubId, price: card ? cardPrice(card, PRICE_KEY) : null };
  if ('refused' in found) return { option, card, candidate: { ...base, verdict: { ok: false, reasons: [found.refused], claimable: 0n }, trusted: false, available: 0n, paidToOwner: 0n, record: null } };
  return { option, card, candidate: { ...base, record: null, ...found } };
}

/**
 * Ranks surveyed hubs and describes the outcome as the record to keep; null chosen when none is acceptable.
 * `preference` (config `hubPreference`): "best" (or absent) follows the ranking; a configured hub's URL wins
 * over the ranking when that hub is acceptable, and when it is not, the ranking's best is chosen and the
 * record says why the preferred one was refused. Pure.
 */
export function rankSurvey(
  surveyed: readonly Surveyed[],
  why: string,
  at: number,
  preference?: string,
): { record: HubChoiceRecord | null; ranking: Omit<HubChoiceRecord, 'v' | 'at' | 'why' | 'hubId' | 'url'> } {
  const byId = new Map<string, Surveyed>();
  for (const s of surveyed) if (!byId.has(s.candidate.hubId)) byId.set(s.candidate.hubId, s);
  const choice = chooseHub([...byId.values()].map((s) => s.candidate));
  const wanted = preference && preference !== 'best' ? surveyed.find((s) => s.option.url === preference) : undefined;
  let preferred: HubChoiceRecord['preferred'];
  let chosen = choice.chosen ? byId.get(choice.chosen.hubId)! : null;
  if (preference && preference !== 'best') {
    if (!wanted) preferred = { url: preference, chosen: false, reasons: ['not among the configured hubs'] };
    else if (wanted.candidate.verdict.ok) {
      chosen = wanted;
      preferred = { url: preference, chosen: true, reasons: [] };
    } else preferred = { url: preference, chosen: false, reasons: wanted.candidate.verdict.reasons };
  }
  const ranking = {
    ranking: choice.ranked.map((c) => ({
      hubId: c.hubId, url: byId.get(c.hubId)!.option.url, name: byId.get(c.hubId)!.card?.name ?? null, trusted: c.trusted,
      price: c.price === null ? null : c.price.toString(), paidToOwner: c.paidToOwner.toString(), available: c.available.toString(),
      record: c.record ? recordView(c.record) : null,
    })),
    refused: choice.refused.map((r) => ({ hubId: r.hubId, url: byId.get(r.hubId)!.option.url, reasons: r.reasons })),
    ...(preferred ? { preferred } : {}),
  };
  return { record: chosen ? { v: 1, at, why, hubId: chosen.candidate.hubId, url: chosen.option.url, ...ranking } : null, ranking };
}

/** One line for the log: the ranking, best first, and the refusals with their reasons. Pure. */
export function describeRanking(r: Pick<HubChoiceRecord, 'ranking' | 'refused' | 'preferred'>): string {
  const pref = r.preferred ? [r.preferred.chosen ? `preferred ${r.preferred.url}: chosen` : `preferred ${r.preferred.url} refused: ${r.preferred.reasons.join('; ')}`] : [];
  const ranked = r.ranking.map((h, i) => `${i + 1}. ${h.hubId} (${h.trusted ? 'trusted' : 'listed'}, pays ${h.price ?? 'unknown'} wei/s, approved to owner ${h.paidToOwner}, available ${h.available}, record ${h.record ? h.record.summary : 'unknown'})`);
  const refused = r.refused.map((h) => `${h.hubId} refused: ${h.reasons.join('; ')}`);
  return [...pref, ...ranked, ...refused].join(' | ') || 'no hubs';
}

export interface SurveyDeps {
  config: DeviceConfig;
  /** The chain to check hubs on; null: no chain configured (cards are still checked). */
  reader: EthReader | null;
  log: Logger;
  cardTimeoutMs?: number;
}

/** Reads one hub's retained card over a provisioning-key connection and checks it; never throws. */
export async function surveyHub(option: HubOption, deps: SurveyDeps): Promise<Surveyed> {
  const { config } = deps;
  if (!option.provisioningKey) return candidateFrom(option, null, { refused: `no provisioningKey for hub ${option.url}` });
  const [keyId, secret] = option.provisioningKey.split('.') as [string, string];
  let card: HubCard;
  try {
    // a throw-away client id: surveying is not provisioning, and the hub keeps nothing of it
    const client = await connectOnce({
      url: option.url, clientId: `${PROVISION_CLIENT_PREFIX}survey-${randomBytes(9).toString('base64url')}`,
      username: usernames.provision(keyId), password: secret, keepaliveSec: config.mqtt.keepaliveSec, tls: tlsFor(config, option.url),
    });
    try {
      card = await awaitVerifiedCard(client, createCodec({ maxPayload: config.rpc.maxPayloadBytes }), option, deps.cardTimeoutMs ?? 5000);
    } finally {
      client.end(true);
    }
  } catch (err) {
    return candidateFrom(option, null, { refused: `hub ${option.url}: ${(err as Error).message}` });
  }
  if (!deps.reader || !config.chain.whitelist) {
    return candidateFrom(option, card, { verdict: { ok: true, score: 0, claimable: 0n }, trusted: false, available: 0n, paidToOwner: 0n });
  }
  try {
    const facts = await hubFacts(card, deps.reader, config.chain.whitelist, config.owner ?? null);
    const verdict = judgeHub(facts, { requireTrusted: config.chain.requireTrusted, minAvailable: BigInt(config.chain.minAvailableWei) });
    let record: PayoutRecord | null = null;
    if (verdict.ok && card.wallet) {
      // the wallet's history ranks acceptable hubs; without it the hub still ranks, as one with no record
      try {
        record = summarize(await readWalletHistory(deps.reader, card.wallet));
      } catch (err) {
        deps.log.warn(`cannot read the payout record of hub ${card.hubId} (wallet ${card.wallet}): ${(err as Error).message}`);
      }
    }
    return candidateFrom(option, card, { verdict, trusted: facts.trusted, available: facts.available, paidToOwner: facts.claimable, record });
  } catch (err) {
    return candidateFrom(option, card, { refused: `cannot check hub ${card.hubId} on chain: ${(err as Error).message}` });
  }
}

/**
 * Waits for the first card on the hub's announce topic(s) that verifies (signature, pinned owner and id),
 * subscribing itself; `onRefused` hears each card turned down. Rejects (E_TIMEOUT) with the last reason.
 */
export function awaitVerifiedCard(
  client: MqttClient, codec: Codec, pin: { owner?: string | undefined; id?: string | undefined }, timeoutMs: number, onRefused?: (reason: string) => void,
): Promise<HubCard> {
  return new Promise((resolve, reject) => {
    let last = 'no announcement';
    const refuse = (reason: string) => {
      last = reason;
      onRefused?.(reason);
    };
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new SosnaError('E_TIMEOUT', `no valid hub announcement within ${timeoutMs} ms${pin.id ? ` for hub ${pin.id}` : ''}: ${last}`));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Buffer) => {
      if (!topic.endsWith('/announce')) return;
      let value: unknown;
      try {
        value = codec.decode(payload);
      } catch (err) {
        return refuse(`undecodable announcement (${(err as Error).message})`);
      }
      const check = verifyHubCard(value, pin.owner);
      if (!check.ok) return refuse(check.reason);
      if (pin.id && check.card.hubId !== pin.id) return refuse(`announcement of hub ${check.card.hubId}, not the pinned ${pin.id}`);
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(check.card);
    };
    client.on('message', onMessage);
    subscribeAsync(client, pin.id ? topics.announce(pin.id) : topics.announceAll()).catch((err: Error) => {
      clearTimeout(timer);
      client.off('message', onMessage);
      reject(err);
    });
  });
}

/**
 * Surveys `options` (all at once), ranks them, and on success writes the choice to the state directory
 * and logs it. Returns the record, or null (logged) when no hub is acceptable.
 */
export async function chooseAndRecord(options: readonly HubOption[], why: string, deps: SurveyDeps & { state: StateStore; now?: () => number }): Promise<HubChoiceRecord | null> {
  const surveyed = await Promise.all(options.map((o) => surveyHub(o, deps)));
  const { record, ranking } = rankSurvey(surveyed, why, (deps.now ?? Date.now)(), deps.config.hubPreference);
  if (!record) {
    deps.log.warn(`no acceptable hub among ${options.length} (${why}): ${describeRanking(ranking)}`);
    return null;
  }
  deps.state.write(HUB_CHOICE_FILE, record);
  deps.log.info(`chose hub ${record.hubId} at ${record.url} (${why}): ${describeRanking(record)}`);
  return record;
}

/** The recorded choice, when it still names a configured hub. */
export function recordedChoice(config: DeviceConfig, state: StateStore): { record: HubChoiceRecord; option: HubOption } | null {
  const record = state.read(HUB_CHOICE_FILE, HubChoiceRecord);
  const option = record ? optionAt(config, record.url) : null;
  return record && option ? { record, option } : null;
}
