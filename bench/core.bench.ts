/**
 * Issue #2's benchmark: the launch→ready→close cycle against a bare spawn + QMP handshake + quit,
 * and each channel's round trip against a raw socket client, measured side by side in one run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '@qemu-fault/core';
import { GdbClient, QmpClient, QtestClient } from '@qemu-fault/core/protocols';
import { firmware } from '../test/support/firmware.js';
import { qemuBinary } from '../test/support/qemus.js';
import { costRatio, type Figure, interleave, median, perCallMicros, type Sample } from './measure.js';
import { bareCycle, RawGdb, RawQmp, RawQtest } from './raw-clients.js';

const MACHINE = ['-M', 'mps2-an385', '-kernel', firmware(), '-S', '-display', 'none', '-nodefaults'];

/**
 * 60 interleaved cycles a side (about 5 s): with 30, two runs' medians and CPU sums (10 ms ticks)
 * disagreed by more than the ±5% the figures must hold to.
 */
export async function benchLaunchCycle(iterations = 60): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-bench-'));
  try {
    let n = 0;
    const samples = await interleave(
      {
        ours: async () => {
          const qemu = await launch({ machine: 'mps2-an385', kernel: firmware() });
          await qemu.close();
        },
        bare: () => bareCycle(qemuBinary(), MACHINE, join(dir, `bare-${n++}.sock`)),
      },
      iterations,
    );
    const [ours, bare] = samples as [Sample, Sample];
    // CPU per cycle (ours: Node and QEMU; bare: the same): what the cycle costs a loaded machine.
    return [
      costRatio('launch→ready→close (all channels) vs bare', median(ours.times), median(bare.times), 'ms', 1.15),
      costRatio('launch→ready→close vs bare, CPU per cycle', ours.cpuMs / iterations, bare.cpuMs / iterations, 'ms', 1.15),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A client of one channel: connects to a socket, does one round trip, disconnects. */
interface Side {
  connect(path: string): Promise<{ op(): Promise<unknown>; close(): unknown }>;
}

/**
 * Our protocol clients against minimal raw ones, on the same sockets of one QEMU (launched as
 * launch() does: -icount, our plugin). QEMU serves one client per socket, so the two sides take
 * turns in short batches, connecting afresh each time: a burst of load elsewhere on this shared
 * machine then hits both alike, and both see the very same QEMU process. 31 rounds (not 15): the
 * median of fewer moved by more than ±5% between two runs.
 */
export async function benchRoundTrips(count = 300, rounds = 31): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-bench-rt-'));
  const [qmpPath, qtestPath, gdbPath] = ['qmp', 'qtest', 'gdb'].map((n) => join(dir, `${n}.sock`)) as [string, string, string];
  const qemu = await launch({
    machine: 'mps2-an385',
    kernel: firmware(),
    channels: { qtest: false, gdb: false, serial: false },
    args: [
      '-qmp',
      `unix:${qmpPath},server=on,wait=off`,
      '-qtest',
      `unix:${qtestPath},server=on,wait=off`,
      '-qtest-log',
      '/dev/null',
      '-gdb',
      `unix:${gdbPath},server=on,wait=off`,
    ],
  });
  const addr = qemu.symbol('scratch');
  const hex = addr.toString(16);
  const pairs: Array<[string, string, Side, Side]> = [
    [
      'QMP query-status',
      qmpPath,
      { connect: async (p) => withOp(await QmpClient.connect(p), (c) => c.execute('query-status')) },
      { connect: async (p) => withOp(await RawQmp.connect(p), (c) => c.execute('query-status')) },
    ],
    [
      'qtest readl',
      qtestPath,
      { connect: async (p) => withOp(await QtestClient.connect(p), (c) => c.readl(addr)) },
      { connect: async (p) => withOp(await RawQtest.connect(p), (c) => c.command(`readl 0x${hex}`)) },
    ],
    [
      'gdbstub m, 4 bytes',
      gdbPath,
      { connect: async (p) => withOp(await GdbClient.connect(p), (c) => c.readMemory(addr, 4)) },
      { connect: async (p) => withOp(await RawGdb.connect(p), (c) => c.request(`m${hex},4`)) },
    ],
  ];
  const figures: Figure[] = [];
  try {
    for (const [title, path, oursSide, rawSide] of pairs) {
      const o: number[] = [];
      const b: number[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const [side, out] of [
          [oursSide, o],
          [rawSide, b],
        ] as const) {
          const client = await side.connect(path);
          out.push(await perCallMicros(client.op, count));
          await client.close();
        }
      }
      figures.push(costRatio(`${title} round trip`, median(o), median(b), 'µs', 1.2));
    }
    return figures;
  } finally {
    await qemu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function withOp<C extends { close(): unknown }>(client: C, op: (c: C) => Promise<unknown>) {
  return { op: () => op(client), close: () => client.close() };
}
