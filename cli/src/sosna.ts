#!/usr/bin/env node
// sosna: the operator's command line (hub, console, up, provisioning, images, money).
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { oneShotSession } from './commands/console-session.js';

buildProgram(oneShotSession(), process.argv.slice(2))
  .then((program) => program.parseAsync(process.argv))
  .catch((err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    process.stderr.write(`sosna: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
