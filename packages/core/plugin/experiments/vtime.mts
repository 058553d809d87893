// Q3: instruction time vs QEMU_CLOCK_VIRTUAL on a SysTick+WFI firmware, and freezes at an exact
// virtual time through the plugin's QEMU_CLOCK_VIRTUAL timer (arm-vtime).
import { fw, hex, Qmp, start } from './common.mjs';

const TICKS = 0x20000000;
const WORK = 0x2000000c;

async function session(elf: string, icount: string, precise = 'auto') {
  const qmpPath = `/tmp/qf-qmp-${process.pid}-${Math.random().toString(16).slice(2, 8)}.sock`;
  const run = await start({ elf, icount, plugin: { precise }, extra: ['-qmp', `unix:${qmpPath},server=on,wait=off`] });
  const qmp = await Qmp.connect(qmpPath);
  await run.ch!.nextHit(); // frozen before instruction 0
  return { run, ch: run.ch!, qmp };
}

if (!process.env['IDLE_ONLY']) {
  // 1. What an instruction count means on a SysTick + WFI firmware.
  const { run, ch, qmp } = await session(fw('tick-forever'), 'shift=0,sleep=off');
  for (const n of [200_000n, 1_000_000n]) {
    await ch.armInsn('n', n);
    await ch.resume();
    const hit = await ch.nextHit(30_000);
    console.log(
      `instruction ${hit.count} (pc ${hex(hit.pc)}): guest ticks=${await qmp.readWord(TICKS)}, ` +
        `QEMU_CLOCK_VIRTUAL as read from outside while frozen mid-slice: ${await ch.vtime()} ns`,
    );
  }
  await run.kill();
}

// 2. Freezes at virtual times. Running guest (loop) and idle guest (tick), several icount settings.
async function vtimes(elf: string, icount: string, targets: bigint[], precise = 'auto'): Promise<string[]> {
  const { run, ch, qmp } = await session(elf, icount, precise);
  const rows: string[] = [];
  for (const t of targets) {
    await ch.armVtime('v', t);
    await ch.resume();
    const hit = await ch.nextHit(30_000);
    const now = await ch.vtime();
    const regs = await ch.registers();
    rows.push(
      `T=${t}: timer ran at ${hit.vtimeNs} (${hit.vtimeThread}), froze before insn ${hit.count} pc=${hex(hit.pc)} ` +
        `(regs pc ${hex(regs.r[15]!)}), clock now ${now}, ticks=${await qmp.readWord(TICKS)} work=${hex(await qmp.readWord(WORK))}`,
    );
  }
  // then: where is the guest 20000 instructions later? (non-intrusiveness check)
  const c = (await ch.count()).count;
  await ch.armInsn('end', c + 20_000n);
  await ch.resume();
  const end = await ch.nextHit(30_000);
  rows.push(`+20000 insns: insn ${end.count} pc=${hex(end.pc)} ticks=${await qmp.readWord(TICKS)} work=${hex(await qmp.readWord(WORK))}`);
  await run.kill();
  return rows;
}

const runT = [123_457n, 150_000n, 150_001n, 600_000n];
if (!process.env['IDLE_ONLY'])
  for (const [icount, precise] of [
    ['shift=0,sleep=off', 'singlestep'],
    ['shift=0,sleep=off', 'flush'],
    ['shift=3,sleep=off', 'singlestep'],
  ] as const)
    console.log(
      `loop (always running), -icount ${icount}, precise=${precise}:\n  ${(await vtimes(fw('loop'), icount, runT, precise)).join('\n  ')}`,
    );

const idleT = [5_500_000n, 9_000_100n, 12_345_678n, 1_000_000_000n];
for (const icount of ['shift=0,sleep=off', 'shift=0,sleep=off', 'shift=0,sleep=on', 'shift=0,sleep=on'])
  console.log(`tick (SysTick + WFI), -icount ${icount}:\n  ${(await vtimes(fw('tick-forever'), icount, idleT)).join('\n  ')}`);
// reference without any vtime freeze
{
  const { run, ch, qmp } = await session(fw('tick-forever'), 'shift=0,sleep=off');
  await ch.armInsn('x', 26_284n); // the '+20000 insns' point of the sleep=off runs above
  await ch.resume();
  const h = await ch.nextHit(30_000);
  console.log(
    `reference without vtime freezes: insn ${h.count} pc=${hex(h.pc)} ticks=${await qmp.readWord(TICKS)} work=${hex(await qmp.readWord(WORK))}`,
  );
  await run.kill();
}
