import { describe, expect, it } from 'vitest';
import { keyRows, parseMax, parseRole } from './commands/admin.js';
import { oneShotSession } from './commands/console-session.js';
import { buildConsoleProgram, complete } from './commands/shell.js';

const tree = buildConsoleProgram(oneShotSession());
const sources = { devices: async () => [], methods: async () => [] };

describe('console keys and operators commands', () => {
  it('are in the shell\'s command tree, so it completes them', async () => {
    expect(await complete('ke', tree, sources)).toEqual([['keys '], 'ke']);
    expect((await complete('keys ', tree, sources))[0]).toEqual(['create', 'ls', 'revoke']);
    expect(await complete('keys create --ex', tree, sources)).toEqual([['--expires '], '--ex']);
    expect(await complete('oper', tree, sources)).toEqual([['operators '], 'oper']);
    expect((await complete('operators ', tree, sources))[0]).toEqual(['add', 'ls', 'rm', 'role']);
    expect(await complete('operators add vic --ro', tree, sources)).toEqual([['--role '], '--ro']);
  });

  it('checks roles and --max before calling the hub, naming the flag and value', () => {
    expect(parseRole('--role', 'operator')).toBe('operator');
    expect(() => parseRole('--role', 'root')).toThrow('--role "root": use viewer, operator, admin or buyer');
    expect(parseMax(undefined)).toBeUndefined();
    expect(parseMax('3')).toBe(3);
    expect(() => parseMax('0')).toThrow('--max "0": must be a positive whole number');
    expect(() => parseMax('2.5')).toThrow(/--max "2.5"/);
  });

  it('shows keys as a table row without secrets', () => {
    const now = Date.UTC(2025, 0, 2);
    expect(keyRows([{ keyId: 'kabc', fleet: 'lab', max: null, uses: 2, expiresAt: null, revokedAt: null, createdAt: now - 3_600_000, status: 'active' }], now)).toEqual([
      ['kabc', 'lab', '2/∞', 'never', 'active', expect.stringMatching(/1h/)],
    ]);
  });
});
