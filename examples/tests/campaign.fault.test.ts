// A fault campaign as an ordinary test: every single-bit flip of the guarded word, at two moments,
// each run from a snapshot and compared with the golden run. The assertion fails with a table of
// outcomes and the worst faults by name. The reports land in examples/reports/campaign-guard/.
import { fileURLToPath } from 'node:url';
import { runCampaign, writeCampaignReport } from '@qemu-fault/core/campaign';
import { expect, test } from '@qemu-fault/vitest';
import guard from '../campaigns/guard.campaign.js';

const reports = (file: string) => fileURLToPath(new URL(`../reports/campaign-guard/${file}`, import.meta.url));

test('no single-bit flip of the guarded word goes unnoticed', { timeout: 120_000 }, async () => {
  const result = await runCampaign(guard, { workers: 2, resultsFile: reports('results.jsonl'), resume: false });
  await writeCampaignReport(result, { json: reports('results.json'), html: reports('report.html') });

  // Throws a CampaignAssertionError listing the silent faults, if there are any.
  result.assertNoSilent({ target: /^guard/ });
  expect(result.counts({ target: /^guard/ }).detected).toBe(128);
  // The deliberately unguarded variable is where faults go unnoticed: the report shows them in red.
  expect(result.counts({ target: 'calib_offset' }).silent).toBe(64);
});
