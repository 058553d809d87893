// Power loss at every write to the record of `nvm` (updated in place): 11 of 14 cuts corrupt it.
//
//   pnpm exec qemu-fault campaign examples/campaigns/nvm.campaign.ts
import { nvmPowerLossCampaign } from './nvm-power-loss.js';

export default nvmPowerLossCampaign('nvm');
