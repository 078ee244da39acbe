// The `sosna` command tree. Registering a command loads only what its flags and help need; what a command
// does (a hub, the chain, sqlite, images) is imported when it runs, so `sosna --help` or one console call
// starts about as fast as node itself (npm run bench, cli).
import { Command } from 'commander';
import { VERSION } from '@sosna/hub/version';
import { registerConsole } from './commands/console.js';
import { registerJobs } from './commands/jobs.js';
import { registerHub } from './commands/hub.js';
import { registerUp } from './commands/up.js';
import { registerProvision } from './commands/provision.js';
import { registerImage } from './commands/image.js';
import { registerFlash } from './commands/flash.js';
import { registerMoney } from './commands/money.js';
import { registerUpdate } from './commands/update.js';
import { registerAdmin } from './commands/admin.js';
import { connOptions } from './commands/console-session.js';
import type { ConnFlags, ConsoleSession } from './commands/console-session.js';

export function buildProgram(session: ConsoleSession): Command {
  const program = new Command('sosna')
    .version(VERSION)
    .description('sosna: idle rigs and smart devices as one fog computer')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  registerHub(program);
  // the shell's connection flags go before any subcommand: `console jobs submit --timeout 10m` is the job's
  // limit; given there before a subcommand, they apply to it (inheritConnFlags)
  const consoleCmd = connOptions(registerConsole(program, session)).enablePositionalOptions().action(async (flags: ConnFlags) => {
    const { buildConsoleProgram, runShell } = await import('./commands/shell.js');
    await runShell({ build: buildConsoleProgram, flags });
  });
  registerJobs(program, session);
  registerUp(program);
  registerProvision(program);
  registerImage(program);
  registerFlash(program);
  registerMoney(program, consoleCmd, session);
  registerUpdate(consoleCmd, session);
  registerAdmin(consoleCmd, session);
  return program;
}
