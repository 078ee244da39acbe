// A token bucket of bytes per second for remote output (shell, exec, logs): the same bound as job output
// (`jobs.logBytesPerSec`). Pure: the clock comes in.

export class ByteBucket {
  private tokens: number;
  private at: number;

  constructor(private readonly bytesPerSec: number, private readonly now: () => number = Date.now) {
    this.tokens = bytesPerSec;
    this.at = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.bytesPerSec, this.tokens + ((t - this.at) / 1000) * this.bytesPerSec);
    this.at = t;
  }

  /** Takes `n` bytes if they fit now; false (nothing taken) otherwise. */
  tryTake(n: number): boolean {
    this.refill();
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }

  /** Takes `n` bytes (the balance may go negative) and answers how long to wait before more (ms, 0: none). */
  take(n: number): number {
    this.refill();
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.bytesPerSec) * 1000);
  }
}
