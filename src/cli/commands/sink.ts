/**
 * Where bulk output goes (`credential import`, `trace export`, `queue drain`): stdout, or a file
 * given with --out that is created before any work starts (a bad path costs nothing) and fsynced
 * on `flush`, so what was reported written is on disk.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { UsageError } from './args.js';

export interface Sink {
  write(text: string): void;
  /** On disk (a file) or handed to stdout: after this, what was written survives a crash. */
  flush(): void;
  close(): void;
}

/** `path` undefined or `-`: stdout (`out`). `mode` for a new file (0o600 for secrets). */
export function openSink(path: string | undefined, out: (s: string) => void, mode = 0o644): Sink {
  if (path === undefined || path === '-') return { write: out, flush: () => undefined, close: () => undefined };
  let fd: number;
  try {
    fd = openSync(path, 'w', mode);
  } catch (err) {
    throw new UsageError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let open = true;
  return {
    write: (text) => void writeSync(fd, text),
    flush: () => fsyncSync(fd),
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
