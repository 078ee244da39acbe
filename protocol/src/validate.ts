import type { z } from 'zod';
import { SosnaError } from './errors.js';

/** One line per issue, each naming the field path and the reason, e.g. `hub.url: Invalid URL`. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      const where = [prefix, path].filter(Boolean).join('.') || '(root)';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Validates at a boundary: returns the typed value or throws SosnaError E_INVALID naming field and reason. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new SosnaError('E_INVALID', `${what}: ${describeIssues(result.error)}`);
  return result.data;
}
