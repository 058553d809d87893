// Q1/Q2: does a freeze "before instruction N" land on the same pc as N gdb single-steps from reset?
// Firmware `mixed` has mid-block MMIO reads/writes, SVCs and faulting loads, no interrupts.
import { fw, hex, Rsp, start } from './common.mjs';

const elf = fw(process.argv[2] ?? 'mixed');
const step = Number(process.argv[3] ?? 1); // check every `step`-th instruction

// Ground truth: pc after k gdb single-steps from reset.
const gdbPath = `/tmp/qf-gdb-${process.pid}.sock`;
const ref = await start({ elf, plugin: false, extra: ['-S', '-gdb', `unix:${gdbPath},server=on,wait=off`] });
const rsp = await Rsp.connect(gdbPath);
await rsp.send('?');
const truth: number[] = [];
const truthRegs: number[][] = [];
const t0 = performance.now();
for (let k = 0; ; k++) {
  const r = await rsp.regs();
  truthRegs.push(r);
  truth.push(r[15]!);
  const stop = await rsp.send('vCont;s');
  if (!stop.startsWith('T') && !stop.startsWith('S')) break; // W/X: exited
  if (k > 200_000) break;
}
const stepUs = ((performance.now() - t0) * 1000) / truth.length;
rsp.close();
await ref.kill();
console.log(`gdb: ${truth.length} steps to exit, ${stepUs.toFixed(0)} us per step+pc read`);

for (const precise of ['flush', 'singlestep']) {
  const run = await start({ elf, plugin: { precise } });
  const ch = run.ch!;
  await ch.nextHit(5000); // start freeze at 0
  let n = step;
  let bad = 0,
    checked = 0,
    exact = 0,
    regBad = 0,
    stale = 0,
    staleGpr = 0;
  const t1 = performance.now();
  await ch.armInsn('t', n);
  let exitCount = -1n;
  ch.on('exit', (c) => (exitCount = c));
  await ch.resume();
  while (n < truth.length - 1) {
    const hit = await ch.nextHit(10_000);
    checked++;
    if (!hit.exact && process.env['STALE']) {
      // Read env anyway (the plugin is told to trust us): how stale is it mid-block?
      const regs = await ch.registers({ vmStopped: true });
      const want = truthRegs[n]!;
      if (regs.r.some((v, i) => v !== want[i])) stale++;
      if (regs.r.slice(0, 15).some((v, i) => v !== want[i])) staleGpr++;
    }
    if (hit.exact) {
      exact++;
      const regs = await ch.registers();
      const want = truthRegs[n]!;
      if (regs.r.some((v, i) => v !== want[i]) && regBad++ < 3)
        console.log(`  register mismatch at ${n}: ${regs.r.map(hex).join(' ')} vs gdb ${want.map(hex).join(' ')}`);
    }
    if (hit.count !== BigInt(n) || hit.pc !== truth[n]) {
      if (bad++ < 5) console.log(`  mismatch at ${n}: plugin count ${hit.count} pc ${hex(hit.pc)} vs gdb pc ${hex(truth[n]!)}`);
    }
    n += step;
    if (n < truth.length - 1) await ch.armInsn('t', n);
    await ch.resume();
  }
  await run.exited;
  const us = ((performance.now() - t1) * 1000) / checked;
  console.log(
    `precise=${precise}: ${checked} freezes checked, ${bad} pc mismatches, ${exact} with exact registers (${regBad} differ from gdb); ` +
      `plugin count at exit ${exitCount}; ${us.toFixed(0)} us per freeze+arm+resume cycle` +
      (stale || staleGpr ? `; env stale at ${stale} freezes (r0-r14 stale at ${staleGpr})` : ''),
  );
}
