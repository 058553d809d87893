// Power loss at every write of `nvm_journal` (two slots and a commit word): no cut corrupts it.
//
//   pnpm exec qemu-fault campaign examples/campaigns/nvm-journal.campaign.ts
import { nvmPowerLossCampaign } from './nvm-power-loss.js';

export default nvmPowerLossCampaign('nvm_journal');
