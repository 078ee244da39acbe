import { describe, expect, it } from 'vitest';
import { buildConsoleProgram, complete, splitWords } from './commands/shell.js';
import { oneShotSession } from './commands/console-session.js';

const tree = buildConsoleProgram(oneShotSession());
const sources = {
  devices: async () => ['rig-01-aaaaaa', 'rig-02-bbbbbb', 'asic-01-cccccc'],
  methods: async (id: string) => (id === 'rig-01-aaaaaa' ? ['system.info', 'system.ping', 'jobs.run'] : []),
};

describe('shell completion (the same command tree as one-shot mode)', () => {
  it('completes commands, subcommands and flags', async () => {
    expect(await complete('dev', tree, sources)).toEqual([['devices '], 'dev']);
    expect((await complete('', tree, sources))[0]).toEqual(expect.arrayContaining(['devices', 'call', 'jobs', 'exit']));
    expect(await complete('devices se', tree, sources)).toEqual([['set '], 'se']);
    expect(await complete('devices set x=1 --fl', tree, sources)).toEqual([['--fleet '], '--fl']);
  });

  it('completes device ids from the registry and a device\'s methods from its locator', async () => {
    expect(await complete('devices show rig', tree, sources)).toEqual([['rig-01-aaaaaa', 'rig-02-bbbbbb'], 'rig']);
    expect(await complete('devices set a=1 --device as', tree, sources)).toEqual([['asic-01-cccccc '], 'as']);
    expect(await complete('call rig-01-aaaaaa sys', tree, sources)).toEqual([['system.info', 'system.ping'], 'sys']);
    expect(await complete('call rig-01-aaaaaa system.i', tree, sources)).toEqual([['system.info '], 'system.i']);
  });

  it('completes the device actions and the update commands', async () => {
    expect(await complete('devices reb', tree, sources)).toEqual([['reboot '], 'reb']);
    expect(await complete('devices identify as', tree, sources)).toEqual([['asic-01-cccccc '], 'as']);
    expect(await complete('devices watch --device rig-02', tree, sources)).toEqual([['rig-02-bbbbbb '], 'rig-02']);
    expect(await complete('upd', tree, sources)).toEqual([['update '], 'upd']);
    expect(await complete('update st', tree, sources)).toEqual([['status '], 'st']);
  });

  it('splits words with quotes', () => {
    expect(splitWords(`call d system.ping '{"echo": "a b"}'`)).toEqual(['call', 'd', 'system.ping', '{"echo": "a b"}']);
  });
});
