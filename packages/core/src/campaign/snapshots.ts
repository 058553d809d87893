/**
 * VM snapshots for a campaign: HMP `savevm`/`loadvm` into a scratch qcow2 image attached with
 * `-drive if=none`, and the errors that say what went wrong (a full disk, a board that cannot
 * restore its devices).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, SnapshotError, UnsupportedError } from '../errors.js';
import type { LaunchedQemu } from '../launched/launched-qemu.js';

/**
 * The `-drive` argument attaching a snapshot image (QEMU splits options at commas). `cache=unsafe`
 * because every VM stop flushes the drives: with a flush per fault (an fdatasync of the image,
 * ~2 ms here) the stop cost as much as the rest of a fault run, and these images are scratch.
 */
export function snapshotDriveArgs(image: string): string[] {
  if (image.includes(',')) throw new InvalidArgumentError(`snapshot image path must not contain commas: ${image}`);
  return ['-drive', `if=none,id=qfsnapdrv,node-name=qfsnap,format=qcow2,cache=unsafe,file=${image}`];
}

/** Saves the (stopped) VM as snapshot `tag` into `image`. */
export async function saveSnapshot(qemu: LaunchedQemu, tag: string, image: string | undefined): Promise<void> {
  await checkRestorable(qemu);
  const out = (await qemu.hmp(`savevm ${tag}`)).trim();
  if (out) throw snapshotError('save', tag, image, out);
}

/** Loads snapshot `tag` (the VM stays stopped). */
export async function loadSnapshot(qemu: LaunchedQemu, tag: string, image: string | undefined): Promise<void> {
  let out: string;
  try {
    out = (await qemu.hmp(`loadvm ${tag}`)).trim();
  } catch (err) {
    // The monitor's socket may close a moment before the process is reaped.
    await Promise.race([qemu.process.exited, sleep(2000)]);
    if (qemu.process.exitInfo === undefined) throw err;
    // Seen on QEMU 7.2's lm3s6965evb: its SD card model asserts while loading any snapshot.
    const why = qemu.process.stderr.text().split('\n').slice(-1)[0] ?? '';
    throw new SnapshotError(
      `loading snapshot '${tag}' killed QEMU (${why}): this board cannot restore snapshots on this QEMU; run the campaign with reuse: 'fresh'`,
      { cause: err },
    );
  }
  if (out) throw snapshotError('load', tag, image, out);
}

/**
 * Before QEMU 11 a RISC-V machine's CLINT timer is not restored by `loadvm` (measured on 7.2 and
 * 10.0.2, virt and sifive_e: after a load the guest's timer deadlines are off and every tick comes
 * at once), so a run from a snapshot would not be the run from a fresh boot: refused, not wrong.
 */
async function checkRestorable(qemu: LaunchedQemu): Promise<void> {
  const arch = await qemu.architecture();
  if (!arch.target.startsWith('riscv') || Number(qemu.version.split('.')[0]) >= 11) return;
  throw new UnsupportedError(
    'campaign snapshots',
    `on ${arch.title}, QEMU ${qemu.version} does not restore the CLINT timer from a snapshot (QEMU 11 does); run the campaign with reuse: 'fresh'`,
  );
}

function snapshotError(verb: 'save' | 'load', tag: string, image: string | undefined, message: string): SnapshotError {
  // QEMU reports a write that does not fit as "Input/output error" as often as ENOSPC or EFBIG.
  const full = /No space left|File too large|Disk quota|Input\/output error|ENOSPC|EFBIG|EIO/i.test(message);
  const hint = full
    ? ' — out of disk space? The disk holding the snapshot images may be full: free space, or point `snapshotDir` at a larger disk'
    : '';
  return new SnapshotError(
    `could not ${verb} snapshot '${tag}'${image ? ` (${image})` : ''}: ${message.replace(/^Error:\s*/i, '')}${hint}`,
  );
}
