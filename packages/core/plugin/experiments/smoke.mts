// Smoke test of exact pc triggers, register writes and watchpoints on examples/firmware (faultdemo).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readElf } from '../../src/elf/elf-file.js';
import { hex, start } from './common.mjs';

const elfPath = fileURLToPath(new URL('../../../../examples/firmware/build/mps2-an385/faultdemo.elf', import.meta.url));
const elf = await readElf(elfPath);
const sym = (n: string): number => elf.symbol(n).address;
const out = (name: string): string => `/tmp/qf-smoke-${process.pid}-${name}.txt`;

async function run(name: string, body: (ch: NonNullable<Awaited<ReturnType<typeof start>>['ch']>) => Promise<void>): Promise<void> {
  const serial = out(name);
  const r = await start({ elf: elfPath, serial: `file:${serial}`, timeoutMs: 30_000 });
  const ch = r.ch!;
  console.log(name, JSON.stringify(ch.hello));
  await ch.nextHit(5000);
  await body(ch);
  const code = await r.exited;
  console.log(`${name}: exit ${code}; serial: ${readFileSync(serial, 'utf8').trim().split('\n').join(' | ')}`);
}

await run('skip-branch', async (ch) => {
  await ch.armPc('b', sym('auth_check_branch'));
  await ch.resume();
  const hit = await ch.nextHit(10_000);
  const regs = await ch.registers();
  console.log(`hit ${hit.count} ${hex(hit.pc)} exact=${hit.exact} regs pc=${hex(regs.r[15]!)} r0=${regs.r[0]} r1=${regs.r[1]}`);
  await ch.setRegister(15, hit.pc + 2);
  await ch.resume();
});

await run('r0-at-entry', async (ch) => {
  await ch.armPc('e', sym('check_pin'));
  await ch.resume();
  const hit = await ch.nextHit(10_000);
  const regs = await ch.registers();
  console.log(`hit ${hit.count} ${hex(hit.pc)} exact=${hit.exact} r0=${regs.r[0]}`);
  await ch.setRegister(0, 4711);
  await ch.resume();
});

await run('watch', async (ch) => {
  await ch.armWatch('s', 'w', sym('sensor_value'), 4);
  await ch.resume();
  for (let i = 0; ; i++) {
    let hit;
    try {
      hit = await ch.nextHit(10_000);
    } catch {
      break;
    }
    const regs = await ch.registers();
    console.log(
      `hit ${hit.count} ${hex(hit.pc)} exact=${hit.exact} watch=${JSON.stringify(hit.watch)} regs pc=${hex(regs.r[15]!)} r0=${regs.r[0]}`,
    );
    if (i === 3) await ch.writeWord(sym('sensor_value'), 1000);
    await ch.resume();
  }
});
