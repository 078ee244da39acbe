// The agent as a balenaOS fleet app (os-image/balena/): the balena supervisor starts the app's container
// with BALENA=1 and BALENA_* variables (the device's UUID, its name at first start, the fleet's name, the
// supervisor API's address and key), DOCKER_HOST pointing at balenaEngine's socket (the
// io.balena.features.balena-socket label mounts it at /var/run/balena.sock), and the fleet's and device's
// own variables. Here the balena conventions become the agent's SOSNA_* defaults, which the config schema
// then validates as usual (config.ts); anything set as SOSNA_* (or in a config file) wins. Pure.

type Env = Record<string, string | undefined>;

/** balenaEngine's socket inside the container, as the balena-socket feature mounts it. */
export const BALENA_SOCKET = '/var/run/balena.sock';
/** The app's persistent named volume is mounted at /data (docker-compose.yml); the agent's state lives below it. */
export const BALENA_STATE_DIR = '/data/sosna';

export interface BalenaDevice {
  uuid: string | null;
  nameAtInit: string | null;
  appName: string | null;
  deviceType: string | null;
  supervisor: { address: string; apiKey: string } | null;
}

/** True when the balena supervisor started this process (BALENA=1, or RESIN=1 on older supervisors). */
export function onBalena(env: Env): boolean {
  return env.BALENA === '1' || env.RESIN === '1';
}

const pick = (env: Env, name: string): string | null => env[`BALENA_${name}`] || env[`RESIN_${name}`] || null;

/** What the supervisor told this container about the device; null when not on balena. */
export function balenaDevice(env: Env): BalenaDevice | null {
  if (!onBalena(env)) return null;
  const address = pick(env, 'SUPERVISOR_ADDRESS');
  const apiKey = pick(env, 'SUPERVISOR_API_KEY');
  return {
    uuid: pick(env, 'DEVICE_UUID'),
    nameAtInit: pick(env, 'DEVICE_NAME_AT_INIT'),
    appName: pick(env, 'APP_NAME'),
    deviceType: pick(env, 'DEVICE_TYPE'),
    supervisor: address && apiKey ? { address, apiKey } : null,
  };
}

/** A device tag from a balena value: the characters DeviceTag accepts, at most 64. */
function tag(key: string, value: string): string {
  return `${key}=${value.replace(/[^A-Za-z0-9._:=-]/g, '-')}`.slice(0, 64);
}

/**
 * Why this balena device cannot start, or null: without a config file it must be given SOSNA_HUB_URL (a
 * fleet or device variable). The message names the variable, the reason and how to set it.
 */
export function balenaProblem(env: Env, configFile: string | null): string | null {
  if (!onBalena(env) || configFile || env.SOSNA_HUB_URL) return null;
  return (
    'SOSNA_HUB_URL: not set: on balena the hub\'s broker URL comes from a fleet or device variable, e.g. ' +
    '`balena env add SOSNA_HUB_URL mqtt://hub.example:1883 --fleet FLEET` (mqtt://, mqtts://, ws:// or wss://)'
  );
}

/**
 * The environment loadConfig reads, with balena's conventions as defaults when on balena (the same object
 * otherwise): SOSNA_NAME from the device name at first start, SOSNA_STATE_DIR in the /data volume,
 * SOSNA_JOBS_DOCKER_HOST from DOCKER_HOST (or the balena socket), SOSNA_TAGS naming the balena device and
 * fleet. A SOSNA_* variable that is set wins.
 */
export function withBalenaDefaults(env: Env): Env {
  const device = balenaDevice(env);
  if (!device) return env;
  const out: Env = { ...env };
  const tags = [
    ...(device.uuid ? [tag('balena-uuid', device.uuid)] : []),
    ...(device.appName ? [tag('balena-fleet', device.appName)] : []),
  ];
  if (!out.SOSNA_NAME && device.nameAtInit) out.SOSNA_NAME = device.nameAtInit;
  if (!out.SOSNA_STATE_DIR) out.SOSNA_STATE_DIR = BALENA_STATE_DIR;
  if (!out.SOSNA_JOBS_DOCKER_HOST) out.SOSNA_JOBS_DOCKER_HOST = env.DOCKER_HOST || `unix://${BALENA_SOCKET}`;
  if (!out.SOSNA_TAGS && tags.length) out.SOSNA_TAGS = tags.join(',');
  return out;
}
