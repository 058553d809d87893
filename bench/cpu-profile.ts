/**
 * Where the CPU goes during a run: samples /proc every few milliseconds for this process and its
 * descendants (Vitest's workers, their QEMUs, setpriv, the reaper) and sums each one's CPU time by
 * kind. A process's last few milliseconds before it exits can be missed; that is all.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 1000 / 100; // USER_HZ, 100 on every Linux build that matters here

interface Seen {
  kind: string;
  /** CPU time so far (user + system), ms. */
  cpuMs: number;
  /** Its vCPU thread's share, for QEMU: the thread named `CPU 0/TCG`. */
  vcpuMs: number;
}

function stat(path: string): { comm: string; cpuMs: number } | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    return { comm, cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
  } catch {
    return undefined;
  }
}

function kindOf(pid: number, comm: string): string {
  if (pid === process.pid) return 'bench + Vitest main';
  if (comm.startsWith('qemu-system')) return 'QEMU';
  if (comm === 'node' || comm.startsWith('node')) return 'Node workers';
  return comm;
}

/** QEMU's vCPU thread time (the TCG thread), from its task list. */
function vcpuMs(pid: number): number {
  try {
    let ms = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = stat(`/proc/${pid}/task/${tid}/stat`);
      if (s?.comm.includes('TCG')) ms += s.cpuMs;
    }
    return ms;
  } catch {
    return 0;
  }
}

/** CPU time by kind of process, ms, plus QEMU's vCPU threads apart. */
export type CpuProfile = Record<string, number>;

/** The children of `pid` (of each of its threads), from `/proc/PID/task/TID/children`. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * Samples until `stop()` is called, then returns the profile. Each sample walks this process's
 * descendants only, and its own CPU time is left out of `bench + Vitest main` (reading every
 * process of `/proc` each 10 ms cost this process about 1 s of CPU in a 5 s run, which the profile
 * then counted as Vitest's).
 */
export function profileCpu(everyMs = 10): { stop(): CpuProfile } {
  const seen = new Map<number, Seen>();
  let samplingMs = 0;
  const sample = () => {
    const started = process.cpuUsage();
    const pending = [process.pid];
    for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
      const s = stat(`/proc/${pid}/stat`);
      if (!s) continue;
      const kind = kindOf(pid, s.comm);
      seen.set(pid, { kind, cpuMs: s.cpuMs, vcpuMs: kind === 'QEMU' ? vcpuMs(pid) : 0 });
      pending.push(...childrenOf(pid));
    }
    const used = process.cpuUsage(started);
    samplingMs += (used.user + used.system) / 1000;
  };
  const before = stat(`/proc/${process.pid}/stat`)?.cpuMs ?? 0;
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const profile: CpuProfile = {};
      for (const [pid, s] of seen) {
        profile[s.kind] = (profile[s.kind] ?? 0) + s.cpuMs - (pid === process.pid ? before + samplingMs : 0);
        if (s.vcpuMs) profile['QEMU vCPU threads'] = (profile['QEMU vCPU threads'] ?? 0) + s.vcpuMs;
      }
      return profile;
    },
  };
}

/** `QEMU 1234 ms (vCPU 800), Node workers 2345 ms, ...`, largest first. */
export function formatProfile(profile: CpuProfile): string {
  return Object.entries(profile)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, ms]) => `${kind} ${ms.toFixed(0)} ms`)
    .join(', ');
}
