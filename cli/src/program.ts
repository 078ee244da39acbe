// The `sosna` command tree. Each top-level command's module (and what it imports: a hub, sqlite, the chain,
// images) is loaded only when that command runs; `sosna --help`, `--version` and a mistyped command get
// light stand-ins that carry the names and descriptions, so they start about as fast as node itself
// (npm run bench, cli). COMMANDS says what each top-level command loads.
import { Command } from 'commander';
import { VERSION } from '@sosna/hub/version';
import { connOptions } from './commands/conn-flags.js';
import type { ConnFlags } from './commands/conn-flags.js';
import type { ConsoleSession } from './commands/console-session.js';

interface TopCommand {
  /** As `sosna --help` lists it: the name and its arguments. */
  usage: string;
  description: string;
  register(program: Command, session: ConsoleSession): Promise<void>;
}

async function registerConsoleTree(program: Command, session: ConsoleSession): Promise<Command> {
  const [{ registerConsole }, { registerJobs }, { registerUpdate }, { registerAdmin }] = await Promise.all([
    import('./commands/console.js'), import('./commands/jobs.js'), import('./commands/update.js'), import('./commands/admin.js'),
  ]);
  // the shell's connection flags go before any subcommand: `console jobs submit --timeout 10m` is the job's
  // limit; given there before a subcommand, they apply to it (inheritConnFlags)
  const consoleCmd = connOptions(registerConsole(program, session)).enablePositionalOptions().action(async (flags: ConnFlags) => {
    const { buildConsoleProgram, runShell } = await import('./commands/shell.js');
    await runShell({ build: buildConsoleProgram, flags });
  });
  registerJobs(program, session);
  const repl = async (flags: ConnFlags) => {
    const { buildConsoleProgram, runShell } = await import('./commands/shell.js');
    await runShell({ build: buildConsoleProgram, flags });
  };
  (await import('./commands/remote.js')).registerRemote(consoleCmd, session, { repl }); // shell DEVICE, logs, sessions, jobs exec
  registerUpdate(consoleCmd, session);
  registerAdmin(consoleCmd, session);
  (await import('./commands/alerts.js')).registerAlerts(consoleCmd, session);
  (await import('./commands/trust.js')).registerTrust(consoleCmd, session);
  (await import('./commands/receipts.js')).registerReceipts(consoleCmd, session); // jobs receipts, devices key
  (await import('./commands/offers.js')).registerOffers(consoleCmd, session);
  (await import('./commands/mining.js')).registerMining(consoleCmd, session);
  return consoleCmd;
}

export const COMMANDS: TopCommand[] = [
  { usage: 'hub', description: 'run a hub: embedded MQTT broker, fleet registry, console service', register: async (p) => (await import('./commands/hub.js')).registerHub(p) },
  {
    usage: 'console',
    description: 'operate the fleet through a hub (no command: the interactive shell)',
    register: async (p, s) => {
      // money adds `console payouts|chain` and the top-level `wallet`
      const consoleCmd = await registerConsoleTree(p, s);
      (await import('./commands/money.js')).registerMoney(p, consoleCmd, s);
    },
  },
  { usage: 'up', description: 'run a hub and an agent for this machine (the quick start)', register: async (p) => (await import('./commands/up.js')).registerUp(p) },
  { usage: 'provision', description: 'device identities in bulk', register: async (p) => (await import('./commands/provision.js')).registerProvision(p) },
  { usage: 'image', description: 'build and configure the flashable sosna image', register: async (p) => (await import('./commands/image.js')).registerImage(p) },
  {
    usage: 'flash <image>',
    description: 'write an image (.img, .img.zst, .img.xz) to a disk or file, then read it back and verify the sha256',
    register: async (p) => (await import('./commands/flash.js')).registerFlash(p),
  },
  { usage: 'verify <receipt>', description: "check a run receipt file offline: the device signature, the hub's binding of the device key, and what you pin", register: async (p) => (await import('./commands/receipts.js')).registerVerify(p) },
  {
    usage: 'wallet',
    description: 'what hubs approved for an owner address, and claiming it',
    // its `console` part goes to a command outside the tree
    register: async (p, s) => (await import('./commands/money.js')).registerMoney(p, new Command('console'), s),
  },
];

/** The top-level command that argv (without node and the script) names, if any: `sosna help X` names X. */
export function commandNamed(args: readonly string[]): TopCommand | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return COMMANDS.find((c) => c.usage.split(' ')[0] === name);
}

/** The program for `args`: the named command for real, or (no command, help, a typo) all of them as stand-ins; `args` omitted: all for real. */
export async function buildProgram(session: ConsoleSession, args?: readonly string[]): Promise<Command> {
  const program = new Command('sosna')
    .version(VERSION)
    .description('sosna: idle rigs and smart devices as one fog computer')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  const named = args ? commandNamed(args) : undefined;
  if (named) await named.register(program, session);
  else if (args) for (const c of COMMANDS) program.command(c.usage).description(c.description);
  else for (const c of COMMANDS) if (!program.commands.some((x) => x.name() === c.usage.split(' ')[0])) await c.register(program, session);
  return program;
}
