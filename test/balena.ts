// The balenaOS fleet app (os-image/balena) on a private Docker Engine standing in for balenaEngine (same
// Engine API): its image built offline (`sosna image balena`'s base rootfs imported, the app's Dockerfile
// built on it), and its container created from docker-compose.yml as the balena supervisor does on
// `balena push`: the balena labels turned into what they give (the engine socket at /var/run/balena.sock
// with DOCKER_HOST, the supervisor API's variables), host networking, the named volume, the restart policy,
// and the supervisor's BALENA_* variables beside the fleet's own. Settings this stand-in does not know
// fail the test, so the compose file cannot drift from what was tested. No balena supervisor runs here:
// its API address is given, nothing answers on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type Docker from 'dockerode';
import { writeBalenaApp } from '@sosna/provisioning';
import { BUNDLE, ROOT } from './procs.js';

export const APP_DIR = join(ROOT, 'os-image', 'balena');

export interface ComposeService {
  name: string;
  networkMode: string | undefined;
  restart: string | undefined;
  labels: Record<string, string>;
  environment: Record<string, string>;
  volumes: { volume: string; target: string }[];
}

const KNOWN_KEYS = new Set(['build', 'image', 'restart', 'network_mode', 'labels', 'environment', 'volumes']);
const KNOWN_FEATURES = new Set(['io.balena.features.balena-socket', 'io.balena.features.supervisor-api']);

/** The one service of the app's docker-compose.yml, checked against what this stand-in honours. */
export function composeService(text: string): ComposeService {
  const doc = parse(text) as { services?: Record<string, Record<string, unknown>>; volumes?: Record<string, unknown> };
  const entries = Object.entries(doc.services ?? {});
  if (entries.length !== 1) throw new Error(`docker-compose.yml: expected one service, found ${entries.length}`);
  const [name, svc] = entries[0]!;
  for (const k of Object.keys(svc)) if (!KNOWN_KEYS.has(k)) throw new Error(`docker-compose.yml: services.${name}.${k} is not honoured by test/balena.ts`);
  const labels = Object.fromEntries(Object.entries((svc.labels ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  for (const k of Object.keys(labels)) if (k.startsWith('io.balena.features.') && !KNOWN_FEATURES.has(k)) throw new Error(`docker-compose.yml: label ${k} is not honoured by test/balena.ts`);
  const environment = Object.fromEntries(Object.entries((svc.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  const volumes = ((svc.volumes ?? []) as string[]).map((v) => {
    const [volume, target] = v.split(':');
    if (!volume || !target || volume.startsWith('/') || !(volume in (doc.volumes ?? {}))) throw new Error(`docker-compose.yml: volume ${v}: only the app's named volumes are honoured`);
    return { volume, target };
  });
  return { name, networkMode: svc.network_mode as string | undefined, restart: svc.restart as string | undefined, labels, environment, volumes };
}

async function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<unknown[]> {
  return new Promise((ok, fail) => docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? fail(err) : ok(out))));
}

/** Builds the app's image offline on the engine; returns its tag. */
export async function buildBalenaApp(docker: Docker, out: string): Promise<string> {
  const app = writeBalenaApp({ appDir: APP_DIR, bundle: BUNDLE, out });
  const base = `sosna/balena-node-base:${app.arch}`;
  const [repo, tag] = base.split(':') as [string, string];
  await follow(docker, (await docker.importImage(app.baseTar, { repo, tag })) as NodeJS.ReadableStream);
  const image = 'sosna/balena-app:test';
  const events = await follow(docker, await docker.buildImage({ context: app.context, src: app.files }, { t: image, buildargs: { BASE: base } }));
  const failed = events.find((e) => (e as { error?: string }).error);
  if (failed) throw new Error(`docker build of the balena app: ${(failed as { error: string }).error}`);
  await docker.getImage(image).inspect(); // throws when the build left no image
  return image;
}

export interface BalenaDevice {
  uuid: string;
  name: string;
  fleet: string;
  appId: number;
}

/** The container the balena supervisor would run for the app's service; not started. */
export async function createAppContainer(docker: Docker, o: {
  image: string;
  compose: ComposeService;
  device: BalenaDevice;
  /** The engine's socket on the host (balenaEngine's is /var/run/balena-engine.sock). */
  engineSocket: string;
  /** Fleet and device variables (`balena env add`). */
  variables: Record<string, string>;
  /** Container name (balena: service_release_id). */
  name: string;
  restart?: string;
}): Promise<Docker.Container> {
  const { compose, device } = o;
  const env: Record<string, string> = {
    ...compose.environment,
    ...o.variables,
    BALENA: '1',
    BALENA_APP_ID: String(device.appId),
    BALENA_APP_NAME: device.fleet,
    BALENA_SERVICE_NAME: compose.name,
    BALENA_DEVICE_UUID: device.uuid,
    BALENA_DEVICE_NAME_AT_INIT: device.name,
    BALENA_DEVICE_TYPE: 'generic-amd64',
    BALENA_DEVICE_ARCH: 'amd64',
  };
  const binds: string[] = [];
  if (compose.labels['io.balena.features.balena-socket'] === '1') {
    binds.push(`${o.engineSocket}:/var/run/balena.sock`);
    env.DOCKER_HOST = 'unix:///var/run/balena.sock';
  }
  if (compose.labels['io.balena.features.supervisor-api'] === '1') {
    Object.assign(env, { BALENA_SUPERVISOR_ADDRESS: 'http://127.0.0.1:48484', BALENA_SUPERVISOR_HOST: '127.0.0.1', BALENA_SUPERVISOR_PORT: '48484', BALENA_SUPERVISOR_API_KEY: 'test-fixture-supervisor-key' });
  }
  for (const v of compose.volumes) {
    const volume = `${device.appId}_${v.volume}`; // balena's volume names: <appId>_<name>
    await docker.createVolume({ Name: volume });
    binds.push(`${volume}:${v.target}`);
  }
  const restart = o.restart ?? compose.restart ?? 'no';
  return docker.createContainer({
    name: o.name,
    Image: o.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...compose.labels, 'io.balena.app-id': String(device.appId), 'io.balena.service-name': compose.name },
    HostConfig: { Binds: binds, ...(compose.networkMode ? { NetworkMode: compose.networkMode } : {}), RestartPolicy: { Name: restart } },
  });
}

export function readCompose(): ComposeService {
  return composeService(readFileSync(join(APP_DIR, 'docker-compose.yml'), 'utf8'));
}

/** A container's output so far (stdout and stderr, the Engine's multiplexed frames undone). */
export async function containerLogs(c: Docker.Container): Promise<string> {
  const buf = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  let out = '';
  for (let i = 0; i + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}
