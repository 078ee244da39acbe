// test/procs.ts: ports for processes that bind them later (and again after a restart).
import { describe, expect, it } from 'vitest';
import { freePort } from './procs.js';

describe('freePort', () => {
  it('hands out ports outside the ephemeral range (no listen(0) elsewhere takes them), never the same twice', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 50; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(50);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(1024);
      expect(p).toBeLessThan(32_768); // Linux's default ip_local_port_range starts at 32768
    }
  });
});
