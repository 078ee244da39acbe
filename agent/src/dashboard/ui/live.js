// Live data for the whole UI: one WebSocket to /api/live carrying `{topic, payload}` in the MQTT shapes
// (`.../telemetry` samples, `.../state` changes, `.../jobs/update` and `.../jobs/log` job events), and the
// last hour of telemetry for the charts (loaded once from /api/telemetry, then extended by live samples).
import { useEffect, useState } from 'preact/hooks';
import { api, goLogin } from './lib.js';

const HOUR_SEC = 3600;
export const store = {
  /** The newest DeviceState payload (`status: online | offline`). */
  link: null,
  /** The newest Telemetry payload. */
  latest: null,
  /** Wall-clock time the newest live sample arrived. */
  liveAt: 0,
  liveCount: 0,
  socket: 'connecting',
  /** Set while logging out: the socket's close is expected then. */
  leaving: false,
  /** `{t: seconds[], series: {metric: (number|null)[]}}` */
  history: null,
};
const listeners = new Set();
const emit = () => listeners.forEach((fn) => fn());
const jobListeners = new Set();

const reopenListeners = new Set();
/** `fn()` each time the live socket opens again after a drop (events sent meanwhile were missed). Returns the unsubscribe. */
export function onReconnect(fn) {
  reopenListeners.add(fn);
  return () => reopenListeners.delete(fn);
}

/** Job events as they arrive: `fn('update', RunReport)` and `fn('log', {id, pieces})`. Returns the unsubscribe. */
export function onJobEvent(fn) {
  jobListeners.add(fn);
  return () => jobListeners.delete(fn);
}

export function useLive() {
  const [, tick] = useState(0);
  useEffect(() => {
    const fn = () => tick((x) => x + 1);
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return store;
}

function append(payload) {
  const h = store.history;
  if (!h) return;
  const t = payload.at / 1000;
  if (h.t.length && t <= h.t[h.t.length - 1]) return; // already in the loaded history
  h.t.push(t);
  for (const [key, values] of Object.entries(h.series)) values.push(key in payload.metrics ? payload.metrics[key] : null);
  for (const [key, v] of Object.entries(payload.metrics)) if (!(key in h.series)) h.series[key] = [...h.t.slice(0, -1).map(() => null), v];
  let drop = 0;
  while (drop < h.t.length && h.t[drop] < t - HOUR_SEC) drop++;
  if (drop) {
    h.t.splice(0, drop);
    for (const values of Object.values(h.series)) values.splice(0, drop);
  }
}

let loading = null;
/** The last hour of the given metrics, at most 720 points each (live samples add to it). */
export function loadHistory(metrics) {
  if (!loading) {
    loading = api(`/api/telemetry?points=720&metrics=${encodeURIComponent(metrics.join(','))}`).then((r) => {
      store.history = { t: r.t, series: r.series };
      if (store.latest) append(store.latest);
      emit();
    }, () => (loading = null));
  }
  return loading;
}

let retry = 0;
let opened = false;
export function connectLive() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live`);
  ws.onopen = () => {
    retry = 0;
    store.socket = 'open';
    emit();
    if (opened) reopenListeners.forEach((fn) => fn());
    opened = true;
  };
  ws.onmessage = (e) => {
    let m;
    try {
      m = JSON.parse(e.data);
    } catch {
      return;
    }
    const job = /\/jobs\/(update|log)$/.exec(m.topic);
    if (job) return jobListeners.forEach((fn) => fn(job[1], m.payload));
    if (m.topic.endsWith('/telemetry')) {
      store.latest = m.payload;
      store.liveAt = Date.now();
      store.liveCount++;
      append(m.payload);
    } else if (m.topic.endsWith('/state')) store.link = m.payload;
    emit();
  };
  ws.onclose = (e) => {
    store.socket = 'closed';
    emit();
    if (store.leaving) return;
    if (e.code === 4001) return goLogin(); // session ended (logout, password change)
    // a refused upgrade (401) looks like 1006 here: the next API call finds out and goes to the login page
    setTimeout(connectLive, Math.min(30_000, 1000 * 2 ** retry++));
    if (retry > 1) api('/api/login').then((r) => !r.authenticated && goLogin(), () => {});
  };
}
