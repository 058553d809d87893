// The retry counter of the example PIN check, flipped bit by bit as `verify_pin` starts. `pin_dup`
// keeps a complemented shadow of the counter and checks it (a mismatch: exit 8, detected); plain
// `pin` has no such check, so the same flips change the printed `tries_left`: silent faults. One
// definition for both builds, so the two results compare fault for fault (see the README's
// "Baseline gate").
import { atPc, bitFlip, type CampaignDefinition, defineCampaign, faultSpace, symbol } from '@qemu-fault/core/campaign';

/** The campaign on `build/mps2-an385/<app>.elf`. */
export function pinCounterCampaign(app: 'pin' | 'pin_dup'): CampaignDefinition {
  return defineCampaign({
    name: `pin-counter-${app}`,
    machine: 'mps2-an385',
    kernel: new URL(`../firmware/build/mps2-an385/${app}.elf`, import.meta.url),
    space: faultSpace({ targets: [symbol('pin_tries_left')], models: [bitFlip()], moments: [atPc('verify_pin')] }),
    observe: { memory: ['pin_tries_left'], serial: true },
    detect: { exitCodes: [8], serial: ['SAFE STATE'] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
  });
}
