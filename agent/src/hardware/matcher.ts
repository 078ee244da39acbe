// matchProfiles: picks the best hardware profile for each component of an inventory and says which
// rule matched. Rules, strongest first: PCI device id (100), ASIC model or device-tree model (90),
// name pattern (70), CPU architecture (10, for generic fallbacks). Ties go to the higher `priority`,
// then to the profile id, so the result never depends on file order.
import type {
  BenchmarkId,
  HardwareCapabilities,
  HardwareClass,
  HardwareInventory,
  HardwareProfile,
  HardwareProfileMatch,
} from '@sosna/protocol/hardware';
import { PROFILE_DATA } from './profile-data.generated.js';

export type MatchRule = 'pci-device' | 'asic-model' | 'device-tree-model' | 'name-pattern' | 'arch';

export interface ProfileMatch {
  /** `cpu`, `board`, `gpu.<index>`, `asic.<host>:<port>`. */
  component: string;
  profileId: string;
  profileName: string;
  class: HardwareClass;
  variantId?: string;
  variantName?: string;
  rule: MatchRule;
  /** Human-readable: which value matched which rule. */
  reason: string;
  score: number;
  /** The family's capabilities with the variant's laid over them. */
  capabilities: HardwareCapabilities;
  benchmarks: BenchmarkId[];
}

export interface ProfileMatches {
  matches: ProfileMatch[];
  /** Components no profile matched. */
  unmatched: string[];
}

/** What the rules look at, for one component. */
export interface ComponentFacts {
  component: string;
  class: HardwareClass;
  name?: string;
  pciVendor?: string;
  pciDevice?: string;
  deviceTreeModel?: string;
  asicModel?: string;
  arch?: string;
}

const SCORES: Readonly<Record<MatchRule, number>> = {
  'pci-device': 100,
  'asic-model': 90,
  'device-tree-model': 90,
  'name-pattern': 70,
  arch: 10,
};

function firstRegexHit(patterns: readonly string[] | undefined, value: string | undefined): string | undefined {
  if (!patterns || value === undefined) return undefined;
  for (const p of patterns) {
    try {
      if (new RegExp(p, 'iu').test(value)) return p;
    } catch {
      // an invalid pattern never matches (the schema test keeps them out of the data)
    }
  }
  return undefined;
}

/** The strongest rule of `match` that applies to `facts`, or undefined. */
export function evaluateRules(
  match: HardwareProfileMatch,
  facts: ComponentFacts,
  inheritedVendor?: string,
): { rule: MatchRule; reason: string } | undefined {
  const vendor = match.pciVendor ?? inheritedVendor;
  if (match.pciDevices && vendor && facts.pciVendor === vendor && facts.pciDevice && match.pciDevices.includes(facts.pciDevice)) {
    return { rule: 'pci-device', reason: `PCI id ${vendor.slice(2)}:${facts.pciDevice.slice(2)}` };
  }
  const asic = firstRegexHit(match.asicModels, facts.asicModel);
  if (asic) return { rule: 'asic-model', reason: `ASIC model "${facts.asicModel}" matches /${asic}/` };
  const dt = firstRegexHit(match.deviceTreeModels, facts.deviceTreeModel);
  if (dt) return { rule: 'device-tree-model', reason: `device-tree model "${facts.deviceTreeModel}" matches /${dt}/` };
  const name = firstRegexHit(match.namePatterns, facts.name);
  if (name) return { rule: 'name-pattern', reason: `name "${facts.name}" matches /${name}/` };
  if (match.arch && facts.arch && (match.arch as readonly string[]).includes(facts.arch)) {
    return { rule: 'arch', reason: `architecture ${facts.arch}` };
  }
  return undefined;
}

/** The facts of every component in an inventory. */
export function componentFacts(inv: HardwareInventory): ComponentFacts[] {
  const out: ComponentFacts[] = [];
  if (inv.cpu) out.push({ component: 'cpu', class: 'cpu', name: inv.cpu.model, arch: inv.cpu.arch });
  if (inv.board) {
    const facts: ComponentFacts = { component: 'board', class: 'board', name: inv.board.model };
    if (inv.board.kind !== 'x86') facts.deviceTreeModel = inv.board.model;
    if (inv.cpu) facts.arch = inv.cpu.arch;
    out.push(facts);
  }
  for (const g of inv.gpus) {
    const facts: ComponentFacts = { component: `gpu.${g.index}`, class: 'gpu', name: g.name };
    if (g.pciVendorId) facts.pciVendor = g.pciVendorId;
    if (g.pciDeviceId) facts.pciDevice = g.pciDeviceId;
    out.push(facts);
  }
  for (const a of inv.asics) {
    out.push({ component: `asic.${a.host}:${a.port}`, class: 'asic', name: a.model, asicModel: a.model });
  }
  return out;
}

function mergeCapabilities(base: HardwareCapabilities, over: HardwareCapabilities | undefined): HardwareCapabilities {
  return over ? { ...base, ...over } : base;
}

export function matchComponent(facts: ComponentFacts, profiles: readonly HardwareProfile[]): ProfileMatch | undefined {
  let best: { profile: HardwareProfile; rule: MatchRule; reason: string; score: number } | undefined;
  for (const profile of profiles) {
    if (profile.class !== facts.class) continue;
    const hit = evaluateRules(profile.match, facts);
    if (!hit) continue;
    const score = SCORES[hit.rule];
    const better =
      !best ||
      score > best.score ||
      (score === best.score && (profile.priority ?? 0) > (best.profile.priority ?? 0)) ||
      (score === best.score && (profile.priority ?? 0) === (best.profile.priority ?? 0) && profile.id < best.profile.id);
    if (better) best = { profile, ...hit, score };
  }
  if (!best) return undefined;
  const { profile } = best;
  const result: ProfileMatch = {
    component: facts.component,
    profileId: profile.id,
    profileName: profile.name,
    class: profile.class,
    rule: best.rule,
    reason: best.reason,
    score: best.score,
    capabilities: profile.capabilities,
    benchmarks: [...profile.benchmarks],
  };
  for (const variant of profile.variants ?? []) {
    const hit = evaluateRules(variant.match, facts, profile.match.pciVendor);
    if (!hit) continue;
    result.variantId = variant.id;
    result.variantName = variant.name;
    result.reason = `${best.reason}; variant ${variant.id}: ${hit.reason}`;
    result.capabilities = mergeCapabilities(profile.capabilities, variant.capabilities);
    break;
  }
  return result;
}

/** Best profile per component of `inventory`. `profiles` defaults to the ones bundled with the agent. */
export function matchProfiles(inventory: HardwareInventory, profiles: readonly HardwareProfile[] = PROFILE_DATA): ProfileMatches {
  const matches: ProfileMatch[] = [];
  const unmatched: string[] = [];
  for (const facts of componentFacts(inventory)) {
    const m = matchComponent(facts, profiles);
    if (m) matches.push(m);
    else unmatched.push(facts.component);
  }
  return { matches, unmatched };
}
