// The last lines of the agent's log for the dashboard's System page and `sosna console logs`: a bounded ring
// of strings, fed by the logger's writer in main.ts (lines are capped, so the whole tail stays under
// ~100 KB), and listeners for following it.

export class LogTail {
  private readonly lines: string[] = [];
  private next = 0;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(readonly capacity = 300, private readonly maxLineChars = 400) {}

  push(line: string): void {
    const l = line.length > this.maxLineChars ? `${line.slice(0, this.maxLineChars - 1)}…` : line;
    if (this.lines.length < this.capacity) this.lines.push(l);
    else this.lines[this.next] = l;
    this.next = (this.next + 1) % this.capacity;
    for (const fn of this.listeners) fn(l);
  }

  /** The newest `n` lines, oldest first. */
  tail(n = this.capacity): string[] {
    const ordered = this.lines.length < this.capacity ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return ordered.slice(-Math.max(0, n));
  }

  /** Calls `fn` with every new line until the returned function is called. */
  follow(fn: (line: string) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }
}
