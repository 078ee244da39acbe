// Time-outs for work we cannot cancel (a read on a wedged sysfs node, a library call): we stop waiting
// and carry on with what we have.

export class DeadlineError extends Error {
  constructor(
    readonly label: string,
    readonly timeoutMs: number,
  ) {
    super(`${label}: no answer within ${timeoutMs} ms`);
    this.name = 'DeadlineError';
  }
}

/** Resolves like `work`, or rejects with DeadlineError after `timeoutMs`. */
export function withDeadline<T>(work: Promise<T>, timeoutMs: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(label, timeoutMs)), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
