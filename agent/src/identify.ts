// `sosna console devices identify`: blink an LED of the board so a person can find the device. Which LED and
// what to write is planned (pure: planIdentify) from what sysfs shows under {sysfsRoot}/class/leds; the
// runner writes the plan, toggles brightness where there is no `timer` trigger, and restores the LED as it
// was when the time is up (or the agent stops, or another identify replaces this one).
import { accessSync, constants, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LedInfo {
  /** The directory name under class/leds, e.g. ACT, led0, input3::capslock. */
  name: string;
  /** Triggers the kernel offers; `current` is the one in [brackets]. */
  triggers: string[];
  current: string | null;
  brightness: number | null;
  maxBrightness: number;
  /** trigger and brightness can be written by this process. */
  writable: boolean;
}

export interface LedWrite {
  file: 'trigger' | 'brightness' | 'delay_on' | 'delay_off';
  value: string;
}

export type IdentifyPlan =
  | { supported: false; reason: string }
  | {
      supported: true;
      led: string;
      mode: 'timer' | 'toggle';
      start: LedWrite[];
      /** With mode toggle: brightness alternates between on and off every periodMs. */
      toggle: { on: string; off: string; periodMs: number } | null;
      restore: LedWrite[];
    };

export const BLINK_MS = 150;
export const TOGGLE_MS = 250;

/** `none kbd-scrolllock [mmc0] timer` -> the list and the one in brackets. Pure. */
export function parseTriggers(text: string): { triggers: string[]; current: string | null } {
  const triggers: string[] = [];
  let current: string | null = null;
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^\[(.+)\]$/.exec(word);
    if (m) current = m[1]!;
    triggers.push(m ? m[1]! : word);
  }
  return { triggers, current };
}

/** Why an LED is not one to blink, or null when it is fine. Pure. */
function unusable(led: LedInfo): string | null {
  if (/^input\d+::/.test(led.name)) return 'a keyboard LED';
  if (!led.writable) return 'not writable by the agent';
  if (led.maxBrightness <= 0) return 'max_brightness is 0';
  if (!led.triggers.includes('timer') && led.brightness === null) return 'neither a timer trigger nor a brightness file';
  return null;
}

/** Higher is better: the board's activity/status LED first (a Pi's ACT, led0), then power, then the rest. Pure. */
export function ledRank(name: string): number {
  const n = name.toLowerCase();
  if (/^(act|led0)$/.test(n) || /(^|:)(act|activity|status|heartbeat)$/.test(n)) return 3;
  if (/^(pwr|led1|power)$/.test(n) || /(^|:)(pwr|power)$/.test(n)) return 2;
  return 1;
}

/** Which LED to blink and what to write to start and to restore it; `unsupported` with the reason otherwise. Pure. */
export function planIdentify(leds: LedInfo[], where: string): IdentifyPlan {
  if (leds.length === 0) return { supported: false, reason: `no LEDs under ${where} (this board has none the kernel exposes)` };
  const usable = leds.filter((l) => unusable(l) === null);
  if (usable.length === 0) {
    return { supported: false, reason: `no LED the agent can drive under ${where}: ${leds.map((l) => `${l.name} (${unusable(l)})`).join(', ')}` };
  }
  const led = [...usable].sort((a, b) => ledRank(b.name) - ledRank(a.name) || a.name.localeCompare(b.name))[0]!;
  const restore: LedWrite[] = [{ file: 'trigger', value: led.current ?? 'none' }];
  // with no trigger the brightness is the LED's state: put it back too
  if ((led.current === null || led.current === 'none') && led.brightness !== null) restore.push({ file: 'brightness', value: String(led.brightness) });
  if (led.triggers.includes('timer')) {
    return {
      supported: true, led: led.name, mode: 'timer', toggle: null, restore,
      start: [{ file: 'trigger', value: 'timer' }, { file: 'delay_on', value: String(BLINK_MS) }, { file: 'delay_off', value: String(BLINK_MS) }],
    };
  }
  return {
    supported: true, led: led.name, mode: 'toggle', restore,
    start: led.triggers.includes('none') ? [{ file: 'trigger', value: 'none' }] : [],
    toggle: { on: String(led.maxBrightness), off: '0', periodMs: TOGGLE_MS },
  };
}

const readText = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};
const canWrite = (file: string): boolean => {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/** The LEDs sysfs shows under {sysfsRoot}/class/leds (an absent folder: none). */
export function readLeds(sysfsRoot: string): LedInfo[] {
  const dir = join(sysfsRoot, 'class', 'leds');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const base = join(dir, name);
    const trig = readText(join(base, 'trigger'));
    const { triggers, current } = trig === null ? { triggers: [], current: null } : parseTriggers(trig);
    const b = readText(join(base, 'brightness'));
    const max = readText(join(base, 'max_brightness'));
    const brightness = b === null || Number.isNaN(Number(b.trim())) ? null : Number(b.trim());
    return {
      name, triggers, current, brightness,
      maxBrightness: max === null || Number.isNaN(Number(max.trim())) ? (brightness === null ? 0 : 1) : Number(max.trim()),
      writable: trig !== null && canWrite(join(base, 'trigger')) && (b === null || canWrite(join(base, 'brightness'))),
    };
  });
}

export interface Blinking {
  readonly led: string;
  /** Restores the LED now (idempotent). */
  stop(): void;
  readonly done: Promise<void>;
}

/** Writes the plan and blinks for `seconds`, then restores. Throws naming the file when a start write fails (after restoring). */
export function startBlink(plan: Extract<IdentifyPlan, { supported: true }>, sysfsRoot: string, seconds: number, onError: (msg: string) => void = () => {}): Blinking {
  const dir = join(sysfsRoot, 'class', 'leds', plan.led);
  const write = (w: LedWrite) => writeFileSync(join(dir, w.file), w.value);
  let interval: NodeJS.Timeout | null = null;
  let timer: NodeJS.Timeout | null = null;
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (interval) clearInterval(interval);
    if (timer) clearTimeout(timer);
    for (const w of plan.restore) {
      try {
        write(w);
      } catch (err) {
        onError(`could not restore ${join(dir, w.file)}: ${(err as Error).message}`);
      }
    }
    finished();
  };
  try {
    for (const w of plan.start) write(w);
  } catch (err) {
    stop();
    throw new Error(`could not write ${dir}: ${(err as Error).message}`);
  }
  if (plan.toggle) {
    const t = plan.toggle;
    let on = false;
    interval = setInterval(() => {
      on = !on;
      try {
        write({ file: 'brightness', value: on ? t.on : t.off });
      } catch (err) {
        onError(`could not write ${join(dir, 'brightness')}: ${(err as Error).message}`);
        stop();
      }
    }, t.periodMs);
    interval.unref();
  }
  timer = setTimeout(stop, seconds * 1000);
  timer.unref();
  return { led: plan.led, stop, done };
}
