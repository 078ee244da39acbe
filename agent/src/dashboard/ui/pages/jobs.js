// Running and recent runs of this device: the list from /api/jobs, then kept current by the live socket
// (`.../jobs/update` carries a run's RunReport, `.../jobs/log` its new output as it is produced).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, Badge, ErrorLine, fmtDuration, fmtTime, fmtTokens, html } from '../lib.js';
import { onJobEvent, onReconnect } from '../live.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'lost']);
const LEVEL = { succeeded: 'ok', failed: 'error', lost: 'error', cancelled: 'warn', running: 'ok' };
const MAX_LINES = 500;

/**
 * Applies one live event to the list; null when the run is unknown (the list is loaded again). `replay`:
 * an event that arrived while the list loaded, whose output may be in the loaded tail already (up to logAt).
 */
function apply(list, kind, p, replay = false) {
  const i = list.findIndex((j) => j.id === p.id);
  if (i < 0) return null;
  const j = { ...list[i] };
  if (kind === 'update') {
    Object.assign(j, { state: p.state, startedAt: p.startedAt, endedAt: p.finishedAt, exitCode: p.exitCode, reason: p.reason, runtimeMs: p.runtimeMs, progress: p.progress });
  } else {
    const fresh = replay ? p.pieces.filter((x) => !(j.logAt >= x.at)) : p.pieces;
    if (!fresh.length) return list;
    const text = (j.logTail?.length ? `${j.logTail.join('\n')}\n` : '') + fresh.map((x) => x.data).join('');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    j.logTail = lines.slice(-MAX_LINES);
  }
  return list.map((x, k) => (k === i ? j : x));
}

function Log({ job }) {
  const ref = useRef(null);
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [job.logTail?.length]);
  return html`<pre ref=${ref} class="logs small" data-testid=${`job-log-${job.id}`}>${job.logTail?.join('\n') || html`<span class="muted">no output yet</span>`}</pre>`;
}

function Run({ job, open }) {
  const runtime = job.runtimeMs != null ? job.runtimeMs / 1000 : job.startedAt && !job.endedAt ? (Date.now() - job.startedAt) / 1000 : null;
  const head = html`<h3><code>${job.id}</code> <${Badge} level=${LEVEL[job.state] ?? ''} testid=${`job-state-${job.id}`}>${job.state}<//></h3>
    <p class="muted">${job.image}${job.kind === 'service' ? ' (service)' : ''} · accepted ${fmtTime(job.acceptedAt)} · started ${fmtTime(job.startedAt)}
      ${job.endedAt ? ` · ended ${fmtTime(job.endedAt)}` : ''}${runtime != null ? ` · ran ${fmtDuration(runtime)}` : ''}
      ${job.exitCode != null ? ` · exit ${job.exitCode}` : ''}${job.bidPerSec ? ` · bid ${fmtTokens(job.bidPerSec)} SNM/s` : ''}</p>
    ${job.progress && !FINAL.has(job.state) ? html`<p class="muted">${job.progress}</p>` : null}
    ${job.reason ? html`<p class=${job.state === 'succeeded' ? 'muted' : 'error'}>${job.reason}</p>` : null}`;
  return html`<article class="card" data-testid=${`job-${job.id}`}>${head}
    ${open ? html`<${Log} job=${job} />` : html`<details><summary>Output (${job.logTail?.length ?? 0} lines)</summary><${Log} job=${job} /></details>`}
  </article>`;
}

export function Jobs() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let list = null;
    let pending = [];
    let alive = true;
    const load = () =>
      api('/api/jobs').then((r) => {
        if (!alive) return;
        list = r.jobs;
        for (const [kind, p] of pending) list = apply(list, kind, p, true) ?? list;
        pending = [];
        setData({ available: r.available, unavailable: r.unavailable ?? null, jobs: list });
        setError(null);
      }, setError);
    const off = onJobEvent((kind, p) => {
      if (!list) return void pending.push([kind, p]);
      const next = apply(list, kind, p);
      if (!next) return void ((list = null), pending.push([kind, p]), load());
      list = next;
      setData((d) => ({ ...d, jobs: list }));
    });
    load();
    // events missed while the live socket was down: reload when it is back (not on a timer, which would
    // reload a list the events keep current anyway)
    const offReopen = onReconnect(() => list && load());
    return () => ((alive = false), off(), offReopen());
  }, []);

  if (!data) return html`<${ErrorLine} error=${error} />`;
  if (!data.available) return html`<section><h2>Jobs</h2><p class="card muted" data-testid="jobs-unavailable">The job runner does not report to the dashboard on this agent yet.</p></section>`;
  const running = data.jobs.filter((j) => !FINAL.has(j.state));
  const recent = data.jobs.filter((j) => FINAL.has(j.state));
  return html`<section>
    <h2>Jobs</h2>
    ${data.unavailable ? html`<p class="card error" data-testid="jobs-no-engine">This device runs no jobs: ${data.unavailable}</p>` : null}
    <h3>Running <span class="muted">(${running.length})</span></h3>
    <div data-testid="jobs-running">${running.length ? running.map((j) => html`<${Run} key=${j.id} job=${j} open />`) : html`<p class="card muted">No job runs on this device now.</p>`}</div>
    <h3>Recent <span class="muted">(${recent.length})</span></h3>
    <div data-testid="jobs-recent">${recent.length ? recent.map((j, i) => html`<${Run} key=${j.id} job=${j} open=${i === 0} />`) : html`<p class="card muted">No finished runs since the agent started.</p>`}</div>
  </section>`;
}
