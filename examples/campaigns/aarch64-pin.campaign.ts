// Every instruction of the PIN check skipped, one at a time, on AArch64 (virt, Cortex-A53): the
// same campaign API as on Cortex-M; moments by pc, skips by the A64's 4-byte instructions, the
// firmware's semihosting exit (`hlt #0xf000`) caught in the ELF so each worker's QEMU survives it.
//
//   pnpm exec qemu-fault campaign examples/campaigns/aarch64-pin.campaign.ts
import { readElf } from '@qemu-fault/core';
import { atPc, defineCampaign, faultSpace, instruction, skip } from '@qemu-fault/core/campaign';

const kernel = new URL('../firmware/build/aarch64-virt/faultdemo.elf', import.meta.url);
const elf = await readElf(kernel.pathname);
const checkPin = elf.symbol('check_pin').address;
/**
 * The instructions check_pin runs with a wrong PIN (build/aarch64-virt/faultdemo.lst): adrp, ldr,
 * cmp, the b.ne at auth_check_branch, then the "denied" path's mov and ret.
 */
const EXECUTED = [0x0, 0x4, 0x8, 0xc, 0x18, 0x1c];

export default {
  ...defineCampaign({
    name: 'aarch64-pin',
    machine: 'virt',
    launch: { cpu: 'cortex-a53' },
    kernel,
    space: faultSpace({
      targets: [instruction()],
      models: [skip()],
      moments: EXECUTED.map((offset) => atPc(checkPin + offset)),
    }),
    observe: { memory: ['auth_granted'], serial: true },
    detect: { exitCodes: [2, 3, 4, 5, 7], serial: ['SAFE STATE'] },
    crash: { exitCodes: [6], at: ['fault_handler'] },
  }),
  /** The branch whose skip grants access. */
  branch: elf.symbol('auth_check_branch').address,
};
