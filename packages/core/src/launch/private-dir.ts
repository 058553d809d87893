import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DirectoryResult, setGracefulCleanup, dir as tempDir } from 'tmp-promise';
import { guardDir, releaseDir } from './reaper.js';

// Temp dirs of a process that exits normally (or by a signal Node handles) are removed on the way out.
setGracefulCleanup();

/** A private (0700) temp dir for one QEMU's sockets. */
export interface PrivateDir {
  readonly path: string;
  /** Removes the dir and everything in it. Idempotent. */
  remove(): Promise<void>;
}

/**
 * Creates `qemu-fault-<pid>-<random>` in the system temp dir, mode 0700 so no other local user can
 * reach the sockets in it. The reaper learns its path before it exists, so the dir goes even if
 * this process is SIGKILLed a moment later.
 */
export async function createPrivateDir(): Promise<PrivateDir> {
  const name = `qemu-fault-${process.pid}-${randomBytes(6).toString('hex')}`;
  const path = join(tmpdir(), name);
  guardDir(path);
  let tmp: DirectoryResult;
  try {
    tmp = await tempDir({ name, mode: 0o700, unsafeCleanup: true });
  } catch (err) {
    releaseDir(path);
    throw err;
  }
  let removing: Promise<void> | undefined;
  return {
    path: tmp.path,
    remove: () =>
      (removing ??= tmp.cleanup().then(() => {
        releaseDir(path);
      })),
  };
}
