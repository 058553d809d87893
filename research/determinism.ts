/**
 * Research: do freezes change a run? A firmware runs to its exit undisturbed, then `--runs` times
 * with freezes at pseudo-random instructions where the registers and some memory are read and
 * written back unchanged, and triggers are armed and disarmed. Every run must end at the same
 * instruction count with the same exit: freezing, reading and writing back are invisible.
 *
 *   pnpm research determinism [--machine M --kernel ELF] [--qemu BIN_DIR] [--runs 10] [--freezes 50]
 *
 * Backs DESIGN.md's claims on restarts (Q6) and the campaign's snapshot equality, on any QEMU.
 */
import { readElf } from '../packages/core/src/elf/elf-file.js';
import type { PluginChannel } from '../packages/core/src/plugin/plugin-channel.js';
import { option, parseArgs } from './args.js';
import { type QemuUnderStudy, startPluginQemu } from './qemu.js';

/** A small deterministic generator (xorshift), so a failing run can be repeated by its seed. */
function random(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Runs to QEMU's exit, freezing at `stops` (instruction indexes); returns the instruction count at exit. */
async function run(
  q: QemuUnderStudy,
  stops: readonly bigint[],
  disturb: (ch: PluginChannel, cpu: number) => Promise<void>,
): Promise<bigint> {
  const { ch, stop } = await startPluginQemu(q, {});
  try {
    const exited = new Promise<bigint>((resolve) => ch.on('exit', resolve));
    for (const [i, n] of stops.entries()) await ch.armInsn(`s${i}`, n);
    await ch.resume();
    for (;;) {
      const hit = await Promise.race([ch.nextHit(), exited.then(() => undefined)]).catch(() => undefined);
      if (!hit) break;
      await disturb(ch, hit.cpu);
      await ch.resume();
    }
    return await exited;
  } finally {
    await stop();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const kernel = option(args, 'kernel', 'examples/firmware/build/mps2-an385/faultdemo.elf');
  const elf = await readElf(kernel);
  const q: QemuUnderStudy = {
    machine: option(args, 'machine', 'mps2-an385'),
    kernel,
    qemuDir: args.get('qemu'),
    target: elf.machine,
    bits: elf.bits,
  };
  const runs = Number(option(args, 'runs', '10'));
  const freezes = Number(option(args, 'freezes', '50'));
  const golden = await run(q, [], async () => {});
  const ram = elf.symbols.get('guard')?.address;
  let failures = 0;
  for (let r = 1; r <= runs; r++) {
    const next = random(r);
    const stops = Array.from({ length: freezes }, () => BigInt(Math.floor(next() * Number(golden)))).sort((a, b) => (a < b ? -1 : 1));
    const end = await run(
      q,
      [...new Set(stops)].filter((n) => n > 0n),
      async (ch, cpu) => {
        const regs = await ch.registers(cpu);
        const [gdb, value] = [...regs][Math.floor(next() * regs.size)]!;
        await ch.setRegister(cpu, gdb, value); // unchanged: restarts the block all the same
        if (ram !== undefined) await ch.writeMemory(cpu, ram, await ch.readMemory(cpu, ram, 4));
        await ch.armPc('noise', value & ~3n); // somewhere, maybe code: its blocks are split and restarted
        await ch.disarm('noise');
      },
    );
    const same = end === golden;
    if (!same) failures++;
    console.log(`run ${r} (seed ${r}): ${same ? 'same end' : `ended at instruction ${end}, undisturbed ${golden}`}`);
  }
  console.log(
    `${q.machine} ${kernel}: ${failures ? `${failures} of ${runs} runs differ` : `all ${runs} runs end at instruction ${golden}, as undisturbed`}`,
  );
  process.exitCode = failures ? 1 : 0;
}

await main();
