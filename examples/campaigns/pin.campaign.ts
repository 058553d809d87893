// The same campaign on the PIN check without its counter check (`pin`): against the `pin_dup`
// baseline every counter flip became silent, and the gate names them.
//
//   pnpm exec qemu-fault campaign examples/campaigns/pin.campaign.ts \
//     --baseline reports/pin-dup/results.jsonl --fail-on-new silent,hang
import { pinCounterCampaign } from './pin-counter.js';

export default pinCounterCampaign('pin');
