// Statistical fault injection: the guard campaign's targets, signals and observations, at five
// moments (480 single-bit flips), of which a reproducible random sample runs — as large as ±5 % at
// 95 % confidence needs (Leveugle et al., DATE 2009: 214 faults) — with each outcome's rate and
// its Wilson interval in the summary and the report. It stops early (checking every 25 faults)
// once the silent rate is known to ±8 %.
//
//   pnpm exec qemu-fault campaign examples/campaigns/guard-sample.campaign.ts
import { bitFlip, defineCampaign, everyNs, faultSpace, symbol } from '@qemu-fault/core/campaign';
import guard from './guard.campaign.js';

export default defineCampaign({
  ...guard,
  name: 'guard-sample',
  space: faultSpace({
    targets: [symbol('guard'), symbol('guard_inv'), symbol('calib_offset')],
    models: [bitFlip()],
    moments: everyNs(2_000_000, 18_000_000, 4_000_000),
  }),
  sample: { margin: 0.05, confidence: 0.95, seed: 7 },
  stopWhen: { outcome: 'silent', margin: 0.08 },
});
