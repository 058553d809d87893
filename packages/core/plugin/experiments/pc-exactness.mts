// Exact pc triggers: for every instruction k of a gdb single-step trace, arm `arm-pc truth[k]` with
// the right skip count and check that the freeze is at instruction k with gdb's registers.
// Usage: npx tsx pc-exactness.mts [elf-name=mixed] [step=1] [pc=split|step]
import { fw, hex, Rsp, start } from './common.mjs';

const elf = fw(process.argv[2] ?? 'mixed');
const step = Number(process.argv[3] ?? 1);
const pcMode = process.argv[4] ?? 'split';

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
const truth = truthRegs.map((r) => r[15]!);
console.log(`gdb: ${truth.length} steps`);

const run = await start({ elf, plugin: { pc: pcMode } });
const ch = run.ch!;
console.log(`hello: pc=${ch.hello.pcTriggers}`);
await ch.nextHit(5000);
let prev = 0,
  bad = 0,
  regBad = 0,
  checked = 0,
  notExact = 0;
const t0 = performance.now();
for (let k = step; k < truth.length - 1; k += step) {
  const pc = truth[k]!;
  let skip = 0;
  for (let j = prev + 1; j < k; j++) if (truth[j] === pc) skip++;
  await ch.armPc('p', pc, skip);
  await ch.resume();
  const hit = await ch.nextHit(10_000);
  checked++;
  if (hit.count !== BigInt(k) || hit.pc !== pc) {
    if (bad++ < 5) console.log(`  mismatch at ${k}: plugin count ${hit.count} pc ${hex(hit.pc)} vs ${hex(pc)}`);
  }
  if (!hit.exact) notExact++;
  else {
    const regs = await ch.registers();
    const want = truthRegs[k]!;
    if (regs.r.some((v, i) => v !== want[i]) && regBad++ < 3)
      console.log(`  register mismatch at ${k}: ${regs.r.map(hex).join(' ')} vs gdb ${want.map(hex).join(' ')}`);
  }
  prev = k;
}
await ch.resume();
await run.exited;
console.log(
  `pc=${pcMode}: ${checked} pc freezes, ${bad} count/pc mismatches, ${notExact} not exact, ${regBad} register mismatches; ` +
    `${(((performance.now() - t0) * 1000) / checked).toFixed(0)} us per arm+resume+freeze+regs`,
);
