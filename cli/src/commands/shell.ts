// `sosna console` without a command: the interactive shell. One connection to the hub for the whole
// session; each line runs the SAME commands as one-shot mode (a fresh command tree per line, built by
// buildConsoleProgram); history in the user's config dir; tab completion of commands, flags, device ids
// (from the registry) and, for `call DEVICE <TAB>`, the methods that device's locator lists.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command, CommanderError } from 'commander';
import { devicesService } from '@sosna/protocol';
import { registerConsole } from './console.js';
import { registerJobs } from './jobs.js';
import { registerMoney } from './money.js';
import { registerUpdate } from './update.js';
import { registerAdmin } from './admin.js';
import { registerRemote } from './remote.js';
import { registerAlerts } from './alerts.js';
import { registerTrust } from './trust.js';
import { registerReceipts } from './receipts.js';
import { registerOffers } from './offers.js';
import { registerMining } from './mining.js';
import { sharedSession } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

/** The `console` command tree, as one-shot mode has it, for one line of the shell. */
export function buildConsoleProgram(session: ConsoleSession): Command {
  const program = new Command('sosna').exitOverride().enablePositionalOptions().showHelpAfterError();
  const consoleCmd = registerConsole(program, session);
  registerJobs(program, session);
  registerRemote(consoleCmd, session, { inRepl: true });
  registerMoney(program, consoleCmd, session);
  registerUpdate(consoleCmd, session);
  registerAdmin(consoleCmd, session);
  registerAlerts(consoleCmd, session);
  registerTrust(consoleCmd, session);
  registerReceipts(consoleCmd, session);
  registerOffers(consoleCmd, session);
  registerMining(consoleCmd, session);
  return consoleCmd;
}

const BUILTINS = ['help', 'exit', 'quit'];

/** Splits a line into words: whitespace separates, '...' and "..." group (no escapes beyond that). */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

export interface CompletionSources {
  devices(): Promise<string[]>;
  /** `service.method` names a device offers (from its locator). */
  methods(deviceId: string): Promise<string[]>;
}

const longFlags = (cmd: Command) => cmd.options.map((o) => o.long).filter((f): f is string => !!f);

/** Completions for a line as readline wants them: [candidates, the word being completed]. Pure but for the sources. */
export async function complete(line: string, tree: Command, sources: CompletionSources): Promise<[string[], string]> {
  const endsWithSpace = line.length === 0 || /\s$/.test(line);
  const words = splitWords(line);
  const current = endsWithSpace ? '' : words.pop()!;
  const pick = (all: string[]): [string[], string] => {
    const hits = all.filter((c) => c.startsWith(current)).sort();
    return [hits.length === 1 ? [`${hits[0]} `] : hits, current]; // one match: the word and a space, as shells do
  };

  let cmd = tree;
  const positionals: string[] = [];
  let pendingOption: string | null = null;
  for (const w of words) {
    if (pendingOption) {
      pendingOption = null;
      continue;
    }
    if (w.startsWith('-')) {
      const opt = cmd.options.find((o) => o.long === w || o.short === w);
      if (opt && (opt.required || opt.optional)) pendingOption = opt.long ?? null;
      continue;
    }
    const sub = positionals.length === 0 ? cmd.commands.find((c) => c.name() === w || c.aliases().includes(w)) : undefined;
    if (sub) cmd = sub;
    else positionals.push(w);
  }
  if (pendingOption === '--device') return pick(await sources.devices());
  if (pendingOption) return [[], current];
  if (current.startsWith('-')) return pick(longFlags(cmd));
  if (positionals.length === 0 && cmd.commands.length) return pick([...cmd.commands.map((c) => c.name()), ...(cmd === tree ? BUILTINS : [])]);
  const arg = cmd.registeredArguments[positionals.length] ?? cmd.registeredArguments.at(-1);
  if (!arg) return [[], current];
  if (arg.name() === 'device') return pick(await sources.devices());
  if (arg.name() === 'service.method' && positionals[0]) return pick(await sources.methods(positionals[0]));
  return [[], current];
}

export function historyFile(env = process.env): string {
  return env.SOSNA_CONSOLE_HISTORY ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'sosna', 'console_history');
}

function readHistory(file: string, max: number): string[] {
  if (!existsSync(file)) return [];
  // readline wants the newest first
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-max).reverse();
}

export async function runShell(o: { build: (s: ConsoleSession) => Command; flags?: ConnFlags }): Promise<void> {
  if (!process.stdin.isTTY) {
    process.stderr.write('sosna console: no command given and stdin is not a terminal (try sosna console --help)\n');
    process.exitCode = 2;
    return;
  }
  const session = sharedSession(o.flags ?? {});
  const profile = session.profile!();
  const tree = o.build(session);
  const client = await session.client();
  const cache = new Map<string, { at: number; value: string[] }>();
  const cached = async (key: string, load: () => Promise<string[]>) => {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < 10_000) return hit.value;
    const value = await load().catch(() => [] as string[]);
    cache.set(key, { at: Date.now(), value });
    return value;
  };
  const sources: CompletionSources = {
    devices: () => cached('devices', async () => (await client.call(devicesService, 'list', {}, { timeoutMs: 5000 })).devices.map((d) => d.id)),
    methods: (deviceId) =>
      cached(`methods:${deviceId}`, async () => {
        const chunks: unknown[] = [];
        await client.call(devicesService, 'call', { deviceId, service: 'locator', method: 'list', params: {}, timeoutMs: 4000 }, { timeoutMs: 6000, onChunk: (c) => chunks.push(c) });
        const list = chunks[0] as { services?: { name: string; methods: string[] }[] } | undefined;
        return (list?.services ?? []).flatMap((s) => s.methods.map((m) => `${s.name}.${m}`));
      }),
  };

  const file = historyFile();
  mkdirSync(dirname(file), { recursive: true });
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    history: readHistory(file, 1000),
    historySize: 1000,
    removeHistoryDuplicates: true,
    completer: (line: string, done: (err: Error | null, result: [string[], string]) => void) => {
      complete(line, tree, sources).then((r) => done(null, r), () => done(null, [[], line]));
    },
  });
  const prompt = `${profile.user}@${profile.hubId}> `;
  rl.setPrompt(prompt);
  process.stdout.write(`sosna console: ${profile.user} on hub ${profile.hubId} (${profile.url}). Tab completes; help lists commands; exit leaves.\n`);
  rl.prompt();
  for await (const line of rl) {
    const words = splitWords(line);
    if (words.length === 0) {
      rl.prompt();
      continue;
    }
    appendFileSync(file, `${line.trim()}\n`, { mode: 0o600 });
    if (words[0] === 'exit' || words[0] === 'quit') break;
    if (words[0] === 'help') {
      tree.outputHelp();
      rl.prompt();
      continue;
    }
    rl.pause();
    try {
      await o.build(session).parseAsync(words, { from: 'user' });
    } catch (err) {
      if (!(err instanceof CommanderError)) process.stdout.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    rl.resume();
    rl.prompt();
  }
  rl.close();
  await session.close();
}
