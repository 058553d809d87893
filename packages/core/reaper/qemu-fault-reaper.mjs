// @ts-check
/**
 * qemu-fault's reaper: the one piece of clean-up that survives its owner.
 *
 * `launch()` starts one reaper per Node process, in its own session (so a terminal's Ctrl-C, sent
 * to the owner's process group, does not reach it), with a pipe from the owner as its stdin. The
 * owner announces on it, one JSON object per line, the QEMU processes it starts (`{"qemu": pid}`)
 * and the private temp dirs it creates (`{"dir": path}`, sent *before* the dir exists), and takes
 * them back when it has cleaned them up itself (`{"gone": pid}`, `{"done": path}`).
 *
 * However the owner ends (normal exit, uncaught error, SIGINT, SIGTERM, or SIGKILL, where none of
 * its own handlers run) the kernel closes the pipe. The reaper then kills the QEMUs still announced
 * (checking each pid's start time first, so a recycled pid is never hit), waits for them to go,
 * removes the dirs, and exits. It is plain JavaScript, outside `src/`, so the same file serves
 * the built package and the sources under test.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** @type {Set<string>} */
const dirs = new Set();
/** @type {Map<number, string | undefined>} pid -> start time when announced */
const qemus = new Map();

/**
 * State (field 3) and start time (field 22, clock ticks since boot) of /proc/PID/stat, or
 * undefined when the process is gone (or there is no /proc).
 */
function stat(/** @type {number} */ pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], start: fields[19] };
  } catch {
    return undefined;
  }
}

/** True while `pid` is still the process announced with start time `started`, and not a zombie. */
function alive(/** @type {number} */ pid, /** @type {string | undefined} */ started) {
  const now = stat(pid);
  return now !== undefined && now.state !== 'Z' && now.start === started;
}

function onLine(/** @type {string} */ line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return; // not from our owner; nothing to do with it
  }
  if (typeof msg.dir === 'string') dirs.add(msg.dir);
  else if (typeof msg.done === 'string') dirs.delete(msg.done);
  else if (Number.isSafeInteger(msg.qemu) && msg.qemu > 0) qemus.set(msg.qemu, stat(msg.qemu)?.start);
  else if (Number.isSafeInteger(msg.gone)) qemus.delete(msg.gone);
}

let reaping = false;
async function reap() {
  if (reaping) return;
  reaping = true;
  for (const [pid, started] of qemus) {
    if (!alive(pid, started)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // QEMU may still hold files in its dir for a moment; removing the dir under it would race.
  const deadline = Date.now() + 3000;
  while ([...qemus].some(([pid, started]) => alive(pid, started)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // nothing else to try; the dir is private (0700) to this user anyway
    }
  }
  process.exit(0);
}

// A terminal's signals are for the owner; the owner's end is what we wait for.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
// Someone ending the reaper itself (e.g. a shutdown): do its job first.
process.on('SIGTERM', () => void reap());
const input = createInterface({ input: process.stdin });
input.on('line', onLine);
input.on('close', () => void reap());
