// Remote shell and exec sessions as the console's remote service (console/remote.ts) records them;
// store/sessions-sqlite.ts implements it.
import type { ShellSessionRecord } from '@sosna/protocol';

export interface SessionStore {
  start(row: Pick<ShellSessionRecord, 'id' | 'kind' | 'operator' | 'deviceId' | 'jobId' | 'command' | 'startedAt'>): void;
  end(id: string, end: { endedAt: number; exitCode: number | null; reason: string | null; bytesIn: number; bytesOut: number }): void;
  /** Sessions left open by an earlier process: ended now with `reason`. Returns how many. */
  closeOpen(at: number, reason: string): number;
  get(id: string): ShellSessionRecord | undefined;
  list(filter: { deviceId?: string; limit: number }): ShellSessionRecord[];
}
