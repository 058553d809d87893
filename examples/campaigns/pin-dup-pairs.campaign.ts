// Double faults on the duplicated PIN check (`pin_dup`): every single skip of an instruction
// `verify_pin` runs, and pairs of skips — one in the first comparison loop (its mismatch
// recording `movne` and its back-branch, every iteration), one in the second (the same two,
// every iteration, and the status compare after it). The second loop runs only when the first
// skip made the first comparison pass, so its moments are armed in the faulted run.
//
//   pnpm exec qemu-fault campaign examples/campaigns/pin-dup-pairs.campaign.ts
//
// The pc offsets are those of this build (examples/firmware/build/mps2-an385/pin_dup.lst).
import { readElf } from '@qemu-fault/core';
import { atPc, executed, faultSpace, instruction, pairs, skip } from '@qemu-fault/core/campaign';
import { pinKernel, pinSkipCampaign } from './pin-skips.js';

const verifyPin = (await readElf(pinKernel('pin_dup'))).symbol('verify_pin').address;
const LOOP1 = { movne: 0x44, backBranch: 0x48 };
const LOOP2 = { movne: 0x64, backBranch: 0x68, statusCompare: 0x6c };
const iterations = (offset: number) => Array.from({ length: 8 }, (_, i) => atPc(verifyPin + offset, i + 1));

const skips = { targets: [instruction()], models: [skip()] };

export default pinSkipCampaign(
  'pin_dup',
  'pin-dup-pairs',
  faultSpace(
    { ...skips, moments: [executed({ in: 'verify_pin' })] },
    pairs(
      { ...skips, moments: [...iterations(LOOP1.movne), ...iterations(LOOP1.backBranch)] },
      { ...skips, moments: [...iterations(LOOP2.movne), ...iterations(LOOP2.backBranch), atPc(verifyPin + LOOP2.statusCompare)] },
    ),
  ),
);
