#!/usr/bin/env node
// sosna: the operator's command line (hub, console, up; provisioning and images come with their issues).
import { Command, CommanderError } from 'commander';
import { VERSION } from '@sosna/hub';
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
import { connOptions, oneShotSession } from './commands/console-session.js';
import type { ConnFlags } from './commands/console-session.js';
import { buildConsoleProgram, runShell } from './commands/shell.js';

const program = new Command('sosna')
  .version(VERSION)
  .description('sosna: idle rigs and smart devices as one fog computer')
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();
registerHub(program);
const session = oneShotSession();
// the shell's connection flags go before any subcommand: `console jobs submit --timeout 10m` is the job's limit
connOptions(registerConsole(program, session)).enablePositionalOptions().action((flags: ConnFlags) => runShell({ build: buildConsoleProgram, flags }));
registerJobs(program, session);
registerUp(program);
registerProvision(program);
registerImage(program);
registerFlash(program);
registerMoney(program, program.commands.find((c) => c.name() === 'console')!, session);
registerUpdate(program.commands.find((c) => c.name() === 'console')!, session);
registerAdmin(program.commands.find((c) => c.name() === 'console')!, session);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  process.stderr.write(`sosna: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
