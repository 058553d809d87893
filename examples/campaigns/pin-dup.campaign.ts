// The baseline: the hardened PIN check (`pin_dup`), whose counter flips are all detected.
//
//   pnpm exec qemu-fault campaign examples/campaigns/pin-dup.campaign.ts --out reports/pin-dup
import { pinCounterCampaign } from './pin-counter.js';

export default pinCounterCampaign('pin_dup');
