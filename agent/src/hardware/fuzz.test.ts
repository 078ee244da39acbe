// Every pure parser gets random text (and random structured input) and must neither throw nor produce
// output the inventory schema would refuse.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HardwareAsic, HardwareBoard, HardwareGpu } from '@sosna/protocol/hardware';
import { parseHostPort } from './asic-detector.js';
import { buildAsic, CGMINER_COMMANDS, type CgminerReplies } from './asic-mapper.js';
import { identifyBoard, parseCompatible, parseNvTegraRelease } from './board-parser.js';
import { parseCgminerReply } from './cgminer-parser.js';
import { cpuFeatureFlags, parseCpuInfo } from './cpuinfo-parser.js';
import { DRM_DEVICE_FILES, DRM_HWMON_FILES, parseDpmLevels, parseDrmCard, parseUevent, pcieGenFromSpeed } from './drm-parser.js';
import { mergeGpus } from './gpu-merge.js';
import { parseLenientJson } from './lenient-json.js';
import { NVIDIA_QUERY_FIELDS, parseInvalidField, parseNvidiaSmiBanner, parseNvidiaSmiCsv } from './nvidia-parser.js';
import { parsePciDisplayDevice, PCI_DEVICE_FILES } from './pci-parser.js';
import { parseRocmSmiJson } from './rocm-parser.js';
import { decodeRpiRevision } from './rpi-revision.js';
import { mapCpu, mapDisks, mapNetwork, parseMemTotal } from './system-mapper.js';

const RUNS = { numRuns: 300 };

/** Text that looks a bit like tool output: random lines mixing separators, brackets, digits and noise. */
const toolText = fc
  .array(
    fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('[N/A]', '[Not Supported]', '[Unknown Error]', 'ERR!', 'Active', '0x0000000000000044', '00000000:0A:00.0', ', ', ':', '\t: ', '{', '}', '"', '\0', '\n', 'GT/s', 'Mhz *'),
      fc.double().map(String),
      fc.integer().map(String),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

const anyText = fc.oneof(fc.string({ maxLength: 2000 }), fc.string({ unit: 'binary', maxLength: 500 }), fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b).toString('latin1')), toolText);

/** JSON-ish text: real JSON of random shape, sometimes cut or glued. */
const jsonish = fc.oneof(
  fc.json(),
  fc.json().map((s) => s.slice(0, Math.floor(s.length / 2))),
  fc.tuple(fc.json(), fc.json()).map(([a, b]) => `${a}${b}\0`),
  fc.jsonValue().map((v) => JSON.stringify({ STATUS: [{ STATUS: 'S' }], SUMMARY: [v], STATS: [v, v], DEVS: v, POOLS: [v] })),
  anyText,
);

describe('parsers never throw on random input', () => {
  it('cpuinfo', () => {
    fc.assert(
      fc.property(anyText, (t) => {
        const info = parseCpuInfo(t);
        cpuFeatureFlags(info.flags);
        parseMemTotal(t);
      }),
      RUNS,
    );
  });

  it('nvidia-smi CSV, banner and errors, with schema-valid GPUs', () => {
    const fields = fc.shuffledSubarray([...NVIDIA_QUERY_FIELDS], { minLength: 1 });
    fc.assert(
      fc.property(anyText, fields, (t, f) => {
        const { gpus } = parseNvidiaSmiCsv(t, f);
        parseNvidiaSmiCsv(t);
        parseInvalidField(t);
        parseNvidiaSmiBanner(t);
        const merged = mergeGpus({ nvidia: gpus, nvidiaToolPresent: true, drm: [], pci: [], rocm: [] });
        for (const g of merged.gpus) expect(HardwareGpu.safeParse(g).success).toBe(true);
      }),
      RUNS,
    );
  });

  it('nvidia-smi rows built from random cells', () => {
    const cells = fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('[N/A]', 'ERR!', '00000000:01:00.0', '0x220610DE', '-5', '1e308', 'NaN')), {
      minLength: NVIDIA_QUERY_FIELDS.length,
      maxLength: NVIDIA_QUERY_FIELDS.length,
    });
    fc.assert(
      fc.property(cells, (row) => {
        row[3] = '00000000:01:00.0';
        const { gpus } = parseNvidiaSmiCsv(row.map((c) => c.replace(/[,\n]/gu, ' ')).join(', '));
        for (const g of gpus) {
          const check = HardwareGpu.safeParse({ ...g, index: 0 });
          expect(check.success, check.success ? '' : JSON.stringify([g, check.error.issues])).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('DRM and PCI sysfs snapshots, with schema-valid GPUs', () => {
    const value = fc.oneof(anyText, fc.constantFrom('0x1002', '0x8086', '0x10de', 'DRIVER=amdgpu\nPCI_SLOT_NAME=0000:03:00.0', '0x030000'));
    const files = (names: readonly string[]) => fc.dictionary(fc.constantFrom(...names), value);
    fc.assert(
      fc.property(files(DRM_DEVICE_FILES), files(DRM_HWMON_FILES), files(PCI_DEVICE_FILES), anyText, (device, hwmon, pci, t) => {
        const g = parseDrmCard({ card: 'card0', device: { vendor: '0x1002', uevent: 'PCI_SLOT_NAME=0000:03:00.0', ...device }, hwmon, cardFiles: {} });
        if (g) expect(HardwareGpu.safeParse({ ...g, index: 0 }).success).toBe(true);
        const p = parsePciDisplayDevice('0000:03:00.0', { class: '0x030000', vendor: '0x10de', ...pci });
        if (p) expect(HardwareGpu.safeParse({ ...p.gpu, index: 0 }).success).toBe(true);
        parseUevent(t);
        pcieGenFromSpeed(t);
        parseDpmLevels(t);
      }),
      RUNS,
    );
  });

  it('rocm-smi JSON and lenient JSON', () => {
    fc.assert(
      fc.property(jsonish, (t) => {
        parseRocmSmiJson(t);
        parseLenientJson(t);
      }),
      RUNS,
    );
  });

  it('cgminer replies, with a schema-valid ASIC whatever the miner says', () => {
    const replies = fc.array(jsonish, { minLength: CGMINER_COMMANDS.length, maxLength: CGMINER_COMMANDS.length });
    fc.assert(
      fc.property(replies, fc.boolean(), (texts, withSummary) => {
        const r: CgminerReplies = {};
        CGMINER_COMMANDS.forEach((cmd, i) => {
          if (cmd !== 'summary' || withSummary) r[cmd] = parseCgminerReply(texts[i]!);
        });
        const { asic } = buildAsic('10.0.0.5', 4028, r);
        const check = HardwareAsic.safeParse(asic);
        expect(check.success, check.success ? '' : JSON.stringify(check.error.issues)).toBe(true);
      }),
      RUNS,
    );
  });

  it('board files, revision codes and host specs', () => {
    fc.assert(
      fc.property(anyText, anyText, anyText, fc.constantFrom('arm64', 'armv7', 'x86_64', 'other') as fc.Arbitrary<'arm64' | 'armv7' | 'x86_64' | 'other'>, (a, b, c, arch) => {
        decodeRpiRevision(a);
        parseCompatible(b);
        parseNvTegraRelease(c);
        parseHostPort(a);
        const board = identifyBoard({ arch, dtModel: a, dtCompatible: b, tegraRelease: c, cpuinfo: parseCpuInfo(c), dmi: { board_name: a, board_vendor: b } });
        if (board) expect(HardwareBoard.safeParse(board).success).toBe(true);
      }),
      RUNS,
    );
  });

  it('systeminformation mapping survives any shape', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (x, y, z) => {
        mapCpu({ si: x as never, arch: 'x86_64', temperatureC: y as never });
        mapDisks({ layout: Array.isArray(x) ? (x as never) : [], blockDevices: Array.isArray(y) ? (y as never) : [], fsSize: Array.isArray(z) ? (z as never) : [] });
        mapNetwork(Array.isArray(x) ? (x as never) : [], typeof y === 'object' && y !== null && !Array.isArray(y) ? (y as never) : {});
      }),
      RUNS,
    );
  });
});
