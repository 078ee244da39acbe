// Every topic string of sosna is built and parsed here, and nowhere else.
// Layout (MQTT 3.1.1; see docs/architecture.md "The wire contract"):
//   sosna/v1/hubs/{hubId}/announce                      retained hub card
//   sosna/v1/{hubId}/dev/{deviceId}/{state|telemetry}    device -> hub
//   sosna/v1/{hubId}/dev/{deviceId}/rpc/{in|out}         in: to the device's services, out: from the device
//   sosna/v1/{hubId}/dev/{deviceId}/config               hub -> device, retained: the desired config
//   sosna/v1/{hubId}/console/{operator}/rpc/{in|out}     in: to the hub's console services, out: replies
//   sosna/v1/{hubId}/provision/{session}/rpc/{in|out}    in: to the hub's provision service, out: replies
//   sosna/v1/{hubId}/mining/rates                        hub -> everyone, retained: revenue rates (rig mode)
// "in" always flows towards the endpoint that owns the services named by the path; the caller on a topic
// pair opens even channels, the service owner (when it calls back) odd ones (see rpc/peer.ts).
// The operator and provisioning-session segments exist so that any broker's ACL can bind a request to an
// authenticated identity: MQTT 3.1.1 carries no publisher identity.

export const ROOT = 'sosna/v1';

/** Ids that appear as a topic level: no '/', '+', '#', no leading '$', bounded length. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RESERVED_HUB_IDS = new Set(['hubs']);

export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function assertId(kind: string, value: string): string {
  if (!isValidId(value)) {
    throw new TypeError(`${kind} ${JSON.stringify(value)} is not a valid id (letters, digits, '.', '_', '-'; 1-64 chars)`);
  }
  return value;
}

function hub(hubId: string): string {
  assertId('hubId', hubId);
  if (RESERVED_HUB_IDS.has(hubId)) throw new TypeError(`hubId ${JSON.stringify(hubId)} is reserved`);
  return hubId;
}

export type DeviceChannel = 'state' | 'telemetry' | 'rpc/in' | 'rpc/out' | 'config';
export type Direction = 'in' | 'out';

export const topics = {
  announce: (hubId: string) => `${ROOT}/hubs/${hub(hubId)}/announce`,
  /** Filter matching every hub's announcement. */
  announceAll: () => `${ROOT}/hubs/+/announce`,
  device: (hubId: string, deviceId: string, channel: DeviceChannel) =>
    `${ROOT}/${hub(hubId)}/dev/${assertId('deviceId', deviceId)}/${channel}`,
  /**
   * Job events of one device as its local dashboard streams them (never on the broker: there they travel
   * as the jobs.update / jobs.log RPC calls, whose params are the payloads: a RunReport, `{id, pieces}`).
   */
  deviceJobs: (hubId: string, deviceId: string, kind: 'update' | 'log') => `${ROOT}/${hub(hubId)}/dev/${assertId('deviceId', deviceId)}/jobs/${kind}`,
  /** Filter matching one channel of every device of a hub. */
  deviceAll: (hubId: string, channel: DeviceChannel) => `${ROOT}/${hub(hubId)}/dev/+/${channel}`,
  console: (hubId: string, operator: string, dir: Direction) =>
    `${ROOT}/${hub(hubId)}/console/${assertId('operator', operator)}/rpc/${dir}`,
  consoleAll: (hubId: string, dir: Direction) => `${ROOT}/${hub(hubId)}/console/+/rpc/${dir}`,
  provision: (hubId: string, session: string, dir: Direction) =>
    `${ROOT}/${hub(hubId)}/provision/${assertId('session', session)}/rpc/${dir}`,
  provisionAll: (hubId: string, dir: Direction) => `${ROOT}/${hub(hubId)}/provision/+/rpc/${dir}`,
  /** The hub's revenue rates for mining (retained; protocol/src/mining.ts MiningRates): any login of the hub may read it. */
  miningRates: (hubId: string) => `${ROOT}/${hub(hubId)}/mining/rates`,
};

export type ParsedTopic =
  | { kind: 'announce'; hubId: string }
  | { kind: 'device'; hubId: string; deviceId: string; channel: DeviceChannel }
  | { kind: 'console'; hubId: string; operator: string; dir: Direction }
  | { kind: 'provision'; hubId: string; session: string; dir: Direction }
  | { kind: 'mining-rates'; hubId: string };

/** The one topic parser. Returns null for anything that is not a concrete sosna topic (wildcards included). */
export function parseTopic(topic: string): ParsedTopic | null {
  const p = topic.split('/');
  if (p[0] !== 'sosna' || p[1] !== 'v1') return null;
  if (p.some((level) => level.length === 0)) return null;
  if (p[2] === 'hubs') {
    if (p.length === 5 && p[4] === 'announce' && isValidId(p[3]!)) return { kind: 'announce', hubId: p[3]! };
    return null;
  }
  const hubId = p[2]!;
  const id = p[4];
  if (!isValidId(hubId) || id === undefined || !isValidId(id)) return null;
  const rest = p.slice(5).join('/');
  switch (p[3]) {
    case 'dev':
      if (rest === 'state' || rest === 'telemetry' || rest === 'rpc/in' || rest === 'rpc/out' || rest === 'config') {
        return { kind: 'device', hubId, deviceId: id, channel: rest };
      }
      return null;
    case 'console':
      if (rest === 'rpc/in' || rest === 'rpc/out') return { kind: 'console', hubId, operator: id, dir: rest === 'rpc/in' ? 'in' : 'out' };
      return null;
    case 'provision':
      if (rest === 'rpc/in' || rest === 'rpc/out') return { kind: 'provision', hubId, session: id, dir: rest === 'rpc/in' ? 'in' : 'out' };
      return null;
    case 'mining':
      return id === 'rates' && p.length === 5 ? { kind: 'mining-rates', hubId } : null;
    default:
      return null;
  }
}

export function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

// MQTT usernames name the kind of principal, so one broker serves devices, operators and provisioning keys.
export type Principal =
  | { kind: 'device'; deviceId: string }
  | { kind: 'operator'; name: string }
  | { kind: 'provision'; keyId: string };

export const usernames = {
  device: (deviceId: string) => `dev:${assertId('deviceId', deviceId)}`,
  operator: (name: string) => `op:${assertId('operator', name)}`,
  provision: (keyId: string) => `key:${assertId('keyId', keyId)}`,
};

export function parseUsername(username: string | undefined): Principal | null {
  if (!username) return null;
  const colon = username.indexOf(':');
  if (colon < 0) return null;
  const prefix = username.slice(0, colon);
  const id = username.slice(colon + 1);
  if (!isValidId(id)) return null;
  switch (prefix) {
    case 'dev': return { kind: 'device', deviceId: id };
    case 'op': return { kind: 'operator', name: id };
    case 'key': return { kind: 'provision', keyId: id };
    default: return null;
  }
}

/** A device with only a provisioning key connects as prov-{nonce}; the nonce is its provisioning retry key. */
export const PROVISION_CLIENT_PREFIX = 'prov-';

// MQTT client ids are bound to the login, because a broker closes the older of two connections with the same
// client id (MQTT-3.1.4-2): a device's client id is its device id, a provisioning session's is prov-{nonce},
// an operator's is op-{name}-{suffix}. The suffix (the console draws 8 hex digits) has no '-', so the last '-'
// ends the name and no operator can take another one's client id, whatever their names.
export const OPERATOR_CLIENT_PREFIX = 'op-';
const OPERATOR_SUFFIX = /^[A-Za-z0-9._]{1,32}$/;

export const clientIds = {
  operator: (name: string, suffix: string) => {
    if (!OPERATOR_SUFFIX.test(suffix)) throw new TypeError(`operator client id suffix ${JSON.stringify(suffix)}: use 1-32 letters, digits, '.', '_'`);
    return `${OPERATOR_CLIENT_PREFIX}${assertId('operator', name)}-${suffix}`;
  },
  provision: (nonce: string) => `${PROVISION_CLIENT_PREFIX}${nonce}`,
};

/** The operator name an operator client id (op-{name}-{suffix}) carries, or null when it is not one. */
export function operatorOfClientId(clientId: string): string | null {
  if (!clientId.startsWith(OPERATOR_CLIENT_PREFIX)) return null;
  const dash = clientId.lastIndexOf('-');
  if (dash < OPERATOR_CLIENT_PREFIX.length) return null;
  const name = clientId.slice(OPERATOR_CLIENT_PREFIX.length, dash);
  return isValidId(name) && OPERATOR_SUFFIX.test(clientId.slice(dash + 1)) ? name : null;
}
