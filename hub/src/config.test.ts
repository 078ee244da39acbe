import { describe, expect, it } from 'vitest';
import { parseOrThrow } from '@sosna/protocol';
import { HubConfig } from './config.js';

describe('hub config: connection limits', () => {
  it('defaults: a packet cap derived from maxPayloadBytes, a small pre-authentication cap, a connect time-out', () => {
    const { mqtt } = HubConfig.parse({});
    expect(mqtt).toMatchObject({ maxPayloadBytes: 1048576, maxPacketBytes: 1048576 + 65536 + 16, preAuthMaxPacketBytes: 8192, connectTimeoutMs: 15_000, maxPendingPerAddress: 32, maxPending: 256 });
    expect(HubConfig.parse({ mqtt: { maxPayloadBytes: 4096 } }).mqtt.maxPacketBytes).toBe(4096 + 65536 + 16);
    expect(HubConfig.parse({ mqtt: { maxPacketBytes: 2_000_000 } }).mqtt.maxPacketBytes).toBe(2_000_000);
  });

  it('bad values are refused naming the field and the accepted form', () => {
    const parse = (mqtt: Record<string, unknown>) => () => parseOrThrow(HubConfig, { mqtt }, 'hub config');
    expect(parse({ maxPacketBytes: 2048 })).toThrow('hub config: mqtt.maxPacketBytes: must be at least mqtt.maxPayloadBytes');
    expect(parse({ connectTimeoutMs: 5 })).toThrow('hub config: mqtt.connectTimeoutMs: must be at least 100 (ms)');
    expect(parse({ preAuthMaxPacketBytes: 10 })).toThrow('mqtt.preAuthMaxPacketBytes: must be at least 128 (bytes)');
    expect(parse({ maxPendingPerAddress: 0 })).toThrow('mqtt.maxPendingPerAddress: must be at least 1');
    expect(parse({ maxPending: 1.5 })).toThrow('mqtt.maxPending');
    expect(parse({ maxPacketBytes: 2 ** 30 })).toThrow("mqtt.maxPacketBytes: must be at most 268435460 (bytes, MQTT's limit)");
  });
});
