// Instruction skips over the example PIN check. The moments come from the golden run itself:
// every instruction `verify_pin` executes, as (pc, hit), recorded once with the plugin's trace.
// `pin_dup` checks everything twice: no single skip gets past it, some pairs of skips do.
import { fileURLToPath } from 'node:url';
import { launch } from '@qemu-fault/core';
import { atPc, type CampaignDefinition, defineCampaign, type FaultSpaceSpec, type MomentSpec } from '@qemu-fault/core/campaign';

export type PinApp = 'pin' | 'pin_dup';

/** The firmware ELF of `app`. */
export const pinKernel = (app: PinApp) => fileURLToPath(new URL(`../firmware/build/mps2-an385/${app}.elf`, import.meta.url));

/** A moment before every instruction `symbol` executes in the golden run, in execution order. */
export async function executedMoments(app: PinApp, symbol: string): Promise<MomentSpec[]> {
  const qemu = await launch({ machine: 'mps2-an385', kernel: pinKernel(app) });
  try {
    const recording = await qemu.recordExecution({ in: symbol });
    await qemu.run();
    return (await recording.stop()).map((i) => atPc(i.pc, i.hit));
  } finally {
    await qemu.close();
  }
}

/** A skip campaign on `app` over `space` (exit 9 is `pin: GRANTED`: an exit code the golden run never gives, so silent). */
export function pinSkipCampaign(app: PinApp, name: string, space: FaultSpaceSpec): CampaignDefinition {
  return defineCampaign({
    name,
    machine: 'mps2-an385',
    kernel: pinKernel(app),
    space,
    observe: { memory: ['pin_tries_left'], serial: true },
    detect: { exitCodes: [8], serial: ['SAFE STATE'] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
  });
}
