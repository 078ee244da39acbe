// How RabbitMQ's MQTT plugin names what it asks its HTTP auth backend about (pure). Its topic checks see
// the AMQP routing key, not the MQTT topic: `/` became `.` and `+` became `*` (rabbit_mqtt_util:to_amqp),
// so a `.` of the key may have been either (sosna ids may contain `.`). Its queues carry the client id.

/** Every MQTT topic (or filter) that RabbitMQ turns into this routing key; null when there are too many to try. */
export function mqttTopicsOf(routingKey: string, maxDots = 14): string[] | null {
  const parts = routingKey.replace(/\*/g, '+').split('.');
  if (parts.length - 1 > maxDots) return null;
  let out = [parts[0]!];
  for (const p of parts.slice(1)) out = out.flatMap((t) => [`${t}/${p}`, `${t}.${p}`]);
  return out;
}

/** The MQTT client id a queue of the MQTT plugin belongs to (mqtt-subscription-{id}qos0|1, mqtt-will-{id}), or null. */
export function clientIdOfQueue(name: string): string | null {
  const m = /^mqtt-subscription-(.+)qos[01]$/.exec(name) ?? /^mqtt-will-(.+)$/.exec(name);
  return m ? m[1]! : null;
}
