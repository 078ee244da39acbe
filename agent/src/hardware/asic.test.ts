import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { detectAsics, parseHostPort } from './asic-detector.js';
import { buildAsic, hashrateFrom, type CgminerReplies } from './asic-mapper.js';
import { parseCgminerReply } from './cgminer-parser.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const fixture = (p: string): string => readFileSync(new URL(p, FIXTURES), 'utf8');

/** Every command reply of one fixture miner, by command name. */
function minerReplies(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(new URL(`cgminer/${dir}/`, FIXTURES))) out[f.replace(/\.json$/u, '')] = fixture(`cgminer/${dir}/${f}`);
  return out;
}

function parsedReplies(dir: string): CgminerReplies {
  const out: CgminerReplies = {};
  for (const [cmd, text] of Object.entries(minerReplies(dir))) (out as Record<string, unknown>)[cmd] = parseCgminerReply(`${text}\0`);
  return out;
}

describe('cgminer replies to inventory', () => {
  it('reads an Antminer S19j Pro, repairing the glued STATS objects', () => {
    const replies = parsedReplies('antminer-s19j-pro');
    expect(replies.stats?.repaired).toBe(true);
    const { asic, problems } = buildAsic('10.0.0.5', 4028, replies);
    expect(problems).toEqual(['stats: reply was not valid JSON (repaired)']);
    expect(asic).toMatchObject({
      host: '10.0.0.5',
      port: 4028,
      maker: 'Bitmain',
      model: 'Antminer S19j Pro',
      software: 'bmminer 1.0.0',
      firmware: 'Mon Jan 18 16:26:57 CST 2021',
      hashrate5s: Math.round(104235.12e9),
      hashrateAvg: Math.round(103988.45e9),
      fansRpm: [5640, 5520, 5600, 5580],
      hwErrors: 22,
      uptimeS: 86412,
      poolUrl: 'stratum+tcp://btc.pool.example:3333',
      state: 'ok',
    });
    expect(asic.chains).toEqual([
      { index: 1, chipTempC: 73, boardTempC: 58, hashrateHs: Math.round(34780.11e9), chips: 126, hwErrors: 12 },
      { index: 2, chipTempC: 75, boardTempC: 60, hashrateHs: Math.round(34690.45e9), chips: 126, hwErrors: 7 },
      { index: 3, chipTempC: 74, boardTempC: 59, hashrateHs: Math.round(34764.56e9), chips: 126, hwErrors: 3 },
    ]);
  });

  it('reads a WhatsMiner M30S++, repairing the missing comma and ignoring unsupported commands', () => {
    const replies = parsedReplies('whatsminer-m30s-plus-plus');
    expect(replies.version).toMatchObject({ ok: false, status: 'E', message: 'invalid cmd' });
    const { asic, problems } = buildAsic('10.0.0.6', 4028, replies);
    expect(problems).toEqual(['devs: reply was not valid JSON (repaired)']);
    expect(asic).toMatchObject({
      maker: 'MicroBT',
      model: 'WhatsMiner M30S++',
      firmware: '20210322.22.REL',
      hashrate5s: Math.round(112345678.91e6),
      hashrateAvg: Math.round(111873465.22e6),
      fansRpm: [4980, 5010],
      hwErrors: 3,
      powerW: 3405,
      poolUrl: 'stratum+tcp://btc.pool.example:3333',
      state: 'ok',
    });
    expect(asic.chains.map((c) => [c.index, c.chipTempC, c.boardTempC, c.chips])).toEqual([
      [0, 87, 70.5, 148],
      [1, 88.5, 71, 148],
      [2, 86, 69.5, 148],
    ]);
  });

  it('normalises every hash-rate unit to H/s', () => {
    expect(hashrateFrom({ 'THS 5s': 0.1 }, '5s')).toBe(1e11);
    expect(hashrateFrom({ 'GHS av': '2.5' }, 'av')).toBe(2.5e9);
    expect(hashrateFrom({ 'MHS 5s': 3 }, '5s')).toBe(3e6);
    expect(hashrateFrom({ 'KHS av': 4 }, 'av')).toBe(4000);
    expect(hashrateFrom({ 'MHS av': 'nan' }, 'av')).toBeUndefined();
  });

  it('marks a miner in error when summary fails, and reads HTTP or truncated replies as errors', () => {
    const { asic } = buildAsic('10.0.0.7', 4028, { summary: parseCgminerReply('{"STATUS":"E","Msg":"API command ERROR"}') });
    expect(asic).toMatchObject({ state: 'error', reason: 'status E: API command ERROR', model: 'unknown' });
    expect(parseCgminerReply(fixture('garbage/cgminer-http.txt'))).toMatchObject({ ok: false, error: expect.stringContaining('not JSON') });
    expect(parseCgminerReply(fixture('garbage/cgminer-truncated.txt')).ok).toBe(false);
  });

  it('parses host specs', () => {
    expect(parseHostPort('10.0.0.5')).toEqual({ host: '10.0.0.5', port: 4028 });
    expect(parseHostPort('miner-7.lan:4029')).toEqual({ host: 'miner-7.lan', port: 4029 });
    expect(parseHostPort('[fe80::1]:4028')).toEqual({ host: 'fe80::1', port: 4028 });
    expect(parseHostPort('10.0.0.5:99999')).toBeUndefined();
    expect(parseHostPort('rm -rf /')).toBeUndefined();
  });
});

// A fake miner API: real TCP on 127.0.0.1, one JSON request per connection, reply ended by a NUL byte.
type Behaviour = 'answer' | 'hang' | 'garbage';
const servers: Server[] = [];
const sockets = new Set<Socket>();

async function fakeMiner(behaviour: Behaviour, replies: Record<string, string> = {}): Promise<number> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let command: string;
      try {
        command = String((JSON.parse(buf) as { command?: unknown }).command);
      } catch {
        return; // wait for the rest of the request
      }
      if (behaviour === 'hang') return; // accept and never answer
      if (behaviour === 'garbage') {
        socket.end(Buffer.from([0x48, 0x54, 0x54, 0x50, 0xff, 0xfe, 0x7b, 0x7b, 0x22, 0x00]));
        return;
      }
      const reply =
        replies[command] ?? `{"STATUS":[{"STATUS":"E","When":1700000000,"Code":14,"Msg":"Invalid command","Description":"cgminer 4.11.1"}],"id":1}`;
      socket.end(`${reply}\0`);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

afterEach(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('detectAsics against fake miners', () => {
  it('detects an Antminer and a WhatsMiner over real TCP, with NUL-terminated replies', async () => {
    const antPort = await fakeMiner('answer', minerReplies('antminer-s19j-pro'));
    const wmPort = await fakeMiner('answer', minerReplies('whatsminer-m30s-plus-plus'));
    const { asics, warnings } = await detectAsics({ hosts: [`127.0.0.1:${antPort}`, `127.0.0.1:${wmPort}`], probeLocalhost: false, perHostTimeoutMs: 2000 });
    expect(asics.map((a) => [a.port, a.maker, a.model, a.state])).toEqual([
      [antPort, 'Bitmain', 'Antminer S19j Pro', 'ok'],
      [wmPort, 'MicroBT', 'WhatsMiner M30S++', 'ok'],
    ]);
    expect(asics[0]!.chains).toHaveLength(3);
    expect(asics[1]!.hashrate5s).toBeCloseTo(Math.round(112345678.91e6), -3);
    // the repaired replies are mentioned, nothing else
    expect(warnings.every((w) => /repaired/u.test(w.message))).toBe(true);
  });

  it('does not wait for a miner that hangs beyond its time-out, and lists it in error', async () => {
    const hangPort = await fakeMiner('hang');
    const goodPort = await fakeMiner('answer', minerReplies('antminer-s19j-pro'));
    const timeout = 500;
    const { asics, warnings } = await detectAsics({ hosts: [`127.0.0.1:${hangPort}`, `127.0.0.1:${goodPort}`], probeLocalhost: false, perHostTimeoutMs: timeout });
    const hung = asics.find((a) => a.port === hangPort);
    expect(hung).toMatchObject({ state: 'error', model: 'unknown' });
    expect(hung?.reason).toMatch(/no reply within 500 ms/u);
    expect(asics.find((a) => a.port === goodPort)?.state).toBe('ok');
    expect(warnings.some((w) => w.source === `cgminer:127.0.0.1:${hangPort}`)).toBe(true);
  });

  it('reports a port that answers garbage with a warning, within its time-out', async () => {
    const port = await fakeMiner('garbage');
    const { asics, warnings } = await detectAsics({ hosts: [`127.0.0.1:${port}`], probeLocalhost: false, perHostTimeoutMs: 800 });
    expect(asics).toHaveLength(1);
    expect(asics[0]!.state).toBe('error');
    expect(warnings[0]!.message).toMatch(/unreadable reply/u);
  });

  it('finds nothing, quietly, when nothing listens on localhost', async () => {
    const closed = await fakeMiner('answer');
    await new Promise((resolve) => servers.pop()!.close(resolve)); // the port is now refused
    const r = await detectAsics({ hosts: [], probeLocalhost: false, perHostTimeoutMs: 500, query: undefined });
    expect(r).toEqual({ asics: [], warnings: [] });
    const refused = await detectAsics({ hosts: [`127.0.0.1:${closed}`], probeLocalhost: false, perHostTimeoutMs: 500 });
    expect(refused.asics[0]).toMatchObject({ state: 'error' });
    expect(refused.asics[0]!.reason).toMatch(/ECONNREFUSED/u);
  });
});
