// The reaper script on its own: what it does when its owner's pipe closes, or when it is told to end.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../packages/core/reaper/qemu-fault-reaper.sh', import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child;
}

function dir(name: string): string {
  const path = mkdtempSync(join(tmpdir(), `qf-reaper ${name}(`));
  cleanups.push(() => rmSync(path, { recursive: true, force: true }));
  return path;
}

/** Resolves with the signal that ended `child`, or undefined if it is still running after `ms`. */
async function endedBy(child: ChildProcess, ms = 3000): Promise<string | undefined> {
  if (child.exitCode !== null || child.signalCode !== null) return child.signalCode ?? undefined;
  const timer = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms));
  const exit = once(child, 'exit').then(([, signal]) => (signal as string | null) ?? undefined);
  return Promise.race([exit, timer]);
}

describe('qemu-fault-reaper.sh', () => {
  it('on its pipe closing, kills the announced processes and removes the announced dirs, not those taken back', async () => {
    const [kept, killed] = [sleeper(), sleeper()];
    const [keptDir, removedDir] = [dir('kept'), dir('removed')];
    const reaper = spawn('/bin/sh', [SCRIPT], { stdio: ['pipe', 'ignore', 'pipe'] });
    const exited = once(reaper, 'exit');
    // Lines it must ignore come first: nothing of them may reach a kill or a rm.
    reaper.stdin.write(`garbage\nqemu 12x\nqemu \ndir \n`);
    reaper.stdin.write(`dir ${keptDir}\ndir ${removedDir}\ndone ${keptDir}\n`);
    reaper.stdin.write(`qemu ${kept.pid}\nqemu ${killed.pid}\ngone ${kept.pid}\n`);
    reaper.stdin.end();
    expect(await exited).toEqual([0, null]);
    expect(await endedBy(killed)).toBe('SIGKILL');
    expect(await endedBy(kept, 200)).toBeUndefined();
    expect(existsSync(removedDir)).toBe(false);
    expect(existsSync(keptDir)).toBe(true);
  });

  it('does its job first when it gets SIGTERM, and ignores SIGINT', async () => {
    const victim = sleeper();
    const path = dir('term');
    const reaper = spawn('/bin/sh', [SCRIPT], { stdio: ['pipe', 'ignore', 'pipe'] });
    cleanups.push(() => reaper.kill('SIGKILL'));
    reaper.stdin.write(`dir ${path}\nqemu ${victim.pid}\n`);
    // Let it read the lines before the signals arrive.
    await new Promise((resolve) => setTimeout(resolve, 200));
    reaper.kill('SIGINT');
    expect(await endedBy(reaper, 300)).toBeUndefined();
    expect(existsSync(path)).toBe(true);
    reaper.kill('SIGTERM');
    await once(reaper, 'exit');
    expect(await endedBy(victim)).toBe('SIGKILL');
    expect(existsSync(path)).toBe(false);
  });
});
