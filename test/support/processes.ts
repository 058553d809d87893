/**
 * Process checks for tests that end QEMU owners on purpose. Everything is found by a unique
 * marker (QEMU's `-name`) or a pid the owner reported, never by a global pgrep: other tests run
 * QEMUs in parallel.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** True while a process with this pid exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of the processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', '--', marker], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Polls `check` until it holds or `ms` pass; process exits and clean-ups after a kill take a moment. */
export async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** The environment without this Vitest worker's own variables, for a child Vitest or Node. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST'))), ...extra };
}

/** The command line of `pid` as its argv (NUL-separated in /proc). */
export function commandLineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

/** The parent pid of `pid`. */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** A TCP socket a process is listening on, from /proc/net/tcp{,6}. */
export interface ListeningSocket {
  /** Local address as the kernel prints it: hex IP (host byte order for IPv4) and port. */
  ip: string;
  port: number;
  family: 4 | 6;
}

/** The TCP sockets `pid` listens on: its socket inodes matched against the kernel's tables. */
export function tcpListenersOf(pid: number): ListeningSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const found: ListeningSocket[] = [];
  for (const [file, family] of [
    ['tcp', 4],
    ['tcp6', 6],
  ] as const) {
    for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local_address rem_address st ... inode (index 9); st 0A = LISTEN
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9]!)) continue;
      const [ip, port] = cols[1]!.split(':');
      found.push({ ip: ip!, port: Number.parseInt(port!, 16), family });
    }
  }
  return found;
}

/** 127.0.0.1 as /proc/net/tcp prints it (little-endian hex). */
export const LOOPBACK_V4_HEX = '0100007F';
