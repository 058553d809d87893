// Power loss on the example firmware: a cut after each write to `nvm` corrupts the in-place
// record at 11 of 14 write points and the journaled one at none, whole or torn; a torn write lands
// only its first bytes; everything but the preserved region is lost (a cold boot follows).
import { atTime, faultSpace, onAccess, powerLoss, runCampaign, symbol } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { nvmPowerLossCampaign } from '../../examples/campaigns/nvm-power-loss.js';
import { exampleCampaign } from '../support/campaigns.js';

/** The outcome, and what the next boot said of its storage, per write point. */
async function cuts(definition: Parameters<typeof runCampaign>[0]) {
  const result = await runCampaign(definition, { workers: 2 });
  return result.records.map((r) => [
    r.moment.replace('write nvm#', ''),
    r.outcome,
    // The serial output runs from the first boot: what counts is what the boot after the cut said.
    /nvm: (ok seq \d|blank|corrupt)/.exec((r.evidence.serial ?? '').split('boot:').at(-1)!)?.[1],
  ]);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('power loss', () => {
  it('shows the write points that corrupt an in-place record, and none with a journal', { timeout: 120_000 }, async () => {
    const inPlace = await cuts(nvmPowerLossCampaign('nvm'));
    expect(inPlace.filter(([, o]) => o === 'detected').map(([k]) => k)).toEqual([...range(1, 6), ...range(9, 13)]);
    expect(inPlace.filter(([, o]) => o === 'detected').every(([, , said]) => said === 'corrupt')).toBe(true);
    expect(inPlace.filter(([, o]) => o === 'masked')).toEqual([
      ['7', 'masked', 'ok seq 1'],
      ['8', 'masked', 'ok seq 1'],
      ['14', 'masked', 'ok seq 2'],
    ]);

    const journal = await cuts(nvmPowerLossCampaign('nvm_journal'));
    expect(journal.map(([, o]) => o)).toEqual(Array(18).fill('masked'));
    expect(journal.map(([, , said]) => said)).toEqual([...Array(8).fill('blank'), ...Array(9).fill('ok seq 1'), 'ok seq 2']);
    const torn = await cuts(nvmPowerLossCampaign('nvm_journal', { tear: 2 }));
    expect(torn.map(([, o]) => o)).toEqual(Array(18).fill('masked'));
    expect(torn.map(([, , said]) => said)).toEqual([...Array(9).fill('blank'), ...Array(9).fill('ok seq 1')]);
  });

  it('lands only the first bytes of a torn write', { timeout: 60_000 }, async () => {
    const crcWrite = (tear?: number) => ({
      ...nvmPowerLossCampaign('nvm'),
      space: faultSpace({
        targets: [symbol('nvm')],
        models: [powerLoss({ preserve: ['nvm'], ...(tear !== undefined ? { tear } : {}) })],
        moments: [onAccess('nvm', { access: 'write', hit: 14 })],
      }),
    });
    // The record's last write (its CRC) whole: valid; torn after 2 bytes: corrupt, its upper half still the old CRC's.
    const [whole] = (await runCampaign(crcWrite(), { workers: 1 })).records;
    const tornResult = await runCampaign(crcWrite(2), { workers: 1 });
    const torn = tornResult.records[0]!;
    expect([whole!.outcome, torn.outcome]).toEqual(['masked', 'detected']);
    expect(torn.action).toBe('power loss, the write torn after 2 bytes');
    // The CRC is the record's 7th word (bytes 24..27, little-endian): its first two bytes are the
    // new CRC's (the golden run's, which wrote it whole), the last two are not.
    const crc = (memory: Record<string, string> | undefined) => memory!['nvm']!.slice(48, 56);
    const golden = crc(tornResult.golden[0]!.evidence.memory);
    expect(crc(torn.evidence.memory).slice(0, 4)).toBe(golden.slice(0, 4));
    expect(crc(torn.evidence.memory).slice(4)).not.toBe(golden.slice(4));
  });

  it('loses everything but the preserved region: the next boot is a cold one', { timeout: 60_000 }, async () => {
    const definition = exampleCampaign({
      space: faultSpace({ targets: [symbol('scratch')], models: [powerLoss()], moments: [atTime(5_000_000)] }),
      observe: { serial: true },
    });
    const [record] = (await runCampaign(definition, { workers: 1 })).records;
    // boot_count lives in .noinit, kept by a reset but not by a power cut.
    expect(record!.evidence.serial).toMatch(/^boot: mps2-an385 faultdemo\nboot_count: 1\n/m);
    expect(record!.evidence.serial).not.toContain('reset cause');
    expect(record!.evidence.end).toBe('exit');
  });
});
