// Random arming/disarming, register and memory writes of unchanged values (each restarts the block),
// watch/pc triggers armed while the guest runs: the run must end exactly as an undisturbed one.
// Usage: npx tsx chaos.mts [seed=1] [runs=5] [plugin args, e.g. pc=step,watch=step]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readElf } from '../../src/elf/elf-file.js';
import type { PluginChannel } from '../../src/plugin/plugin-channel.js';
import { start } from './common.mjs';

const elfPath = fileURLToPath(new URL('../../../../examples/firmware/build/mps2-an385/faultdemo.elf', import.meta.url));
const elf = await readElf(elfPath);
let seed = Number(process.argv[2] ?? 1);
const runs = Number(process.argv[3] ?? 5);
// e.g. pc=step,watch=step
const pluginArgs = Object.fromEntries(
  (process.argv[4] ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 8) % n;
};
const funcs = [...elf.symbols.values()].filter((s) => s.type === 'func' && s.size > 0);
const vars = [...elf.symbols.values()].filter((s) => s.type === 'object' && s.address >= 0x20000000);

async function once(chaos: boolean): Promise<string> {
  const serial = `/tmp/qf-chaos-${process.pid}.txt`;
  const r = await start({ elf: elfPath, serial: `file:${serial}`, timeoutMs: 120_000, plugin: pluginArgs });
  const ch = r.ch as PluginChannel;
  let exitCount = -1n,
    freezes = 0,
    armedRunning = 0;
  ch.on('exit', (c) => (exitCount = c));
  await ch.nextHit(5000);
  let tok = 0;
  const armSome = async (): Promise<void> => {
    const f = funcs[rnd(funcs.length)]!;
    const pc = f.address + 2 * rnd(Math.max(1, f.size / 2));
    const kind = rnd(5);
    if (kind === 3) {
      const { count } = await ch.count();
      await ch.armInsn(`i${tok++}`, count + BigInt(1 + rnd(5000))).catch(() => undefined);
    } else if (kind === 4) {
      const now = await ch.vtime();
      await ch.armVtime(`v${tok++}`, now + BigInt(1 + rnd(2_000_000))).catch(() => undefined);
    } else if (kind < 2) await ch.armPc(`p${tok++}`, pc, rnd(3), { keep: rnd(3) === 0 }).catch(() => undefined);
    else {
      const v = vars[rnd(vars.length)]!;
      await ch.armWatch(`w${tok++}`, (['r', 'w', 'rw'] as const)[rnd(3)]!, v.address, Math.max(1, v.size)).catch(() => undefined);
    }
  };
  if (chaos) for (let i = 0; i < 5; i++) await armSome().catch(() => undefined);
  const done = r.exited.then(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  if (chaos) {
    const tick = (): void => {
      if (ch.frozen === undefined) {
        armedRunning++;
        armSome().catch(() => undefined);
      }
      timer = setTimeout(tick, 1);
    };
    tick();
  }
  await ch.resume();
  for (;;) {
    const hit = await Promise.race([ch.nextHit().catch(() => undefined), done]);
    if (!hit) break;
    freezes++;
    if (chaos) {
      const what = rnd(6);
      if (what === 0) await armSome().catch(() => undefined);
      else if (what === 1) await ch.disarm(`p${rnd(tok + 1)}`).catch(() => 0);
      else if (what === 2) await ch.disarm(`w${rnd(tok + 1)}`).catch(() => 0);
      else if (what === 3 && hit.exact) {
        const regs = await ch.registers();
        const n = rnd(16);
        await ch.setRegister(n, regs.r[n]!);
      } else if (what === 4) {
        const v = vars[rnd(vars.length)]!;
        const b = await ch.readMemory(v.address, Math.max(1, v.size));
        await ch.writeMemory(v.address, b);
      } else if (what === 5 && hit.exact) {
        await ch.setRegister(15, hit.pc); // same pc: restart in place
      }
    }
    await ch.resume().catch(() => undefined);
  }
  clearTimeout(timer);
  const code = await r.exited;
  const out = readFileSync(serial, 'utf8');
  console.log(`${chaos ? 'chaos' : 'quiet'}: exit ${code} count ${exitCount} freezes ${freezes} armed-while-running ${armedRunning}`);
  return `${code} ${exitCount} ${out}`;
}

const ref = await once(false);
let bad = 0;
for (let i = 0; i < runs; i++)
  if ((await once(true)) !== ref) {
    bad++;
    console.log('  DIFFERENT');
  }
console.log(`${runs} chaos runs, ${bad} differ from the quiet run`);
