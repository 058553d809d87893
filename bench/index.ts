/**
 * `pnpm bench`: every benchmark, each measured side by side with its baseline in this one run,
 * printing ratios (no pass/fail: these machines are shared and noisy).
 */

import { benchCampaign } from './campaign.bench.js';
import { benchLaunchCycle, benchRoundTrips } from './core.bench.js';
import { benchDeterminismSoak, benchEmulationSpeed, benchTriggerLatency } from './time.bench.js';
import { benchManyMoments, benchTraceCampaign } from './trace-campaign.bench.js';
import { benchFixture, benchWorkers } from './vitest.bench.js';

console.log('qemu-fault benchmarks (medians; ratio = ours / baseline)\n');
await benchLaunchCycle();
await benchRoundTrips();
await benchEmulationSpeed();
await benchTriggerLatency();
await benchDeterminismSoak();
await benchFixture();
await benchWorkers();
const timeMomentRuns = await benchCampaign();
await benchTraceCampaign(timeMomentRuns);
await benchManyMoments();
