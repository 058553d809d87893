import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const cleanups: Array<() => Promise<unknown>> = [];

/** Runs `cleanup` after the current test, whatever its outcome (last registered runs first). */
export function afterThisTest(cleanup: () => Promise<unknown>): void {
  cleanups.push(cleanup);
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh temp dir named `<name>XXXXXX`, removed after the current test. */
export async function scratchDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), name));
  afterThisTest(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
