// On faultdemo (SysTick interrupts, WFI): every pc-trigger freeze (keep triggers on every
// instruction of a few functions) must have the registers of an instruction-count freeze at the
// same count (the singlestep mechanism, checked against gdb in exactness.mts).
import { fileURLToPath } from 'node:url';
import { readElf } from '../../src/elf/elf-file.js';
import { hex, start } from './common.mjs';

const elfPath = fileURLToPath(new URL('../../../../examples/firmware/build/mps2-an385/faultdemo.elf', import.meta.url));
const elf = await readElf(elfPath);
const names = (process.argv[2] ?? 'sensor_read,sensor_process,SysTick_Handler,check_pin,busy_work').split(',');

// instruction starts from the disassembly-free way: arm every even address in the function, keep
const pcs = names
  .flatMap((n) => {
    const s = elf.symbol(n);
    return Array.from({ length: Math.max(1, s.size / 2) }, (_, i) => s.address + 2 * i);
  })
  .slice(0, 60);

const a = await start({ elf: elfPath, timeoutMs: 120_000 });
await a.ch!.nextHit(5000);
for (const [i, pc] of pcs.entries()) await a.ch!.armPc(`p${i}`, pc, 0, { keep: true });
await a.ch!.resume();
const seen: { count: bigint; pc: number; regs: number[] }[] = [];
const done = a.exited.then(() => undefined);
for (;;) {
  const hit = await Promise.race([a.ch!.nextHit().catch(() => undefined), done]);
  if (!hit) break;
  const r = await a.ch!.registers();
  seen.push({ count: hit.count, pc: hit.pc, regs: [...r.r, r.xpsr] });
  if (seen.length >= 3000) {
    await a.kill();
    break;
  }
  await a.ch!.resume();
}
console.log(`${seen.length} pc freezes`);

const b = await start({ elf: elfPath, timeoutMs: 120_000 });
await b.ch!.nextHit(5000);
let bad = 0;
for (const s of seen) {
  await b.ch!.armInsn('i', s.count);
  await b.ch!.resume();
  const hit = await b.ch!.nextHit(10_000);
  const r = await b.ch!.registers();
  const regs = [...r.r, r.xpsr];
  if (hit.pc !== s.pc || regs.some((v, i) => v !== s.regs[i])) {
    if (bad++ < 5)
      console.log(
        `  mismatch at ${s.count}: insn ${hex(hit.pc)} ${regs.map(hex).join(' ')} vs pc ${hex(s.pc)} ${s.regs.map(hex).join(' ')}`,
      );
  }
}
await b.kill();
console.log(`${seen.length} compared, ${bad} mismatches`);
