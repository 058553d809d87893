/**
 * Issue #2's benchmark: the launch→ready→close cycle against a bare spawn + QMP handshake + quit,
 * and each channel's round trip against a raw socket client, measured side by side in one run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '@qemu-fault/core';
import { firmware } from '../test/support/firmware.js';
import { interleave, median, perCallMicros, report } from './measure.js';
import { bareCycle, RawGdb, RawQmp, RawQtest, spareQemu } from './raw-clients.js';

const MACHINE = ['-M', 'mps2-an385', '-kernel', firmware(), '-S', '-display', 'none', '-nodefaults'];

export async function benchLaunchCycle(iterations = 30): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-bench-'));
  try {
    let n = 0;
    const samples = await interleave(
      {
        ours: async () => {
          const qemu = await launch({ machine: 'mps2-an385', kernel: firmware() });
          await qemu.close();
        },
        bare: () => bareCycle(MACHINE, join(dir, `bare-${n++}.sock`)),
      },
      iterations,
    );
    const [ours, bare] = samples.map((s) => median(s.times)) as [number, number];
    report('launch→ready→close (all channels) vs bare', ours, bare, 'ms', '≤ 1.15x');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchRoundTrips(count = 2000): Promise<void> {
  const ours = await launch({ machine: 'mps2-an385', kernel: firmware() });
  // The raw clients talk to a second, bare QEMU whose channels nobody else holds.
  const spare = await spareQemu(MACHINE);
  try {
    const rawQmp = await RawQmp.connect(spare.qmp);
    const rawQtest = await RawQtest.connect(spare.qtest);
    const rawGdb = await RawGdb.connect(spare.gdb);
    const addr = ours.symbol('scratch').toString(16);
    const pairs: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
      ['QMP query-status', () => ours.qmp.execute('query-status'), () => rawQmp.execute('query-status')],
      ['qtest readl (readPhysical)', () => ours.readPhysical(Number.parseInt(addr, 16), 4), () => rawQtest.command(`readl 0x${addr}`)],
      ['gdbstub m, 4 bytes (read)', () => ours.read(Number.parseInt(addr, 16), 4), () => rawGdb.request(`m${addr},4`)],
    ];
    for (const [title, op, baseline] of pairs) {
      const o: number[] = [];
      const b: number[] = [];
      for (let round = 0; round < 3; round++) {
        o.push(await perCallMicros(op, count));
        b.push(await perCallMicros(baseline, count));
      }
      report(`${title} round trip`, median(o), median(b), 'µs', '≤ 1.2x');
    }
    for (const client of [rawQmp, rawQtest, rawGdb]) client.close();
  } finally {
    await ours.close();
    await spare.close();
  }
}
