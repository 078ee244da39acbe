// The last lines of the agent's log for the dashboard's System page: a bounded ring of strings, fed by the
// logger's writer in main.ts (lines are capped, so the whole tail stays under ~100 KB).

export class LogTail {
  private readonly lines: string[] = [];
  private next = 0;

  constructor(readonly capacity = 300, private readonly maxLineChars = 400) {}

  push(line: string): void {
    const l = line.length > this.maxLineChars ? `${line.slice(0, this.maxLineChars - 1)}…` : line;
    if (this.lines.length < this.capacity) this.lines.push(l);
    else this.lines[this.next] = l;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The newest `n` lines, oldest first. */
  tail(n = this.capacity): string[] {
    const ordered = this.lines.length < this.capacity ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return ordered.slice(-Math.max(0, n));
  }
}
