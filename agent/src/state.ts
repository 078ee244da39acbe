// The agent's state directory. Every write is atomic (temp file, fsync, rename, fsync of the directory),
// so a power cut leaves either the old or the new file, never a torn one.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';

export class StateStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** The parsed file, or undefined when missing; a corrupt file is reported and treated as missing. */
  read<T extends z.ZodType>(name: string, schema: T, onCorrupt?: (why: string) => void): z.output<T> | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const r = schema.safeParse(JSON.parse(text));
      if (r.success) return r.data;
      onCorrupt?.(`${this.path(name)}: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
    } catch (err) {
      onCorrupt?.(`${this.path(name)}: ${(err as Error).message}`);
    }
    return undefined;
  }

  write(name: string, value: unknown, mode = 0o600): void {
    const file = this.path(name);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', mode);
    try {
      writeSync(fd, JSON.stringify(value, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    // vfat (a boot partition) records a renamed file's size and first cluster only when the file itself is
    // written back: fsync it under its new name too, then the directory.
    const fileFd = openSync(file, 'r');
    try {
      fsyncSync(fileFd);
    } finally {
      closeSync(fileFd);
    }
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  remove(name: string): void {
    rmSync(this.path(name), { force: true });
  }
}
