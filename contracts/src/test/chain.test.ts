import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anvilBinary,
  connectRpc,
  increaseTime,
  latestTimestamp,
  mine,
  revertTo,
  snapshot,
  startAnvil,
  type Anvil,
} from '../chain.js';

describe('anvil', () => {
  let anvil: Anvil;
  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 31_337 });
  });
  afterAll(async () => {
    await anvil.stop();
  });

  it('resolves the binary from @foundry-rs/anvil', () => {
    expect(existsSync(anvilBinary())).toBe(true);
  });

  it('listens on 127.0.0.1 and answers through the provider', async () => {
    expect(anvil.url).toBe(`http://127.0.0.1:${anvil.port}`);
    expect((await anvil.provider.getNetwork()).chainId).toBe(31_337n);
    expect(await anvil.provider.getBlockNumber()).toBeGreaterThanOrEqual(0);
    const other = await connectRpc(anvil.url);
    expect((await other.getNetwork()).chainId).toBe(31_337n);
    other.destroy();
  });

  it('moves time forward and mines blocks', async () => {
    const t0 = await latestTimestamp(anvil.provider);
    await increaseTime(anvil.provider, 86_400n);
    expect((await latestTimestamp(anvil.provider)) - t0).toBeGreaterThanOrEqual(86_400n);
    const b0 = await anvil.provider.getBlockNumber();
    await mine(anvil.provider, 5);
    expect(await anvil.provider.getBlockNumber()).toBe(b0 + 5);
  });

  it('reverts to a snapshot', async () => {
    const signer = await anvil.provider.getSigner(0);
    const target = (await anvil.provider.getSigner(1)).address;
    const before = await anvil.provider.getBalance(target);
    const id = await snapshot(anvil.provider);
    await (await signer.sendTransaction({ to: target, value: 1n })).wait();
    expect(await anvil.provider.getBalance(target)).toBe(before + 1n);
    await revertTo(anvil.provider, id);
    expect(await anvil.provider.getBalance(target)).toBe(before);
  });

  it('refuses a port that is taken, with the node output in the error', async () => {
    await expect(startAnvil({ port: anvil.port, timeoutMs: 10_000 })).rejects.toThrow(/anvil/);
  });

  it('reports a binary that cannot start', async () => {
    await expect(startAnvil({ binary: '/nonexistent/anvil', timeoutMs: 5_000 })).rejects.toThrow(/anvil failed to start.*ENOENT/);
  });

  it('stop() ends the process and can be called twice', async () => {
    const other = await startAnvil();
    await other.stop();
    await other.stop();
    await expect(fetch(other.url, { method: 'POST', body: '{}' })).rejects.toThrow();
  });
});
