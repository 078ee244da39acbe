// Prometheus' own checker for /metrics texts: `promtool check metrics` (Debian's prometheus package,
// installed by scripts/test-deps/prometheus.sh), so the exposition is judged by Prometheus, not by our code.
import { spawnSync } from 'node:child_process';

/** Fetches url and runs `promtool check metrics` on what it answered: exit code, promtool's words, the text. */
export async function scrapeAndCheck(url: string): Promise<{ code: number; output: string; text: string; contentType: string | null }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const text = await res.text();
  return { ...promtoolCheck(text), text, contentType: res.headers.get('content-type') };
}

export function promtoolCheck(text: string): { code: number; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool: ${r.error.message}: install it with bash scripts/test-deps/prometheus.sh (Debian's prometheus package)`);
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Pure: the value of one sample (`name` with exactly these labels) in a Prometheus text; undefined when absent. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    const want = Object.entries(labels);
    if (want.length === Object.keys(got).length && want.every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}
