import { describe, expect, it } from 'vitest';
import { JobSpec } from '@sosna/protocol';
import { bidWarning, parseDuration, specFromFlags, withFlagNames } from './commands/jobs.js';
import { tokens } from './commands/money.js';

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
    // a read-only root unless asked; the field is left out unless asked (older devices refuse unknown fields)
    expect(parsed).not.toHaveProperty('writableRoot');
    expect(JobSpec.parse(specFromFlags({ image: 'x', writableRoot: true }, [])).writableRoot).toBe(true);
  });

  it('names a bad flag', () => {
    expect(() => specFromFlags({}, [])).toThrow(/--image is required/);
    expect(() => specFromFlags({ image: 'x', env: ['NOVALUE'] }, [])).toThrow(/--env "NOVALUE"/);
    expect(() => specFromFlags({ image: 'x', port: ['http'] }, [])).toThrow(/--port "http"/);
    expect(() => specFromFlags({ image: 'x', cpus: 'many' }, [])).toThrow(/--cpus "many"/);
  });

  it('names the flag, the value and the form for a bad size, not the spec field', () => {
    expect(() => specFromFlags({ image: 'x', memory: '256X' }, [])).toThrow('--memory "256X": use a size like 256M or 2G');
    expect(() => specFromFlags({ image: 'x', disk: 'lots' }, [])).toThrow('--disk "lots": use a size like 256M or 2G');
    expect(() => specFromFlags({ image: 'x', gpuVramMin: '8X' }, [])).toThrow('--gpu-vram-min "8X"');
  });

  it('maps schema errors (here or from the hub) back to the flags', () => {
    const o = { image: 'x', memory: '1K', cpus: '0' };
    const spec = specFromFlags(o, []);
    let message = '';
    try {
      JobSpec.parse(spec);
    } catch {
      message = 'invalid job spec: resources.cpus: must be more than 0; resources.memoryBytes: must be at least 6 MiB';
    }
    expect(withFlagNames(message, o)).toBe('invalid job spec: --cpus "0": must be more than 0; --memory "1K": must be at least 6 MiB');
    // the hub's answer names spec.* fields
    expect(withFlagNames('E_INVALID: spec.timeoutSec: too long', { image: 'x', timeout: '400d' })).toBe('E_INVALID: --timeout "400d": too long');
    expect(withFlagNames('params.spec.resources.memoryBytes: too big', { image: 'x', memory: '9T' })).toBe('--memory "9T": too big');
    // a --spec file keeps the field names: they are what the user wrote
    expect(withFlagNames('resources.cpus: must be more than 0', { spec: 'job.json' })).toBe('resources.cpus: must be more than 0');
  });

  it('takes --bid in wei/s or SNM per s, min or h, exactly, and refuses the rest with the forms', () => {
    expect(JobSpec.parse(specFromFlags({ image: 'x', bid: '0.36SNM/h' }, [])).bid).toBe(100_000_000_000_000n);
    expect(JobSpec.parse(specFromFlags({ image: 'x', bid: '1000' }, [])).bid).toBe(1000n);
    expect(() => specFromFlags({ image: 'x', bid: '0.5SNM/h' }, [])).toThrow(/^--bid "0\.5SNM\/h": .*not a whole number of wei per second/);
    expect(() => specFromFlags({ image: 'x', bid: 'cheap' }, [])).toThrow(/--bid "cheap": use 1000 \(token wei per second\), 1000wei\/s, 0\.36SNM\/h/);
  });

  it('warns that a job without --bid pays nothing; --bid 0 is free on purpose', () => {
    expect(bidWarning({ image: 'x' })).toMatch(/no --bid: this job pays devices nothing.*--bid 0/);
    expect(bidWarning({ image: 'x', bid: '0' })).toBeNull();
    expect(bidWarning({ image: 'x', bid: '1000' })).toBeNull();
  });

  it('shows amounts exactly: 4,000 wei is not 0 SNM', () => {
    expect(tokens(4000n)).toBe('0.000000000000004');
    expect(tokens('1500000000000000000')).toBe('1.5');
  });
});
