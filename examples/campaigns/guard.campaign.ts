// A fault campaign over the example firmware's guarded word. Every single-bit flip of `guard` or
// `guard_inv` must be detected (the firmware checks guard == ~guard_inv every tick and exits with
// code 2); `calib_offset` is deliberately unguarded, so its flips change the printed result and
// nobody notices: silent faults, which the report shows in red.
//
//   pnpm exec qemu-fault campaign examples/campaigns/guard.campaign.ts
//   pnpm vitest run --project examples examples/tests/campaign.fault.test.ts
import { atTime, bitFlip, defineCampaign, faultSpace, symbol } from '@qemu-fault/core/campaign';

export default defineCampaign({
  name: 'guard',
  machine: 'mps2-an385',
  kernel: new URL('../firmware/build/mps2-an385/faultdemo.elf', import.meta.url),
  space: faultSpace({
    targets: [symbol('guard'), symbol('guard_inv'), symbol('calib_offset')],
    models: [bitFlip()],
    // Two moments of the firmware's life: early in its 20 ticks, and halfway.
    moments: [atTime(5_000_000), atTime(20_000_000)],
  }),
  // No budgetNs: each run lasts until the golden run's exit plus as much again, so the printed
  // result (and a firmware that never finishes, a hang) is part of every comparison.
  observe: { memory: ['result'], serial: true },
  detect: { exitCodes: [2, 3, 4, 5, 7], serial: ['SAFE STATE'] },
  crash: { exitCodes: [6], at: ['HardFault_Handler'] },
});
