import { describe, expect, it } from 'vitest';
import { JobSpec } from '@sosna/protocol';
import { parseDuration, specFromFlags } from './commands/jobs.js';

describe('jobs submit flags', () => {
  it('parses durations', () => {
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('2h')).toBe(7200);
    expect(() => parseDuration('soon')).toThrow(/duration "soon"/);
  });

  it('builds a spec the schema accepts', () => {
    const spec = specFromFlags(
      { image: 'busybox', cpus: '0.5', memory: '64M', gpus: '2', gpuVramMin: '8G', replicas: '3', timeout: '2m', bid: '1000', env: ['A=1', 'B=x=y'] },
      ['sh', '-c', 'echo hi'],
    );
    const parsed = JobSpec.parse(spec);
    expect(parsed).toMatchObject({
      image: 'busybox', command: ['sh', '-c', 'echo hi'], env: { A: '1', B: 'x=y' }, timeoutSec: 120, bid: 1000n, replicas: 3, kind: 'batch', network: false,
      resources: { cpus: 0.5, memoryBytes: 64 * 2 ** 20, gpus: { count: 2, vramMin: 8 * 2 ** 30 } },
    });
    const svc = JobSpec.parse(specFromFlags({ image: 'nginx', service: true, port: ['80', '53/udp'] }, []));
    expect(svc).toMatchObject({ kind: 'service', network: true, ports: [{ port: 80, protocol: 'tcp' }, { port: 53, protocol: 'udp' }] });
  });

  it('names a bad flag', () => {
    expect(() => specFromFlags({}, [])).toThrow(/--image is required/);
    expect(() => specFromFlags({ image: 'x', env: ['NOVALUE'] }, [])).toThrow(/--env "NOVALUE"/);
    expect(() => specFromFlags({ image: 'x', port: ['http'] }, [])).toThrow(/--port "http"/);
    expect(() => specFromFlags({ image: 'x', cpus: 'many' }, [])).toThrow(/--cpus "many"/);
  });
});
