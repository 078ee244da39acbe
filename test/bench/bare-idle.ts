// Load parity for the reference: holds `count` idle MQTT connections (each with one subscription) on the
// bare broker, as the simulated fleet does on the hub. argv: url count prefix.
// A connection that fails or times out (a busy machine) is retried; progress (connected, errors, the last
// error) goes to the parent every second, so a bench that gives up can say what failed.
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

const [url, countText, prefix] = process.argv.slice(2) as [string, string, string];
const count = Number(countText);
const clients: MqttClient[] = [];
const subscribed = new Set<number>();
let errors = 0;
let lastError: string | null = null;
let readySent = false;
const report = () => process.send?.({ type: 'progress', connected: subscribed.size, count, errors, lastError });
const progress = setInterval(report, 1000);
for (let i = 0; i < count; i++) {
  const c = mqtt.connect(url, { clientId: `${prefix}-${i}`, protocolVersion: 4, keepalive: 120, reconnectPeriod: 2000, connectTimeout: 60_000 });
  c.on('error', (err) => {
    errors++;
    lastError = err.message;
  });
  c.on('close', () => subscribed.delete(i));
  c.on('connect', () => c.subscribe(`bare/idle/${prefix}/${i}`, { qos: 1 }, (err) => {
    if (err) {
      errors++;
      lastError = `subscribe: ${err.message}`;
      return;
    }
    subscribed.add(i);
    if (subscribed.size === count && !readySent) {
      readySent = true;
      clearInterval(progress);
      report();
      process.send?.({ type: 'ready' });
    }
  }));
  clients.push(c);
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50));
}
process.on('message', (m: { type?: string }) => m?.type === 'stop' && process.exit(0));
