// Bad campaigns and faults that go wrong: each ends in a typed error that says what happened (or
// a recorded outcome), with nothing lost from the results file and nothing left running.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  atTime,
  bitFlip,
  CampaignConfigError,
  ClassifierError,
  faultSpace,
  memory,
  overwrite,
  readResultsFile,
  registers,
  runCampaign,
  SnapshotError,
  symbol,
} from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { exampleCampaign, expectNothingLeft } from '../support/campaigns.js';
import { firmware } from '../support/firmware.js';
import { qemuBinary } from '../support/qemus.js';
import { scratchDir } from '../support/scratch.js';

const guardFlips = faultSpace({
  targets: [symbol('guard')],
  models: [bitFlip({ bits: [0, 1, 2, 3, 4, 5, 6, 7] })],
  moments: [atTime(5_000_000)],
});

describe('bad campaigns', () => {
  it('an empty fault space is refused before any QEMU starts', async () => {
    const definition = exampleCampaign({ space: [] });
    await expect(runCampaign(definition)).rejects.toThrow(CampaignConfigError);
    await expect(
      runCampaign(exampleCampaign({ space: faultSpace({ targets: [symbol('guard')], models: [bitFlip()], moments: [] }) })),
    ).rejects.toThrow(/fault space is empty/);
    await expectNothingLeft(definition);
  });

  it('a target outside memory is refused, naming it and the RAM there is', async () => {
    const dir = await scratchDir('qf-badtarget-');
    const definition = exampleCampaign({
      space: faultSpace({ targets: [memory(0x3000_0000, 4, 'nowhere')], models: [bitFlip()], moments: [atTime(5_000_000)] }),
    });
    const error = await runCampaign(definition, { workers: 1, resultsFile: join(dir, 'r.jsonl'), snapshotDir: dir }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(CampaignConfigError);
    expect((error as Error).message).toMatch(
      /target nowhere \(0x30000000..0x30000003\) is outside the guest's memory; RAM\/ROM: .*mps.ssram23/,
    );
    await expectNothingLeft(definition);
  });

  it('a moment after the firmware has exited is refused', async () => {
    const definition = exampleCampaign({
      space: faultSpace({ targets: [symbol('guard')], models: [bitFlip({ bits: [0] })], moments: [atTime(900_000_000)] }),
    });
    await expect(runCampaign(definition, { workers: 1 })).rejects.toThrow(/moment time 900ms is never reached: the golden run exits at/);
    await expectNothingLeft(definition);
  });
});

describe('faults that go wrong', () => {
  it('a classifier that throws stops the campaign with the fault named; what was recorded stays, and a rerun resumes', {
    timeout: 60_000,
  }, async () => {
    const dir = await scratchDir('qf-classifier-');
    const resultsFile = join(dir, 'r.jsonl');
    const definition = exampleCampaign({
      space: guardFlips,
      budgetNs: 1_000_000,
      classify: (_run, { fault, defaultVerdict }) => {
        if (fault.index === 5) throw new Error('cannot decide');
        return defaultVerdict;
      },
    });
    const error = await runCampaign(definition, { workers: 1, resultsFile }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ClassifierError);
    expect((error as Error).message).toBe('the classifier threw on fault guard flip bit 5 @ 5ms: cannot decide');
    const kept = await readResultsFile(resultsFile);
    expect(kept.faults.map((f) => f.index).sort()).toEqual([0, 1, 2, 3, 4]);
    const fixed = await runCampaign({ ...definition, classify: undefined }, { workers: 1, resultsFile });
    expect(fixed.records).toHaveLength(8);
    await expectNothingLeft(definition);
  });

  it('a fault that kills QEMU is a crash, and the campaign goes on with a new QEMU', { timeout: 60_000 }, async () => {
    const definition = exampleCampaign({
      // SP = 0: the exception entry cannot stack, the core locks up, QEMU aborts.
      space: [faultSpace({ targets: registers('sp'), models: [overwrite(0)], moments: [atTime(5_000_000)] })[0]!, guardFlips[0]!],
      budgetNs: 1_000_000,
      // No trap at the fault handler: it would end the run before the lockup.
      crash: { exitCodes: [6] },
    });
    const result = await runCampaign(definition, { workers: 1 });
    expect(result.records[0]).toMatchObject({ outcome: 'crash', evidence: { end: 'qemu-died' } });
    expect(result.records[0]!.reason).toMatch(/QEMU died: SIGABRT/);
    expect(result.records.slice(1).map((r) => r.outcome)).toEqual(Array(8).fill('detected'));
    await expectNothingLeft(definition);
  });
});

describe('snapshots that cannot be taken', () => {
  it('running out of disk for snapshot images is a SnapshotError that says so; the results file keeps its header', async () => {
    const dir = await scratchDir('qf-nodisk-');
    // A QEMU whose files may not grow past 100 KiB: the first snapshot does not fit.
    const qemu = join(dir, 'qemu-small-disk');
    await writeFile(qemu, `#!/bin/bash\ntrap "" XFSZ\nulimit -f 100\nexec ${qemuBinary()} "$@"\n`);
    await chmod(qemu, 0o755);
    const resultsFile = join(dir, 'r.jsonl');
    const definition = exampleCampaign({ space: guardFlips, budgetNs: 1_000_000 });
    definition.launch = { ...definition.launch, qemu };
    const error = await runCampaign(definition, { workers: 1, resultsFile, snapshotDir: dir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as Error).message).toMatch(
      /could not save snapshot 'base' .*worker0\.qcow2.*: (Error while writing VM state|ram_save_setup failed): .* — out of disk space\? The disk holding the snapshot images may be full/,
    );
    expect((await readResultsFile(resultsFile)).header.name).toBe('test');
    await expectNothingLeft(definition);
  });

  it('a board whose snapshots QEMU cannot load says to run without them, and runs so', { timeout: 60_000 }, async () => {
    const definition = exampleCampaign({ kernel: firmware('lm3s6965evb'), machine: 'lm3s6965evb', space: guardFlips, budgetNs: 1_000_000 });
    await expect(runCampaign(definition, { workers: 1 })).rejects.toThrow(
      /killed QEMU .*sd_ocr_powerup.*run the campaign with reuse: 'fresh'/,
    );
    const fresh = await runCampaign(definition, { workers: 2, reuse: 'fresh' });
    expect(fresh.counts().detected).toBe(8);
    await expectNothingLeft(definition);
  });
});
