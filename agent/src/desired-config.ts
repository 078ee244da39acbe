// The hub's desired config for this device (retained on dev/{id}/config): applied through the same settings
// writer as the dashboard (validated by DeviceConfig, written atomically to the config file, so it survives a
// restart), remembered by version in the state directory, and reported to the hub (applied version, or the
// fields and reasons it was refused). A version already handled is reported again, never applied twice.
import { z } from 'zod';
import { DesiredConfig, REMOTE_CONFIG_FIELDS } from '@sosna/protocol';
import type { ConfigReport, Logger } from '@sosna/protocol';
import type { StateStore } from './state.js';

export const DESIRED_CONFIG_FILE = 'desired-config.json';

const Handled = z.object({
  version: z.number().int().positive(),
  status: z.enum(['applied', 'failed']),
  errors: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
  restartRequired: z.array(z.string()).optional(),
});

/** What the applier needs of the settings writer (agent/src/dashboard/settings.ts SettingsStore). */
export interface SettingsWriter {
  apply(patch: unknown, editable: readonly string[]): Promise<
    { ok: true; restartRequired: readonly string[] } | { ok: false; errors: { field: string; reason: string }[] }
  >;
}

export class DesiredConfigApplier {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly o: {
      settings: () => Promise<SettingsWriter>;
      state: StateStore;
      log: Logger;
      report: (r: ConfigReport) => Promise<unknown>;
    },
  ) {}

  /** The last version handled (applied or refused), from the state directory. */
  handled(): ConfigReport | undefined {
    return this.o.state.read(DESIRED_CONFIG_FILE, Handled, (why) => this.o.log.warn('ignoring unreadable desired-config state', { why }));
  }

  /** One retained message (decoded); serialised, so versions apply in order. */
  receive(value: unknown): Promise<void> {
    const run = this.queue.then(() => this.handle(value));
    this.queue = run.catch(() => {});
    return run;
  }

  private async handle(value: unknown): Promise<void> {
    const msg = DesiredConfig.safeParse(value);
    if (!msg.success) {
      this.o.log.warn('invalid desired config from the hub', { error: `${msg.error.issues[0]?.path.join('.')}: ${msg.error.issues[0]?.message}` });
      return;
    }
    const { version, values } = msg.data;
    const last = this.handled();
    let outcome: ConfigReport;
    if (last && last.version >= version) {
      outcome = last; // already handled: only say so again (the hub may have missed the report)
    } else {
      const r = await (await this.o.settings()).apply(values, [...REMOTE_CONFIG_FIELDS.keys()]);
      outcome = r.ok
        ? { version, status: 'applied', restartRequired: [...r.restartRequired] }
        : { version, status: 'failed', errors: r.errors.slice(0, 64) };
      this.o.state.write(DESIRED_CONFIG_FILE, outcome);
      if (r.ok) this.o.log.info('desired config applied', { version, keys: Object.keys(values), restartRequired: r.restartRequired });
      else this.o.log.warn('desired config refused', { version, errors: r.errors.map((e) => `${e.field}: ${e.reason}`).join('; ') });
    }
    try {
      await this.o.report(outcome);
    } catch (err) {
      this.o.log.warn('could not report the desired config to the hub (reported again at the next connect)', { version, error: (err as Error).message });
    }
  }
}
