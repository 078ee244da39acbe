import { useEffect } from 'preact/hooks';
import { Chart } from '../chart.js';
import { ErrorLine, fmtBytes, fmtHashrate, fmtNum, fmtTime, html, useApi } from '../lib.js';
import { loadHistory, useLive } from '../live.js';

const pct = (v) => (v == null ? '—' : `${v.toFixed(0)}%`);
const deg = (v) => (v == null ? '—' : `${v.toFixed(0)}°C`);
const watts = (v) => (v == null ? '—' : `${v.toFixed(0)} W`);
const num = (v) => (v == null ? '—' : v.toFixed(2));

function Card({ id, title, subtitle, stats, charts, metrics, history }) {
  return html`<article class="card hw" data-testid=${`card-${id}`}>
    <h3>${title}</h3>
    ${subtitle ? html`<p class="muted">${subtitle}</p>` : null}
    <div class="stats">
      ${stats.map((s) => html`<div class="stat"><span class="label">${s.label}</span><span class="value" data-testid=${`metric-${s.key}`}>${s.format(metrics[s.key])}</span></div>`)}
    </div>
    ${charts.map((c) => html`<${Chart} title=${c.title} series=${c.series} format=${c.format} percent=${c.format === pct} history=${history} testid=${`chart-${c.series[0].key}`} />`)}
  </article>`;
}

/** A card per CPU, GPU and ASIC: the figures shown and the charts of the last hour. */
function cardsOf(data) {
  return [
    {
      id: 'cpu',
      title: `CPU: ${data.cpu.brand}`,
      subtitle: `${data.cpu.physicalCores} cores, ${data.cpu.cores} threads${data.cpu.speedGHz ? `, ${data.cpu.speedGHz} GHz` : ''}; ${fmtBytes(data.memory.totalBytes)} memory`,
      stats: [
        { label: 'Load', key: 'cpu.loadPct', format: pct },
        { label: 'Temperature', key: 'cpu.tempC', format: deg },
        { label: 'Load avg (1 min)', key: 'load.1m', format: num },
        { label: 'Memory used', key: 'mem.usedBytes', format: fmtBytes },
      ],
      charts: [
        { title: 'CPU load, last hour', series: [{ key: 'cpu.loadPct', label: 'load %' }], format: pct },
        { title: 'CPU temperature, last hour', series: [{ key: 'cpu.tempC', label: '°C', color: '#e4572e' }], format: deg },
        { title: 'Memory used, last hour', series: [{ key: 'mem.usedBytes', label: 'used', color: '#29a36a' }], format: fmtBytes },
      ],
    },
    ...data.gpus.map((g) => ({
      id: g.key,
      title: `GPU ${g.index}: ${g.name}`,
      subtitle: `${g.vendor}, ${fmtBytes(g.vramBytes)} VRAM${g.driver ? `, driver ${g.driver}` : ''}, ${g.pciBusId}`,
      stats: [
        { label: 'Temperature', key: `${g.key}.tempC`, format: deg },
        { label: 'Power', key: `${g.key}.powerW`, format: watts },
        { label: 'Fan', key: `${g.key}.fanPct`, format: pct },
        { label: 'Utilization', key: `${g.key}.utilPct`, format: pct },
      ],
      charts: [
        { title: 'Temperature, last hour', series: [{ key: `${g.key}.tempC`, label: '°C', color: '#e4572e' }], format: deg },
        { title: 'Utilization and fan, last hour', series: [{ key: `${g.key}.utilPct`, label: 'utilization %' }, { key: `${g.key}.fanPct`, label: 'fan %' }], format: pct },
        { title: 'Power, last hour', series: [{ key: `${g.key}.powerW`, label: 'W', color: '#f0a202' }], format: watts },
      ],
    })),
    ...data.asics.map((a) => ({
      id: a.key,
      title: `ASIC ${a.host}: ${a.maker} ${a.model}`,
      subtitle: a.state === 'ok' ? null : 'reports an error',
      stats: [
        { label: 'Hashrate (5 s)', key: `${a.key}.hashrate5s`, format: fmtHashrate },
        { label: 'Hottest chip', key: `${a.key}.tempMaxC`, format: deg },
        { label: 'Power', key: `${a.key}.powerW`, format: watts },
        { label: 'Fan 0', key: `${a.key}.fan.0.rpm`, format: (v) => (v == null ? '—' : `${v.toFixed(0)} rpm`) },
      ],
      charts: [
        { title: 'Hashrate, last hour', series: [{ key: `${a.key}.hashrate5s`, label: '5 s' }, { key: `${a.key}.hashrateAvg`, label: 'average' }], format: fmtHashrate },
        { title: 'Hottest chip, last hour', series: [{ key: `${a.key}.tempMaxC`, label: '°C', color: '#e4572e' }], format: deg },
      ],
    })),
  ];
}

export function Hardware() {
  const { data, error } = useApi('/api/hardware');
  const live = useLive();
  const cards = data ? cardsOf(data) : [];
  useEffect(() => {
    if (data) loadHistory(cards.flatMap((c) => c.charts.flatMap((ch) => ch.series.map((x) => x.key))));
  }, [data]);
  if (!data) return html`<${ErrorLine} error=${error} />`;
  const metrics = live.latest?.metrics ?? data.latest?.metrics ?? {};
  const history = live.history;
  return html`<section>
    <h2>Hardware</h2>
    <p class="muted" data-testid="live-updated" data-count=${live.liveCount} data-seq=${live.latest?.seq ?? ''}>
      ${live.liveAt ? `live: sample #${live.latest.seq} at ${fmtTime(live.latest.at)}` : `waiting for the next sample (${live.socket})`}
      ${data.gpus.length + data.asics.length === 0 ? ' · no GPU or ASIC on this device' : ''}
    </p>
    <div class="grid wide">${cards.map((c) => html`<${Card} key=${c.id} ...${c} metrics=${metrics} history=${history} />`)}</div>
  </section>`;
}
