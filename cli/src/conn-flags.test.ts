// Connection flags mean the same wherever they stand: before the subcommand (parsed by `console` or
// `devices`) or after it. Before, they were silently dropped and the command ran as the default profile.
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';
import { buildConsoleProgram } from './commands/shell.js';
import { sharedSession } from './commands/console-session.js';
import type { ConnFlags, ConsoleSession } from './commands/console-session.js';

class Stop extends Error {}

/** Runs argv against the real command tree with a session that records the flags it is asked to connect with. */
async function flagsFor(argv: string[]): Promise<ConnFlags> {
  let seen: ConnFlags | null = null;
  const session: ConsoleSession = {
    async withConsole(flags) {
      seen = { ...flags };
      throw new Stop();
    },
  };
  const program = await buildProgram(session);
  await expect(program.parseAsync(argv, { from: 'user' })).rejects.toBeInstanceOf(Stop);
  return seen!;
}

describe('connection flags before or after the subcommand', () => {
  it('a profile before the subcommand is the one used', async () => {
    expect(await flagsFor(['console', '--profile', 'viewer.json', 'devices', 'reboot', '--device', 'd1'])).toMatchObject({ profile: 'viewer.json' });
    expect(await flagsFor(['console', 'devices', 'reboot', '--device', 'd1', '--profile', 'viewer.json'])).toMatchObject({ profile: 'viewer.json' });
    expect(await flagsFor(['console', 'devices', '--profile', 'viewer.json', 'reboot', '--device', 'd1'])).toMatchObject({ profile: 'viewer.json' });
    expect(await flagsFor(['console', '--user', 'bob', '--password', 'pw', '--url', 'mqtt://h:1', '--hub-id', 'hub1', 'devices'])).toMatchObject({
      user: 'bob', password: 'pw', url: 'mqtt://h:1', hubId: 'hub1',
    });
    expect(await flagsFor(['console', '--profile', 'viewer.json', 'jobs', 'ls'])).toMatchObject({ profile: 'viewer.json' });
  });

  it('the call time-out before jobs submit is its --call-timeout, not the job limit', async () => {
    const f = await flagsFor(['console', '--timeout', '5000', 'jobs', 'ls']);
    expect(f).toMatchObject({ callTimeout: '5000' });
  });

  it('the same flag twice with different values is refused, naming both', async () => {
    const program = await buildProgram({ withConsole: async () => { throw new Stop(); } });
    await expect(program.parseAsync(['console', '--profile', 'a.json', 'devices', '--profile', 'b.json'], { from: 'user' })).rejects.toThrow(
      '--profile given twice with different values: "a.json" before "devices" and "b.json" after it; give it once',
    );
  });

  it('the shell refuses connection flags on a line instead of ignoring them', async () => {
    const session = sharedSession({ url: 'mqtt://127.0.0.1:1', hubId: 'hub1', user: 'admin', password: 'pw' });
    await expect(buildConsoleProgram(session).parseAsync(['devices', '--profile', 'viewer.json'], { from: 'user' })).rejects.toThrow(
      /--profile: this shell is connected as admin at mqtt:\/\/127.0.0.1:1; connection flags go on the shell itself/,
    );
  });
});

describe('the light stand-ins for --help', () => {
  it('name and describe each top-level command as its module does', async () => {
    const { COMMANDS } = await import('./program.js');
    const full = await buildProgram({ withConsole: async () => { throw new Stop(); } });
    const real = full.commands.map((c) => [[c.name(), ...c.registeredArguments.map((a) => `<${a.name()}>`)].join(' '), c.description()]);
    expect(COMMANDS.map((c) => [c.usage, c.description]).sort()).toEqual(real.sort());
  });

  it('load only the command named', async () => {
    const session: ConsoleSession = { withConsole: async () => { throw new Stop(); } };
    expect((await buildProgram(session, ['--help'])).commands.map((c) => c.commands.length)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]); // one per top-level command
    const consoleOnly = await buildProgram(session, ['console', '--profile', 'x', 'devices']);
    expect(consoleOnly.commands.map((c) => c.name())).toEqual(['console', 'wallet']);
    expect((await buildProgram(session, ['help', 'hub'])).commands.map((c) => c.name())).toEqual(['hub']);
  });
});
