// Load parity for the reference: holds `count` idle MQTT connections (each with one subscription) on the
// bare broker, as the simulated fleet does on the hub. argv: url count prefix.
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

const [url, countText, prefix] = process.argv.slice(2) as [string, string, string];
const count = Number(countText);
const clients: MqttClient[] = [];
let connected = 0;
for (let i = 0; i < count; i++) {
  const c = mqtt.connect(url, { clientId: `${prefix}-${i}`, protocolVersion: 4, keepalive: 120, reconnectPeriod: 0 });
  c.on('connect', () => c.subscribe(`bare/idle/${prefix}/${i}`, { qos: 1 }, () => {
    if (++connected === count) process.send?.({ type: 'ready' });
  }));
  clients.push(c);
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50));
}
process.on('message', (m: { type?: string }) => m?.type === 'stop' && process.exit(0));
