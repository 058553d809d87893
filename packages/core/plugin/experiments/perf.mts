// Q1 speed and Q5 latency. loop-big: 1e9 instructions of a 5-instruction loop, then semihosting exit.
import { fw, start } from './common.mjs';

const elf = fw('loop-big');
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const pct = (a: number[], p: number): number => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))]!;

async function timed(label: string, plugin: false | Record<string, string>, arm?: bigint[]): Promise<number> {
  const t0 = performance.now();
  const run = await start({ elf, plugin, timeoutMs: 120_000 });
  if (run.ch && arm) {
    await run.ch.nextHit(); // start freeze
    for (const [i, n] of arm.entries()) await run.ch.armInsn(`a${i}`, n);
    await run.ch.resume();
    for (let i = 0; i < arm.length; i++) {
      await run.ch.nextHit(60_000);
      await run.ch.resume();
    }
  }
  await run.exited;
  const s = (performance.now() - t0) / 1000;
  console.log(`${label.padEnd(58)} ${s.toFixed(2)} s`);
  return s;
}

for (let rep = 0; rep < 2; rep++) {
  await timed('no plugin (-icount shift=0,sleep=off)', false);
  await timed('plugin, nothing armed (start=running)', { start: 'running' });
  await timed('plugin flush, 1 target at 9e8', { precise: 'flush' }, [900_000_000n]);
  await timed('plugin singlestep, 1 target at 9e8', { precise: 'singlestep' }, [900_000_000n]);
  const many = Array.from({ length: 60 }, (_, i) => BigInt(i + 1) * 15_000_000n);
  await timed('plugin flush, 60 targets (60 flush pairs)', { precise: 'flush' }, many);
  await timed('plugin singlestep, 60 targets', { precise: 'singlestep' }, many);
}

// Latency: freeze -> JS event, JS resume -> vCPU running. 2000 freezes 1000 instructions apart.
for (const precise of ['flush', 'singlestep']) {
  const run = await start({ elf, plugin: { precise }, timeoutMs: 120_000 });
  const ch = run.ch!;
  await ch.nextHit();
  const toJs: number[] = [],
    toGuest: number[] = [],
    cycle: number[] = [];
  let n = 1000n;
  await ch.armInsn('l', n);
  let resumeSent = process.hrtime.bigint();
  await ch.resume();
  for (let i = 0; i < 2000; i++) {
    const hit = await ch.nextHit(10_000);
    const now = process.hrtime.bigint();
    toJs.push(Number(now - hit.frozenAtNs!) / 1000);
    if (i > 0) toGuest.push(Number(hit.lastWakeNs! - resumeSent) / 1000);
    if (i > 0) cycle.push(Number(now - resumeSent) / 1000);
    n += 1000n;
    await ch.armInsn('l', n);
    resumeSent = process.hrtime.bigint();
    await ch.resume();
  }
  await run.kill();
  console.log(
    `latency precise=${precise}: freeze->JS median ${median(toJs).toFixed(0)} us (p99 ${pct(toJs, 0.99).toFixed(0)}), ` +
      `resume->vCPU median ${median(toGuest).toFixed(0)} us (p99 ${pct(toGuest, 0.99).toFixed(0)}), ` +
      `resume->next hit (1000 insns later) median ${median(cycle).toFixed(0)} us`,
  );
}
