import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The owner's side of `reaper/qemu-fault-reaper.sh` (read it for the why): a helper process,
 * started once per Node process on first use, that kills this process's QEMUs and removes its
 * private temp dirs when this process ends in a way no handler of ours sees (SIGKILL, a signal
 * Node dies of). Everything is best effort: if the reaper cannot be started, the in-process
 * clean-up (close(), setpriv/plugin, the private dir's exit handler) still covers the ordinary ends.
 */

// Same relative place from src/launch/ and dist/launch/.
const SCRIPT = fileURLToPath(new URL('../../reaper/qemu-fault-reaper.sh', import.meta.url));

let reaper: ChildProcess | null | undefined;

function start(): ChildProcess | null {
  if (!existsSync(SCRIPT)) return null;
  try {
    const child = spawn('/bin/sh', [SCRIPT], {
      // Its own session: a terminal's Ctrl-C goes to our process group, and must not reach it.
      detached: true,
      // Only stdin: holding our stdout/stderr would keep whoever reads them waiting for EOF after we end.
      stdio: ['pipe', 'ignore', 'ignore'],
      // Nothing of ours must follow it; PATH only, for the `sleep` and `rm` of its last moments.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    child.on('error', () => (reaper = null));
    child.stdin!.on('error', () => (reaper = null));
    // Neither the process nor the pipe may keep our event loop alive.
    child.unref();
    (child.stdin as unknown as { unref(): void }).unref();
    return child;
  } catch {
    return null;
  }
}

/** One line of the reaper's protocol: what, and which pid or path (never with a line break in it). */
function send(what: 'dir' | 'done' | 'qemu' | 'gone', subject: string | number): void {
  if (typeof subject === 'string' && subject.includes('\n')) return;
  if (reaper === undefined) reaper = start();
  // libuv writes to an idle pipe at once, so the line is in the kernel before this returns.
  reaper?.stdin?.write(`${what} ${subject}\n`);
}

/** Announces a private dir *before* creating it: removed if this process ends without {@link releaseDir}. */
export function guardDir(path: string): void {
  send('dir', path);
}

/** The dir is removed (or was never created): the reaper forgets it. */
export function releaseDir(path: string): void {
  send('done', path);
}

/** Announces a QEMU process: killed if this process ends while it runs. */
export function guardProcess(pid: number): void {
  send('qemu', pid);
}

/** The QEMU process has exited: the reaper forgets it. */
export function releaseProcess(pid: number): void {
  send('gone', pid);
}

/** The reaper's pid, for tests; undefined before the first launch or when it could not start. */
export function reaperPid(): number | undefined {
  return reaper?.pid;
}
