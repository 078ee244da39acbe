#!/usr/bin/env node
// sosna: the operator's command line (hub, console, up, provisioning, images, money).
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import type { ConsoleSession } from './commands/console-session.js';

/** A connection per command; its module (the MQTT client, the schemas) loads when a console command runs. */
const session: ConsoleSession = {
  withConsole: async (flags, fn, opts) => (await import('./commands/console-session.js')).oneShotSession().withConsole(flags, fn, opts),
};

buildProgram(session, process.argv.slice(2))
  .then((program) => program.parseAsync(process.argv))
  .catch((err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    process.stderr.write(`sosna: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
