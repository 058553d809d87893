// Exact watchpoints: watch all of RAM (rw) on a firmware and check every freeze against a gdb
// single-step trace: the freeze must be before instruction k with gdb's registers at k, and the
// accessing instruction must be instruction k-1 (no exception entry in between on `mixed`'s RAM accesses,
// except the stacking, which QEMU does in a helper and plugins do not see).
// Usage: npx tsx watch-exactness.mts [elf-name=mixed] [watch=replay|step] [kind=rw] [addr=0x20000000] [len=0x400000]
import { fw, hex, Rsp, start } from './common.mjs';

const elf = fw(process.argv[2] ?? 'mixed');
const mode = process.argv[3] ?? 'replay';
const kind = (process.argv[4] ?? 'rw') as 'r' | 'w' | 'rw';
const addr = Number(process.argv[5] ?? 0x20000000);
const len = Number(process.argv[6] ?? 0x400000);

const gdbPath = `/tmp/qf-gdb-${process.pid}.sock`;
const ref = await start({ elf, plugin: false, extra: ['-S', '-gdb', `unix:${gdbPath},server=on,wait=off`] });
const rsp = await Rsp.connect(gdbPath);
await rsp.send('?');
const truthRegs: number[][] = [];
for (let k = 0; ; k++) {
  truthRegs.push(await rsp.regs());
  const stop = await rsp.send('vCont;s');
  if (!stop.startsWith('T') && !stop.startsWith('S')) break;
  if (k > 200_000) break;
}
rsp.close();
await ref.kill();
console.log(`gdb: ${truthRegs.length} steps`);

const run = await start({ elf, plugin: { watch: mode } });
const ch = run.ch!;
await ch.nextHit(5000);
await ch.armWatch('w', kind, addr, len);
await ch.resume();
let hits = 0,
  bad = 0,
  regBad = 0,
  late = 0,
  pcBad = 0;
let exitCount = -1n;
ch.on('exit', (c) => (exitCount = c));
const t0 = performance.now();
for (;;) {
  let hit;
  try {
    hit = await ch.nextHit(5000);
  } catch {
    break;
  }
  hits++;
  const k = Number(hit.count);
  if (hit.watch?.late) late++;
  const want = truthRegs[k];
  if (!want || hit.pc !== want[15]) {
    if (bad++ < 5) console.log(`  mismatch: freeze at ${k} pc ${hex(hit.pc)}, gdb pc ${want ? hex(want[15]!) : '-'}`);
  } else {
    const regs = await ch.registers();
    if (regs.r.some((v, i) => v !== want[i]) && regBad++ < 3)
      console.log(`  register mismatch at ${k}: ${regs.r.map(hex).join(' ')} vs gdb ${want.map(hex).join(' ')}`);
    if (hit.watch && truthRegs[k - 1]![15] !== hit.watch.pc && pcBad++ < 5)
      console.log(`  accessing pc ${hex(hit.watch.pc)} at ${k} is not instruction ${k - 1} (${hex(truthRegs[k - 1]![15]!)})`);
  }
  await ch.resume();
}
await run.exited;
console.log(
  `watch=${mode} ${kind} ${hex(addr)}+${hex(len)}: ${hits} freezes, ${bad} pc mismatches, ${regBad} register mismatches, ` +
    `${pcBad} accessing-pc mismatches, ${late} late; plugin count at exit ${exitCount} (gdb ${truthRegs.length}); ` +
    `${(((performance.now() - t0) * 1000) / hits).toFixed(0)} us per freeze`,
);
