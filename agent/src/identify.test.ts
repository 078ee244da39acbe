import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTriggers, planIdentify, readLeds, startBlink } from './identify.js';
import type { LedInfo } from './identify.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A fake sysfs with the given LEDs: name -> trigger line, brightness, max_brightness. */
function fakeSysfs(leds: Record<string, { trigger: string; brightness?: string; max?: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'sosna-sysfs-'));
  roots.push(root);
  for (const [name, f] of Object.entries(leds)) {
    const dir = join(root, 'class', 'leds', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'trigger'), `${f.trigger}\n`);
    if (f.brightness !== undefined) writeFileSync(join(dir, 'brightness'), `${f.brightness}\n`);
    if (f.max !== undefined) writeFileSync(join(dir, 'max_brightness'), `${f.max}\n`);
  }
  return root;
}
const read = (root: string, led: string, file: string) => readFileSync(join(root, 'class', 'leds', led, file), 'utf8').trim();
const led = (over: Partial<LedInfo>): LedInfo => ({ name: 'x', triggers: ['none', 'timer'], current: 'none', brightness: 0, maxBrightness: 1, writable: true, ...over });

describe('identify: which LED and what to write', () => {
  it('parses the trigger line and its current trigger', () => {
    expect(parseTriggers('none kbd-scrolllock [mmc0] timer heartbeat\n')).toEqual({ triggers: ['none', 'kbd-scrolllock', 'mmc0', 'timer', 'heartbeat'], current: 'mmc0' });
  });

  it("picks a Raspberry Pi's ACT LED over PWR, blinks it with the timer trigger and restores mmc0", () => {
    const root = fakeSysfs({
      PWR: { trigger: 'none [default-on] timer', brightness: '255', max: '255' },
      ACT: { trigger: 'none [mmc0] timer heartbeat', brightness: '0', max: '255' },
      'input3::capslock': { trigger: '[kbd-capslock] timer', brightness: '0', max: '1' },
    });
    const leds = readLeds(root);
    expect(leds.map((l) => l.name)).toEqual(['ACT', 'PWR', 'input3::capslock']);
    const plan = planIdentify(leds, `${root}/class/leds`);
    expect(plan).toEqual({
      supported: true, led: 'ACT', mode: 'timer', toggle: null,
      start: [{ file: 'trigger', value: 'timer' }, { file: 'delay_on', value: '150' }, { file: 'delay_off', value: '150' }],
      restore: [{ file: 'trigger', value: 'mmc0' }],
    });
  });

  it('toggles brightness where there is no timer trigger, then puts trigger and brightness back', async () => {
    const root = fakeSysfs({ 'status:green': { trigger: '[none] gpio', brightness: '1', max: '1' } });
    const plan = planIdentify(readLeds(root), 'x');
    expect(plan).toMatchObject({ supported: true, led: 'status:green', mode: 'toggle', start: [{ file: 'trigger', value: 'none' }], toggle: { on: '1', off: '0' } });
    expect(plan.supported && plan.restore).toEqual([{ file: 'trigger', value: 'none' }, { file: 'brightness', value: '1' }]);
    if (!plan.supported) throw new Error('unreachable');
    const seen = new Set<string>();
    const blink = startBlink({ ...plan, toggle: { ...plan.toggle!, periodMs: 20 } }, root, 1);
    const until = Date.now() + 900;
    while (Date.now() < until && seen.size < 2) {
      seen.add(read(root, 'status:green', 'brightness'));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(seen).toEqual(new Set(['0', '1'])); // it blinked
    blink.stop();
    await blink.done;
    expect(read(root, 'status:green', 'brightness')).toBe('1');
    expect(read(root, 'status:green', 'trigger')).toBe('none');
  });

  it('writes the timer plan and restores the previous trigger when the time is up', async () => {
    const root = fakeSysfs({ led0: { trigger: 'none [mmc0] timer', brightness: '0', max: '1' } });
    const plan = planIdentify(readLeds(root), 'x');
    if (!plan.supported) throw new Error(plan.reason);
    const blink = startBlink(plan, root, 1);
    expect(read(root, 'led0', 'trigger')).toBe('timer');
    expect(read(root, 'led0', 'delay_on')).toBe('150');
    await blink.done; // bounded by the 1 s of the blink
    expect(read(root, 'led0', 'trigger')).toBe('mmc0');
  });

  it('says why not: no LEDs at all, or none it can drive (each named with its reason)', () => {
    const empty = mkdtempSync(join(tmpdir(), 'sosna-sysfs-'));
    roots.push(empty);
    expect(readLeds(empty)).toEqual([]);
    expect(planIdentify([], `${empty}/class/leds`)).toEqual({ supported: false, reason: `no LEDs under ${empty}/class/leds (this board has none the kernel exposes)` });
    const plan = planIdentify([led({ name: 'input2::numlock' }), led({ name: 'ACT', writable: false }), led({ name: 'dead', maxBrightness: 0 })], '/sys/class/leds');
    expect(plan).toEqual({
      supported: false,
      reason: 'no LED the agent can drive under /sys/class/leds: input2::numlock (a keyboard LED), ACT (not writable by the agent), dead (max_brightness is 0)',
    });
  });
});
