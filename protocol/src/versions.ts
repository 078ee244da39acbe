// Agent versions: the pattern, the schema and their order. Apart from updates.ts so that the agent's
// start-up loader (agent/src/update/loader.ts) can read its update state without the whole protocol.
import { z } from 'zod';

/** Semantic version without build metadata: 1.2.3 or 1.2.3-rc.1. */
export const VERSION_PATTERN = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
export const AgentVersion = z.string().max(64).regex(VERSION_PATTERN, 'must be a semantic version like 1.2.3 or 1.2.3-rc.1');

/** Orders two semantic versions: negative, 0 or positive (pre-releases sort before their release). */
export function compareVersions(a: string, b: string): number {
  const pa = VERSION_PATTERN.exec(a);
  const pb = VERSION_PATTERN.exec(b);
  if (!pa) throw new TypeError(`version ${JSON.stringify(a)} is not a semantic version`);
  if (!pb) throw new TypeError(`version ${JSON.stringify(b)} is not a semantic version`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  const ra = pa[4];
  const rb = pb[4];
  if (ra === undefined || rb === undefined) return ra === rb ? 0 : ra === undefined ? 1 : -1;
  const xa = ra.split('.');
  const xb = rb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const ia = xa[i];
    const ib = xb[i];
    if (ia === undefined) return -1;
    if (ib === undefined) return 1;
    const na = /^\d+$/.test(ia);
    const nb = /^\d+$/.test(ib);
    if (na && nb) {
      const d = Number(ia) - Number(ib);
      if (d !== 0) return d;
    } else if (na !== nb) return na ? -1 : 1;
    else if (ia !== ib) return ia < ib ? -1 : 1;
  }
  return 0;
}
