/**
 * Research: are the plugin's freezes exact? For every instruction a firmware executes (up to
 * `--steps`), the registers the plugin reports at a freeze there are compared with what gdb reports
 * after single-stepping as far on a QEMU of the same version without the plugin.
 *
 *   pnpm research exactness --machine mps2-an385 --kernel examples/firmware/build/mps2-an385/pin.elf
 *     [--qemu BIN_DIR] [--mode insn|pc|pc-fresh] [--steps 2000] [--samples 100] [--internals none]
 *
 * `insn` freezes before instruction k for k = 1, 2, ... (arm-insn, each armed at the freeze before);
 * `pc` freezes at the pc gdb saw at step k, armed at the freeze before (the block is split there);
 * `pc-fresh` takes `--samples` steps spread over the trace and freezes at each from a fresh boot,
 * at the pc's hit count up to that step (arm-pc with a skip), as fault campaigns do. The firmware must not depend on
 * timer interrupts: gdb's stops warp the virtual clock (DESIGN.md, Q3), so a timer-driven firmware
 * takes another path under gdb. Backs DESIGN.md's Q1, Q4 and Q6 on every QEMU and architecture.
 */
import { readElf } from '../packages/core/src/elf/elf-file.js';
import type { PluginChannel } from '../packages/core/src/plugin/plugin-channel.js';
import { option, parseArgs } from './args.js';
import { type QemuUnderStudy, startGdbQemu, startPluginQemu } from './qemu.js';

interface Step {
  pc: bigint;
  /** regnum -> value, for the registers both sides know */
  regs: Map<number, bigint>;
}

async function truth(q: QemuUnderStudy, steps: number): Promise<Step[]> {
  const { gdb, stop } = await startGdbQemu(q);
  try {
    const read = async (): Promise<Step> => {
      const all = await gdb.readRegisters(); // the `g` packet: what the stub sends for it (the core features)
      const regs = new Map(
        (await gdb.registers()).filter((r) => all[r.name] !== undefined).map((r) => [r.regnum, BigInt(all[r.name]!)] as const),
      );
      return { pc: BigInt(all['pc']!), regs };
    };
    const trace: Step[] = [await read()];
    for (let k = 1; k <= steps; k++) {
      await gdb.step();
      trace.push(await read());
    }
    return trace;
  } finally {
    await stop();
  }
}

function compare(k: number, want: Step, got: Map<number, bigint>): string[] {
  const diffs: string[] = [];
  for (const [regnum, value] of got) {
    const expected = want.regs.get(regnum);
    if (expected !== undefined && expected !== value)
      diffs.push(`step ${k}: reg ${regnum} = 0x${value.toString(16)}, gdb 0x${expected.toString(16)}`);
  }
  return diffs;
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
  const steps = Number(option(args, 'steps', '2000'));
  const mode = option(args, 'mode', 'insn');
  const trace = await truth(q, steps);
  const internals = args.get('internals');
  const pluginArgs: Record<string, string> = internals ? { internals } : {};
  const diffs: string[] = [];
  const check = async (ch: PluginChannel, k: number): Promise<void> => {
    const want = trace[k]!;
    const hit = await ch.nextHit(10_000);
    if (hit.pc !== want.pc) diffs.push(`step ${k}: froze at 0x${hit.pc.toString(16)}, gdb at 0x${want.pc.toString(16)}`);
    diffs.push(...compare(k, want, await ch.registers(hit.cpu)));
  };
  if (mode === 'pc-fresh') {
    const samples = Number(option(args, 'samples', '100'));
    for (let i = 1; i <= samples && diffs.length <= 20; i++) {
      const k = Math.max(1, Math.round((i * steps) / samples));
      const { ch, stop } = await startPluginQemu(q, pluginArgs);
      try {
        const pc = trace[k]!.pc;
        await ch.armPc('k', pc, trace.slice(0, k).filter((s) => s.pc === pc).length);
        await ch.resume();
        await check(ch, k);
      } finally {
        await stop();
      }
    }
  } else {
    const { ch, stop } = await startPluginQemu(q, pluginArgs);
    try {
      for (let k = 1; k <= steps && diffs.length <= 20; k++) {
        if (mode === 'pc') await ch.armPc(`k${k}`, trace[k]!.pc);
        else await ch.armInsn(`k${k}`, k);
        await ch.resume();
        await check(ch, k);
      }
    } finally {
      await stop();
    }
  }
  console.log(
    `${q.machine} ${q.kernel} (${mode}, ${steps} steps): ${diffs.length ? `${diffs.length} differences` : 'every freeze equals gdb'}`,
  );
  for (const d of diffs.slice(0, 20)) console.log(`  ${d}`);
  process.exitCode = diffs.length ? 1 : 0;
}

await main();
