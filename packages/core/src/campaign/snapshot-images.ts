/**
 * The scratch files of a campaign's snapshots: a private dir (known to the reaper), the qcow2 image
 * the recording pass saves into, and a copy of it per worker.
 */
import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { SnapshotError } from '../errors.js';
import { createPrivateDir, type PrivateDir } from '../launch/private-dir.js';

const run = promisify(execFile);

/** Creates an empty qcow2 image for snapshots (the vmstate lives outside its virtual size). */
export async function createImage(path: string): Promise<void> {
  try {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1M']);
  } catch (err) {
    const e = err as { stderr?: string; code?: string };
    throw new SnapshotError(
      `cannot create the snapshot image ${path} with qemu-img (package qemu-utils): ${e.stderr?.trim() || e.code || String(err)}`,
      { cause: err },
    );
  }
}

/**
 * A private dir for the snapshot images: in the temp dir, or under `parent`. Either way the reaper
 * knows it, so it goes even if this process is killed.
 */
export function imageDir(parent: string | undefined): PrivateDir {
  if (!parent) return createPrivateDir();
  try {
    return createPrivateDir({ parent, prefix: 'qemu-fault-campaign' });
  } catch (err) {
    throw new SnapshotError(`cannot create a directory for snapshot images in ${parent}: ${(err as Error).message}`, { cause: err });
  }
}

/** Copies the recorded image for each worker (one QEMU may open an image at a time). */
export async function copyImage(from: string, to: string): Promise<void> {
  try {
    await copyFile(from, to);
  } catch (err) {
    const full = (err as NodeJS.ErrnoException).code === 'ENOSPC';
    throw new SnapshotError(
      `cannot copy the snapshot image to ${to}: ${(err as Error).message}${full ? ' — the disk is full; point `snapshotDir` elsewhere' : ''}`,
      { cause: err },
    );
  }
}
