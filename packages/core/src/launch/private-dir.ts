import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardDir, releaseDir } from './reaper.js';

/** A private (0700) temp dir: one QEMU's sockets, a campaign's snapshot images. */
export interface PrivateDir {
  readonly path: string;
  /** Removes the dir and everything in it. Idempotent. */
  remove(): void;
}

/** Dirs not yet removed: removed on the way out of a process that exits normally with them. */
const live = new Set<string>();
process.once('exit', () => {
  for (const path of live) removeTree(path);
});

/** Where {@link createPrivateDir} makes its dir, and what its name starts with. */
export interface PrivateDirOptions {
  /** Default: the system temp dir. */
  parent?: string;
  /** Default `qemu-fault`. */
  prefix?: string;
}

/**
 * Creates `<prefix>-<pid>-<random>` in `parent`, mode 0700 so no other local user can reach the
 * sockets in it. The reaper learns its path before it exists, so the dir goes even if this
 * process is SIGKILLed a moment later.
 *
 * Synchronous, like {@link PrivateDir.remove}: a mkdir or a few unlinks take microseconds, where a
 * trip through libuv's thread pool costs each launch more CPU than the calls themselves.
 */
export function createPrivateDir(options: PrivateDirOptions = {}): PrivateDir {
  const path = join(options.parent ?? tmpdir(), `${options.prefix ?? 'qemu-fault'}-${process.pid}-${randomBytes(6).toString('hex')}`);
  guardDir(path);
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    releaseDir(path);
    throw err;
  }
  live.add(path);
  return {
    path,
    remove: () => {
      if (!live.delete(path)) return;
      removeTree(path);
      releaseDir(path);
    },
  };
}

/** Removes the dir: its entries are QEMU's sockets, which QEMU may be unlinking itself meanwhile. */
function removeTree(path: string): void {
  try {
    for (const name of readdirSync(path)) {
      try {
        unlinkSync(join(path, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    rmdirSync(path);
  } catch {
    // Something that is not a socket (a dir someone made there): the general way.
    rmSync(path, { recursive: true, force: true });
  }
}
