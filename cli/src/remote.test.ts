import { describe, expect, it } from 'vitest';
import { buildConsoleProgram, complete } from './commands/shell.js';
import { oneShotSession } from './commands/console-session.js';
import { InputQueue } from './commands/remote.js';

describe('remote shell input queue', () => {
  it('sends one call at a time, in order, with keys typed meanwhile together in the next', async () => {
    const sent: string[] = [];
    const gates: (() => void)[] = [];
    const q = new InputQueue((d) => (sent.push(d), new Promise<void>((r) => gates.push(r))), () => {});
    q.push('l');
    q.push('s');
    q.push(' -la\r');
    expect(sent).toEqual(['l']);
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual(['l', 's -la\r']);
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toHaveLength(2);
  });

  it('splits a long paste into calls of at most 4,096 characters, never inside a surrogate pair', async () => {
    const sent: string[] = [];
    const q = new InputQueue(async (d) => void sent.push(d), () => {});
    const paste = `${'a'.repeat(4095)}😀${'b'.repeat(5000)}`;
    q.push(paste);
    await new Promise((r) => setTimeout(r, 10));
    expect(sent.join('')).toBe(paste);
    expect(sent.every((s) => s.length <= 4096)).toBe(true);
    expect(sent[0]).toBe('a'.repeat(4095));
  });

  it('reports a failed call and goes on with the next keys', async () => {
    const errors: string[] = [];
    const sent: string[] = [];
    const q = new InputQueue(async (d) => {
      sent.push(d);
      if (d === 'x') throw new Error('session ended');
    }, (e) => errors.push(e.message));
    q.push('x');
    await new Promise((r) => setTimeout(r, 0));
    q.push('y');
    await new Promise((r) => setTimeout(r, 0));
    expect(errors).toEqual(['session ended']);
    expect(sent).toEqual(['x', 'y']);
  });
});

describe('remote commands in the interactive console', () => {
  it('completes a device for shell and logs, and refuses a remote shell inside the console', async () => {
    const tree = buildConsoleProgram(oneShotSession());
    const sources = { devices: async () => ['rig-01-aaaaaa'], methods: async () => [] };
    expect(await complete('shell ri', tree, sources)).toEqual([['rig-01-aaaaaa '], 'ri']);
    expect(await complete('logs ri', tree, sources)).toEqual([['rig-01-aaaaaa '], 'ri']);
    await expect(buildConsoleProgram(oneShotSession()).parseAsync(['shell', 'rig-01-aaaaaa'], { from: 'user' })).rejects.toThrow('run the remote shell from your terminal: sosna console shell rig-01-aaaaaa');
  });
});
