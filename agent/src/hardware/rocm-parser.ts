// Pure parser for `rocm-smi --showproductname --showbus --json` (ROCm SMI CLI): a JSON object keyed
// by card (`card0`), each holding strings such as "Card series"/"Card Series", "Card model",
// "Card vendor", "Card SKU", "GFX Version" and "PCI Bus". Key capitalisation changed between ROCm
// releases, and the tool may print warnings before the JSON, so both are tolerated.
import { parseLenientJson } from './lenient-json.js';
import { clip, normalizePciBusId } from './parse-util.js';

export interface RocmCard {
  card: string;
  pciBusId?: string;
  /** Marketing name where the tool knows it (e.g. "Radeon RX 7900 XTX"), else the series. */
  name?: string;
  gfxVersion?: string;
}

function pick(obj: Record<string, unknown>, wanted: string): string | undefined {
  for (const [k, v] of Object.entries(obj)) {
    if (k.toLowerCase() === wanted && typeof v === 'string' && v.trim() !== '' && !/^N\/A$/iu.test(v.trim())) return v.trim();
  }
  return undefined;
}

export function parseRocmSmiJson(text: string): { cards: RocmCard[]; error?: string } {
  const start = text.indexOf('{');
  if (start < 0) return { cards: [], error: 'no JSON object in rocm-smi output' };
  const parsed = parseLenientJson(text.slice(start));
  if (!parsed.ok) return { cards: [], error: `rocm-smi JSON: ${parsed.error}` };
  const root = Array.isArray(parsed.value) ? parsed.value[0] : parsed.value;
  if (typeof root !== 'object' || root === null) return { cards: [], error: 'rocm-smi JSON is not an object' };
  const cards: RocmCard[] = [];
  for (const [key, value] of Object.entries(root as Record<string, unknown>)) {
    if (!/^card\d+$/u.test(key) || typeof value !== 'object' || value === null) continue;
    const v = value as Record<string, unknown>;
    const bus = pick(v, 'pci bus');
    const series = pick(v, 'card series');
    const model = pick(v, 'card model');
    // "Card model" is a marketing name on newer ROCm and a hex device id on older ones.
    const name = model && !/^0x[0-9a-f]+$/iu.test(model) ? model : series;
    const card: RocmCard = { card: key };
    const busId = bus ? normalizePciBusId(bus) : undefined;
    if (busId) card.pciBusId = busId;
    if (name) card.name = clip(name, 256);
    const gfx = pick(v, 'gfx version');
    if (gfx) card.gfxVersion = clip(gfx, 32);
    cards.push(card);
  }
  return { cards };
}
