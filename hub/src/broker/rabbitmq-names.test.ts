import { describe, expect, it } from 'vitest';
import { clientIdOfQueue, mqttTopicsOf } from './rabbitmq-names.js';

describe("RabbitMQ's MQTT names", () => {
  it('a routing key stands for every topic whose / and . give it; * was +', () => {
    expect(mqttTopicsOf('a.b')).toEqual(['a/b', 'a.b']);
    expect(mqttTopicsOf('sosna.hubs.*.announce')).toContain('sosna/hubs/+/announce');
    expect(mqttTopicsOf('x')).toEqual(['x']);
    expect(mqttTopicsOf('a.b.c')).toHaveLength(4);
    expect(mqttTopicsOf('.'.repeat(15))).toBeNull();
  });

  it("a queue's client id", () => {
    expect(clientIdOfQueue('mqtt-subscription-rig-01qos1')).toBe('rig-01');
    expect(clientIdOfQueue('mqtt-subscription-prov-abcqos0')).toBe('prov-abc');
    expect(clientIdOfQueue('mqtt-will-op-alice-x')).toBe('op-alice-x');
    expect(clientIdOfQueue('orders')).toBeNull();
  });
});
