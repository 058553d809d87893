import { launch } from '@qemu-fault/core';
import { firmware } from '../test/support/firmware.js';
const q = await launch({ machine: 'mps2-an385', kernel: firmware() });
const plugin = (q as any).channels.plugin;
await q.write(q.symbol('run_ticks'), 0, 4);
await q.write(q.symbol('wdt_enabled'), 0, 4);
const step = Number(process.argv[2] ?? 1_000_000);
const cb = async (ctx: any) => {
  console.log(ctx.timeNs, 'vt', await plugin.vtime(), 'insn', ctx.instructions, 'ticks', await q.read(q.symbol('ticks'), 4), 'cvr', await q.read(0xe000e018, 4), 'pc', ctx.pc.toString(16));
  if (ctx.timeNs < 12 * step) await q.notify(step, cb, { relative: true });
};
await q.notify(step, cb);
console.log(await q.run({ forNs: 13 * step, timeoutMs: 5000 }));
await q.close();
