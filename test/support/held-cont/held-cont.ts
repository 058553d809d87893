import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../../../packages/core/src/launch/find-executable.js';
import { type QemuTarget, qemuBinary } from '../qemus.js';
import { scratchDir } from '../scratch.js';

const program = fileURLToPath(new URL('./qemu.ts', import.meta.url));

/**
 * How long after QEMU's exit, its connections cut, the stand-in process ends: longer than any
 * "wait briefly for the exit" of the framework, so a run that relies on one fails.
 */
const REAP_DELAY_MS = 2500;

/**
 * A QEMU binary (for `launch({ qemu })`) that holds back the reply to `cont` until the guest has
 * exited (see qemu.ts): the project's QEMU for `target` behind a proxy. The script lives in a
 * scratch dir of the current test, so the plugin's API probe, cached by binary path, is that
 * QEMU's own.
 */
export async function heldContQemu(target: QemuTarget = 'arm'): Promise<string> {
  const real = findExecutable(qemuBinary(target));
  if (!real) throw new Error(`${qemuBinary(target)} not found`);
  const tsx = fileURLToPath(import.meta.resolve('tsx/esm'));
  const script = join(await scratchDir('qf-held-cont-'), `qemu-system-${target}`);
  await writeFile(script, `#!/bin/sh\nexec '${process.execPath}' --import '${tsx}' '${program}' '${real}' ${REAP_DELAY_MS} "$@"\n`);
  await chmod(script, 0o755);
  return script;
}
