// A uPlot time chart of one or more metrics from the live history; redrawn as samples arrive.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './lib.js';

const COLORS = ['#2f7ed8', '#e4572e', '#29a36a', '#9b59b6', '#f0a202'];

/** `percent`: the y axis spans 0 to 100; otherwise 0 to a little above the highest value (no zoomed-in noise). */
export function Chart({ title, series, history, format = (v) => (v == null ? '—' : v.toFixed(1)), percent = false, height = 130, testid }) {
  const box = useRef(null);
  const plot = useRef(null);
  const t = history?.t ?? [];
  const data = [t, ...series.map((s) => history?.series[s.key] ?? t.map(() => null))];
  const present = series.some((s) => history?.series[s.key]?.some((v) => v != null));
  const keys = series.map((s) => s.key).join(',');

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const opts = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: percent ? [0, 100] : (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.15 : 1] } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(127,127,127,.15)' }, ticks: { stroke: 'rgba(127,127,127,.3)' } },
        { stroke: 'currentColor', size: (u, values) => Math.max(48, ...(values ?? []).map((v) => String(v).length * 8 + 22)), grid: { stroke: 'rgba(127,127,127,.15)' }, ticks: { stroke: 'rgba(127,127,127,.3)' }, values: (u, vals) => vals.map(format) },
      ],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? COLORS[i % COLORS.length], width: 1.5, spanGaps: true, value: (u, v) => format(v) }))],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [keys, height, present, percent]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return html`<figure class="chart" data-testid=${testid}>
    <figcaption>${title}${history && !present ? html` <span class="muted">(no data${t.length ? ': no sensor reports it' : ' yet'})</span>` : null}</figcaption>
    ${present ? html`<div ref=${box} class="plot"></div>` : null}
  </figure>`;
}
