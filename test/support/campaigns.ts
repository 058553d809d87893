import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import type { CampaignDefinition } from '@qemu-fault/core/campaign';
import { expect } from 'vitest';
import { firmware } from './firmware.js';
import { eventually, processesWith } from './processes.js';

/**
 * A campaign on the example firmware (mps2-an385) with its detection and crash signals, every
 * QEMU it starts named by a unique marker so the test can check none is left behind.
 */
export function exampleCampaign(
  overrides: Partial<CampaignDefinition> & Pick<CampaignDefinition, 'space'>,
): CampaignDefinition & { marker: string } {
  const marker = `qf-campaign-test-${randomBytes(4).toString('hex')}`;
  return {
    name: 'test',
    machine: 'mps2-an385',
    kernel: firmware(),
    launch: { args: ['-name', marker] },
    observe: { memory: ['result', 'auth_granted'] },
    detect: { exitCodes: [2, 3, 4, 5, 7], at: ['fault_detected'] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
    ...overrides,
    marker,
  };
}

/** Checks that a campaign left no QEMU (by its marker) and nothing in its snapshot dir. */
export async function expectNothingLeft(definition: { marker: string }, snapshotDir?: string): Promise<void> {
  expect(await eventually(() => processesWith(definition.marker).length === 0), `QEMUs named ${definition.marker} must be gone`).toBe(true);
  if (snapshotDir) expect(await readdir(snapshotDir), 'snapshot images must be removed').toEqual([]);
}
