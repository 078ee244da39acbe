// A stand-in for the hub on the device's side of the job protocol (HubCalls): keeps every run report, lease
// request and piece of output, for tests that drive the agent's JobManager against a real container engine.
import type { LogPiece, RunReport } from '@sosna/protocol';
import type { HubCalls } from '../agent/src/jobs/index.js';
import { waitFor } from './helpers.js';

/** Stands in for the hub: keeps every report and every piece of output. */
export class Recorder implements HubCalls {
  reports: RunReport[] = [];
  leases: { ids: string[]; health?: string; reason?: string }[] = [];
  logs = new Map<string, LogPiece[]>();
  keep = true;
  connected() {
    return true;
  }
  async call(_spec: unknown, method: string, params: unknown): Promise<never> {
    if (method === 'update') {
      const r = params as RunReport;
      this.reports.push(r);
      return { id: r.id, state: r.state } as never;
    }
    if (method === 'log') {
      const p = params as { id: string; pieces: LogPiece[] };
      this.logs.set(p.id, [...(this.logs.get(p.id) ?? []), ...p.pieces]);
      return { accepted: p.pieces.length } as never;
    }
    this.leases.push(params as { ids: string[] });
    const ids = (params as { ids: string[] }).ids;
    return { leaseSec: 30, jobs: ids.map((id) => ({ id, keep: this.keep })) } as never;
  }
  last(id: string) {
    return [...this.reports].reverse().find((r) => r.id === id);
  }
  final(id: string, timeoutMs = 60_000) {
    return waitFor(`final report of ${id}`, () => {
      const r = this.last(id);
      return r && ['succeeded', 'failed', 'cancelled'].includes(r.state) ? r : null;
    }, timeoutMs, 50);
  }
  output(id: string, stream = 'stdout') {
    return (this.logs.get(id) ?? []).filter((p) => p.stream === stream).map((p) => p.data).join('');
  }
}
