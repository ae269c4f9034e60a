import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Anything with `after(fn)`: a TestContext, or `{ after }` imported from node:test for a whole file. */
export interface Teardown {
  after(fn: () => unknown): void;
}

/** A fresh directory under the OS temp dir, removed after the test. */
export function tempDir(t: Teardown, prefix = 'ferry-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
