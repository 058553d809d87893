// Fault campaigns on real QEMU: snapshot runs against fresh boots, determinism, and the guarded
// word of the example firmware.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  atPc,
  atTime,
  bitFlip,
  CampaignAssertionError,
  faultSpace,
  instruction,
  onAccess,
  overwrite,
  registers,
  resolveCampaign,
  runCampaign,
  skip,
  stuckAt,
  symbol,
} from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { QemuSession } from '../../packages/core/src/campaign/qemu-session.js';
import { exampleCampaign, expectNothingLeft } from '../support/campaigns.js';
import { scratchDir } from '../support/scratch.js';

describe('snapshot runs', () => {
  // Three campaigns; its pc flips into device memory run there one instruction at a time, seconds
  // each on QEMU 7.2 and over ten on 10.0 and 11.1 (measured), more on a loaded machine: generous
  // limits, or the wall-clock one would call such a run a hang in one campaign and not another.
  it('equal fresh-boot runs, fault for fault, and give the same table every time', { timeout: 600_000 }, async () => {
    const definition = exampleCampaign({
      space: faultSpace(
        {
          targets: [symbol('guard'), symbol('calib_offset')],
          models: [bitFlip({ bits: [3] }), stuckAt(1, { bits: [9] }), overwrite(0)],
          moments: [atTime(5_000_000), atTime(11_500_000)],
        },
        {
          targets: [...registers('r0', 'sp', 'pc'), instruction()],
          models: [bitFlip({ bits: [2, 20] }), skip()],
          moments: [atTime(7_000_000), atPc('auth_check_branch'), onAccess('sensor_value', { hit: 3 })],
        },
      ),
      budgetNs: 3_000_000,
      runTimeoutMs: 240_000,
    });
    const dir = await scratchDir('qf-snap-');
    const snapshot = await runCampaign(definition, { workers: 2, snapshotDir: dir });
    const again = await runCampaign(definition, { workers: 2, snapshotDir: dir });
    const fresh = await runCampaign(definition, { workers: 2, reuse: 'fresh' });
    expect(snapshot.complete).toBe(true);
    expect(snapshot.records).toHaveLength(33);
    // The comparison means something: different outcomes, and injections at exact guest times.
    expect(new Set(snapshot.records.map((r) => r.outcome)).size).toBeGreaterThanOrEqual(3);
    expect(snapshot.records.filter((r) => r.evidence.injectedAtNs !== undefined).length).toBeGreaterThan(10);
    expect(snapshot.records).toEqual(fresh.records);
    expect(snapshot.golden).toEqual(fresh.golden);
    expect(again.records).toEqual(snapshot.records);
    await expectNothingLeft(definition, dir);
  });

  it('restore the guest time of the snapshot; the plugin’s instruction counter is not restored', async () => {
    const dir = await scratchDir('qf-loadvm-');
    const image = join(dir, 'image.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '1M']);
    const campaign = await resolveCampaign(
      exampleCampaign({
        space: faultSpace({ targets: [symbol('guard')], models: [bitFlip({ bits: [0] })], moments: [atTime(5_000_000)] }),
      }),
    );
    const session = await QemuSession.start(campaign.session, image);
    try {
      await session.qemu.notify(3_000_000, (ctx) => ctx.hold());
      expect(await session.qemu.run()).toMatchObject({ reason: 'held' });
      await session.qemu.stopHeld();
      expect(await session.qemu.now()).toBeGreaterThanOrEqual(3_000_000);
      await session.save('s');
      await session.load('s');
      const snapshotNs = await session.qemu.now();
      const end = { moment: { key: '6ms', kind: 'time' as const, ns: 6_000_000 }, endNs: 9_000_000 };
      const first = await session.execute(end);
      const instructionsBefore = await session.qemu.instructions();
      await session.load('s');
      expect(await session.qemu.now()).toBe(snapshotNs);
      // QEMU's virtual clock is part of the snapshot; the plugin's own count goes on: never use it across a load.
      expect(await session.qemu.instructions()).toBe(instructionsBefore);
      const second = await session.execute(end);
      expect(second).toEqual(first);
      expect(first.momentNs).toBeGreaterThanOrEqual(6_000_000);
    } finally {
      await session.close();
    }
  });
});

describe('the guarded word of the example firmware', () => {
  it('no flip of guard or guard_inv is silent; flips of the unguarded calib_offset are', { timeout: 60_000 }, async () => {
    const definition = exampleCampaign({
      space: faultSpace({
        targets: [symbol('guard'), symbol('guard_inv'), symbol('calib_offset')],
        models: [bitFlip({ bits: [0, 13, 31] })],
        moments: [atTime(5_000_000)],
      }),
      observe: { memory: ['result'], serial: true },
      detect: { exitCodes: [2, 3, 4, 5, 7], serial: ['SAFE STATE'] },
    });
    const result = await runCampaign(definition, { workers: 2 });
    result.assertNoSilent({ target: /^guard/ });
    expect(result.counts({ target: /^guard/ }).detected).toBe(6);
    expect(result.counts({ target: 'calib_offset' }).silent).toBe(3);
    // Without a budget, runs go to the firmware's exit: the printed result is the evidence.
    expect(result.golden[0]!.evidence).toMatchObject({ end: 'exit', exitCode: 0, serial: expect.stringContaining('result: 0x8d6a7738') });
    expect(() => result.assertNoSilent()).toThrow(CampaignAssertionError);
    expect(() => result.assertNoSilent()).toThrow(
      /#6 SILENT calib_offset flip bit 0 @ 5ms: exit code 0 .*|#6 SILENT calib_offset flip bit 0 @ 5ms: result = /,
    );
    await expectNothingLeft(definition);
  });
});
