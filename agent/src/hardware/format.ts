// Renders a detection result for people (`sosna-agent detect`) and for machines (JSON).
import type { HardwareAsic, HardwareGpu, HardwareInventory } from '@sosna/protocol/hardware';
import type { DetectResult } from './detect.js';
import type { ProfileMatches } from './matcher.js';

const GiB = 1024 ** 3;

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  if (bytes >= 1024 ** 4) return `${(bytes / 1024 ** 4).toFixed(1)} TiB`;
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
  return `${bytes} B`;
}

export function formatHashrate(hs: number | undefined): string {
  if (hs === undefined) return '-';
  const units: Array<[number, string]> = [
    [1e15, 'PH/s'],
    [1e12, 'TH/s'],
    [1e9, 'GH/s'],
    [1e6, 'MH/s'],
    [1e3, 'kH/s'],
  ];
  for (const [scale, unit] of units) if (hs >= scale) return `${(hs / scale).toFixed(2)} ${unit}`;
  return `${hs.toFixed(0)} H/s`;
}

const opt = (v: number | undefined, suffix: string, digits = 0): string => (v === undefined ? '-' : `${v.toFixed(digits)}${suffix}`);

/** Left-aligned columns separated by two spaces; no trailing blanks. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function pcie(g: HardwareGpu): string {
  const { genCurrent, genMax, widthCurrent, widthMax } = g.pcie;
  if (genCurrent === undefined && widthCurrent === undefined) return '-';
  const now = `gen${genCurrent ?? '?'} x${widthCurrent ?? '?'}`;
  const max = genMax !== undefined || widthMax !== undefined ? `/gen${genMax ?? '?'} x${widthMax ?? '?'}` : '';
  return now + max;
}

function gpuRows(gpus: readonly HardwareGpu[], profiles: Map<string, string>): string[][] {
  return gpus.map((g) => [
    String(g.index),
    g.vendor,
    g.name,
    g.pciBusId,
    g.vramBytes > 0 ? formatBytes(g.vramBytes) : '-',
    pcie(g),
    opt(g.temperatureC, 'C'),
    g.power.drawW !== undefined || g.power.limitW !== undefined ? `${opt(g.power.drawW, '')}/${opt(g.power.limitW, '')} W` : '-',
    opt(g.fanPct, '%'),
    opt(g.utilizationPct, '%'),
    g.throttleReasons.length > 0 ? g.throttleReasons.join(',') : '-',
    profiles.get(`gpu.${g.index}`) ?? '-',
    g.state === 'ok' ? 'ok' : `ERROR: ${g.reason ?? ''}`.trim(),
  ]);
}

function asicRows(asics: readonly HardwareAsic[], profiles: Map<string, string>): string[][] {
  return asics.map((a) => {
    const chips = a.chains.map((c) => (c.chipTempC !== undefined ? c.chipTempC.toFixed(0) : '?'));
    return [
      `${a.host}:${a.port}`,
      a.maker,
      a.model,
      formatHashrate(a.hashrate5s),
      formatHashrate(a.hashrateAvg),
      chips.length > 0 ? chips.join('/') : '-',
      a.fansRpm.length > 0 ? a.fansRpm.map((f) => f.toFixed(0)).join('/') : '-',
      a.hwErrors !== undefined ? String(a.hwErrors) : '-',
      a.poolUrl ?? '-',
      profiles.get(`asic.${a.host}:${a.port}`) ?? '-',
      a.state === 'ok' ? (a.reason ? `ok (${a.reason})` : 'ok') : `ERROR: ${a.reason ?? ''}`.trim(),
    ];
  });
}

function summaryRows(inv: HardwareInventory, profiles: Map<string, string>): string[][] {
  const rows: string[][] = [];
  if (inv.hostname || inv.os) {
    const os = inv.os ? [[inv.os.distro, inv.os.release].filter(Boolean).join(' '), inv.os.kernel ? `kernel ${inv.os.kernel}` : undefined].filter(Boolean).join(', ') : '';
    rows.push(['Host', `${inv.hostname ?? '-'}${os ? ` (${os})` : ''}`]);
  }
  if (inv.board) {
    const b = inv.board;
    const extra = [b.soc, b.revision ? `rev ${b.revision}` : undefined, profiles.get('board')].filter(Boolean).join(', ');
    rows.push(['Board', `${b.kind}: ${b.model}${extra ? ` (${extra})` : ''}`]);
  }
  if (inv.cpu) {
    const c = inv.cpu;
    const flags = Object.entries(c.flags)
      .filter(([, on]) => on === true)
      .map(([f]) => f)
      .join(' ');
    const mhz = c.maxMHz ?? c.baseMHz;
    rows.push([
      'CPU',
      `${c.model} (${c.vendor}, ${c.arch}) ${c.cores} cores / ${c.threads} threads${mhz ? `, ${mhz} MHz` : ''}${c.temperatureC !== undefined ? `, ${c.temperatureC.toFixed(0)}C` : ''}${flags ? ` [${flags}]` : ''}`,
    ]);
  } else rows.push(['CPU', 'not detected']);
  if (inv.memory) {
    const avail = inv.memory.availableBytes !== undefined ? ` (${formatBytes(inv.memory.availableBytes)} available)` : '';
    rows.push(['Memory', `${formatBytes(inv.memory.totalBytes)}${avail}`]);
  }
  for (const d of inv.disks) {
    rows.push(['Disk', `${d.name} ${d.type} ${formatBytes(d.sizeBytes)}${d.freeBytes !== undefined ? ` (${formatBytes(d.freeBytes)} free)` : ''}${d.model ? ` ${d.model}` : ''}`]);
  }
  for (const n of inv.network) {
    if (n.virtual) continue;
    rows.push(['Network', `${n.name} ${n.mac || '-'}${n.speedMbps ? ` ${n.speedMbps} Mbit/s` : ''}${n.ipv4.length ? ` ${n.ipv4.join(', ')}` : ''}`]);
  }
  return rows;
}

export interface FormatOptions {
  /** Adds a profile column (and the board's profile). */
  matches?: ProfileMatches;
}

/** A readable multi-section table of a detection result. */
export function formatInventory(result: DetectResult, opts: FormatOptions = {}): string {
  const inv = result.inventory;
  const profiles = new Map<string, string>();
  for (const m of opts.matches?.matches ?? []) profiles.set(m.component, m.variantName ?? m.profileName);
  const out: string[] = [];
  out.push(summaryRows(inv, profiles).map(([k, v]) => `${(k ?? '').padEnd(8)}  ${v ?? ''}`).join('\n'));
  const virtual = inv.network.filter((n) => n.virtual).length;
  if (virtual > 0) out.push(`(${virtual} virtual network interfaces not shown)`);
  out.push('');
  if (inv.gpus.length > 0) {
    out.push(`GPUs (${inv.gpus.length})`);
    out.push(
      renderTable(['#', 'Vendor', 'Name', 'PCI bus', 'VRAM', 'PCIe', 'Temp', 'Power', 'Fan', 'Util', 'Throttle', 'Profile', 'State'], gpuRows(inv.gpus, profiles)),
    );
  } else out.push('GPUs: none found');
  out.push('');
  if (inv.asics.length > 0) {
    out.push(`ASICs (${inv.asics.length})`);
    out.push(
      renderTable(['Address', 'Maker', 'Model', 'Hash 5s', 'Hash avg', 'Chip C', 'Fans rpm', 'HW err', 'Pool', 'Profile', 'State'], asicRows(inv.asics, profiles)),
    );
  } else out.push('ASICs: none found');
  const matched = opts.matches?.matches ?? [];
  if (opts.matches) {
    out.push('');
    out.push(matched.length > 0 ? `Profiles (${matched.length})` : 'Profiles: none matched');
    for (const m of matched) out.push(`  ${m.component.padEnd(14)} ${m.variantName ?? m.profileName}  (${m.reason})`);
    if (opts.matches.unmatched.length > 0) out.push(`  no profile for: ${opts.matches.unmatched.join(', ')}`);
  }
  if (result.warnings.length > 0) {
    out.push('');
    out.push(`Warnings (${result.warnings.length})`);
    for (const w of result.warnings) out.push(`  [${w.source}] ${w.message}`);
  }
  out.push('');
  out.push(`Detected in ${result.durationMs} ms`);
  return out.join('\n');
}

/** A plain JSON-serialisable object: the result, plus the profile matches when given. */
export function inventoryToJson(result: DetectResult, matches?: ProfileMatches): Record<string, unknown> {
  const out: Record<string, unknown> = { inventory: result.inventory, warnings: result.warnings, durationMs: result.durationMs };
  if (matches) {
    out['profiles'] = {
      matches: matches.matches.map((m) => ({
        component: m.component,
        profileId: m.profileId,
        variantId: m.variantId,
        rule: m.rule,
        reason: m.reason,
      })),
      unmatched: matches.unmatched,
    };
  }
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}

export function formatInventoryJson(result: DetectResult, matches?: ProfileMatches): string {
  return JSON.stringify(inventoryToJson(result, matches), null, 2);
}
