// Freezes must not change what the guest does: faultdemo with many watch/pc freezes (replays,
// restarts) must print the same lines and end at the same instruction count as without them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readElf } from '../../src/elf/elf-file.js';
import { start } from './common.mjs';

const elfPath = fileURLToPath(new URL('../../../../examples/firmware/build/mps2-an385/faultdemo.elf', import.meta.url));
const elf = await readElf(elfPath);

async function run(label: string, arm: (ch: any) => Promise<void>): Promise<void> {
  const serial = `/tmp/qf-det-${process.pid}-${label}.txt`;
  const r = await start({ elf: elfPath, serial: `file:${serial}`, timeoutMs: 120_000 });
  const ch = r.ch!;
  let exitCount = -1n,
    freezes = 0;
  ch.on('exit', (c: bigint) => (exitCount = c));
  ch.on('hit', () => freezes++);
  await ch.nextHit(5000);
  await arm(ch);
  await ch.resume();
  for (;;) {
    try {
      await ch.nextHit(3000);
    } catch {
      break;
    }
    await ch.resume();
  }
  const code = await r.exited;
  const lines = readFileSync(serial, 'utf8').trim().split('\n');
  console.log(`${label.padEnd(28)} exit ${code} count ${exitCount} freezes ${freezes - 1} | ${lines.slice(-2).join(' | ')}`);
}
await run('none', async () => {});
await run('watch rw all RAM', async (ch) => ch.armWatch('w', 'rw', 0x20000000, 0x400000));
await run('watch r sensor_value', async (ch) => ch.armWatch('w', 'r', elf.symbol('sensor_value').address, 4));
await run('pc keep sensor_process', async (ch) => ch.armPc('p', elf.symbol('sensor_process').address, 0, { keep: true }));
await run('pc keep SysTick_Handler', async (ch) => ch.armPc('p', elf.symbol('SysTick_Handler').address, 0, { keep: true }));
