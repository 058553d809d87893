// Speed cost of armed-but-never-hitting pc triggers and watchpoints (10^9 guest instructions).
// Reports wall time and QEMU's CPU time (user+sys, from /usr/bin/time; robust on a loaded host).
// Usage: npx tsx perf-triggers.mts [reps=3]
import { spawn } from 'node:child_process';
import { buildPlugin } from '../../src/plugin/build-plugin.js';
import { PluginListener } from '../../src/plugin/plugin-channel.js';
import { fw } from './common.mjs';

const reps = Number(process.argv[2] ?? 3);
const built = await buildPlugin(process.env['QF_PLUGIN_SOURCE'] ? { source: process.env['QF_PLUGIN_SOURCE'] } : {});

interface Cfg {
  label: string;
  elf: string;
  plugin?: Record<string, string>;
  arm?: (ch: import('../../src/plugin/plugin-channel.js').PluginChannel) => Promise<void>;
}

async function once(cfg: Cfg): Promise<{ wall: number; cpu: number }> {
  const args = [
    '-f',
    '%U %S',
    'qemu-system-arm',
    '-M',
    'mps2-an385',
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    'none',
    '-kernel',
    fw(cfg.elf),
    '-icount',
    'shift=0,sleep=off',
    '-semihosting-config',
    'enable=on,target=native',
  ];
  let listener: PluginListener | undefined;
  if (cfg.plugin) {
    listener = await PluginListener.create();
    args.push('-plugin', listener.qemuArg(built.path, cfg.plugin));
  }
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  if (listener) {
    const ch = await listener.accept({ abort: exited });
    if (cfg.plugin?.['start'] !== 'running') {
      await ch.nextHit(5000);
      await cfg.arm?.(ch);
      await ch.resume();
    }
  }
  await exited;
  clearTimeout(killer);
  await listener?.close();
  const wall = (performance.now() - t0) / 1000;
  const m = /([\d.]+) ([\d.]+)\s*$/.exec(err.trim());
  if (!m) throw new Error(`no time output: ${err}`);
  return { wall, cpu: Number(m[1]) + Number(m[2]) };
}

const cfgs: Cfg[] = [
  { label: 'loop: no plugin', elf: 'loop-big' },
  { label: 'loop: plugin, nothing armed', elf: 'loop-big', plugin: {} },
  { label: 'loop: pc armed, other page (split)', elf: 'loop-big', plugin: {}, arm: (ch) => ch.armPc('p', 0x2000) },
  { label: 'loop: pc armed, same 1 KiB page (split)', elf: 'loop-big', plugin: {}, arm: (ch) => ch.armPc('p', 0x90) },
  { label: 'loop: pc in the loop, skip 2^50 (split)', elf: 'loop-big', plugin: {}, arm: (ch) => ch.armPc('p', 0xa8, 2 ** 50) },
  { label: 'loop: pc armed (pc=step)', elf: 'loop-big', plugin: { pc: 'step' }, arm: (ch) => ch.armPc('p', 0x2000) },
  {
    label: 'loop: pc in the loop, skip 2^50 (pc=step)',
    elf: 'loop-big',
    plugin: { pc: 'step' },
    arm: (ch) => ch.armPc('p', 0xa8, 2 ** 50),
  },
  { label: 'loop: pc armed (pc=hook, old pc-only)', elf: 'loop-big', plugin: { pc: 'hook' }, arm: (ch) => ch.armPc('p', 0x2000) },
  { label: 'mem loop: no plugin', elf: 'loop-mem' },
  { label: 'mem loop: plugin, nothing armed', elf: 'loop-mem', plugin: {} },
  { label: 'mem loop: watch other address (replay)', elf: 'loop-mem', plugin: {}, arm: (ch) => ch.armWatch('w', 'rw', 0x20100000, 4) },
  {
    label: 'mem loop: watch hit, skipped (replay)',
    elf: 'loop-mem',
    plugin: {},
    arm: (ch) => ch.armWatch('w', 'w', 0x20000008, 4, 2 ** 50),
  },
  {
    label: 'mem loop: watch other address (watch=step)',
    elf: 'loop-mem',
    plugin: { watch: 'step' },
    arm: (ch) => ch.armWatch('w', 'rw', 0x20100000, 4),
  },
];

// QF_PERF_ONLY=substring: run only matching configurations
for (const cfg of cfgs.filter((c) => c.label.includes(process.env['QF_PERF_ONLY'] ?? ''))) {
  const rs: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < reps; i++) rs.push(await once(cfg));
  const cpu = rs.map((r) => r.cpu).sort((a, b) => a - b);
  const wall = rs.map((r) => r.wall).sort((a, b) => a - b);
  console.log(
    `${cfg.label.padEnd(46)} cpu ${cpu.map((x) => x.toFixed(2)).join('/')} s   wall ${wall.map((x) => x.toFixed(2)).join('/')} s`,
  );
}
