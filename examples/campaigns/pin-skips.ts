// Instruction skip campaigns over the example PIN check. `pin_dup` checks everything twice: no
// single skip gets past it, some pairs of skips do.
import { fileURLToPath } from 'node:url';
import { type CampaignDefinition, defineCampaign, type FaultSpaceSpec } from '@qemu-fault/core/campaign';

export type PinApp = 'pin' | 'pin_dup';

/** The firmware ELF of `app`. */
export const pinKernel = (app: PinApp) => fileURLToPath(new URL(`../firmware/build/mps2-an385/${app}.elf`, import.meta.url));

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
