// `qemu-fault campaign` end to end: a JSON config with every outcome class, the progress-less CLI
// run, the JSON and HTML reports — the HTML opened in a real headless Chromium, its numbers read
// from the page: the plot, the bit × outcome heatmaps, the source lines, the filters, a sample's
// rates and intervals, the baseline difference.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CampaignResult, OUTCOME_COLOURS, OUTCOMES, type Outcome, writeCampaignReport } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { campaignCommand } from '../../packages/core/src/cli/campaign.js';
import { withChromium } from '../support/browser.js';
import { expectNothingLeft } from '../support/campaigns.js';
import { captureOutput } from '../support/cli-output.js';
import { guardFlipRecord } from '../support/fault-records.js';
import { firmware } from '../support/firmware.js';
import { scratchDir } from '../support/scratch.js';

/** One fault per outcome class, in JSON (data only, as a config file without code). */
function allOutcomesConfig(marker: string): object {
  const sym = (symbol: string) => ({ kind: 'symbol', symbol });
  return {
    name: 'all-outcomes',
    machine: 'mps2-an385',
    kernel: firmware(),
    launch: { args: ['-name', marker] },
    space: [
      {
        // guard: detected; calib_offset: silent; scratch: masked; run_ticks: the firmware never finishes (hang).
        targets: [sym('guard'), sym('calib_offset'), sym('scratch'), sym('run_ticks')],
        models: [{ kind: 'bit-flip', bits: [12] }],
        moments: [{ kind: 'time', ns: 5_000_000 }],
      },
      // SP into unmapped memory: the next push faults (crash).
      {
        targets: [{ kind: 'register', register: 'sp' }],
        models: [{ kind: 'bit-flip', bits: [28] }],
        moments: [{ kind: 'time', ns: 5_000_000 }],
      },
    ],
    observe: { memory: ['result'] },
    detect: { exitCodes: [2, 3, 4, 5, 7], serial: ['SAFE STATE'] },
    crash: { exitCodes: [6], at: ['HardFault_Handler'] },
  };
}

describe('qemu-fault campaign', () => {
  it('prints its help, and refuses a missing config and bad options', async () => {
    const help = captureOutput();
    expect(await campaignCommand(['--help'], help.out)).toBe(0);
    expect(help.printed.join('\n')).toMatch(/Usage: qemu-fault campaign <config>/);
    const missing = captureOutput();
    expect(await campaignCommand(['/nonexistent/c.json'], missing.out)).toBe(2);
    expect(missing.errors.join('\n')).toMatch(/campaign config not found/);
    const bad = captureOutput();
    expect(await campaignCommand(['x.json', '--fail-on', 'bad'], bad.out)).toBe(2);
    expect(bad.errors.join('\n')).toMatch(/--fail-on takes outcomes from/);
  });

  it('runs a JSON campaign, writes its reports, and the HTML report renders every outcome class in a browser', {
    timeout: 90_000,
  }, async () => {
    const dir = await scratchDir('qf-cli-');
    const marker = `qf-campaign-cli-${process.pid}`;
    const config = join(dir, 'all.campaign.json');
    await writeFile(config, JSON.stringify(allOutcomesConfig(marker)));
    const outDir = join(dir, 'out');
    const run = captureOutput();
    // --fail-on silent: the unguarded variable is silent, so the command fails (after reporting).
    expect(await campaignCommand([config, '--out', outDir, '--workers', '2', '--quiet', '--fail-on', 'silent'], run.out)).toBe(1);
    expect(run.errors.join('\n')).toMatch(/1 faults are silent \(--fail-on\)/);
    expect(run.printed.join('\n')).toMatch(/campaign 'all-outcomes': 5\/5 faults run/);
    expect(existsSync(join(outDir, 'results.jsonl'))).toBe(true);
    const json = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8')) as {
      records: Array<{ target: string; outcome: Outcome; fault: { action: { bit: number } } }>;
      counts: Record<Outcome, number>;
    };
    expect(Object.fromEntries(json.records.map((r) => [r.target, r.outcome]))).toEqual({
      guard: 'detected',
      calib_offset: 'silent',
      scratch: 'masked',
      run_ticks: 'hang',
      sp: 'crash',
    });
    await expectNothingLeft({ marker });

    await withChromium(async (browser) => {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (request) => void requests.push(request.url()));
      await page.goto(`file://${join(outDir, 'report.html')}`);
      // Self-contained: nothing but the page itself was fetched.
      expect(requests.every((url) => url.startsWith('file://'))).toBe(true);
      expect(await page.title()).toBe('Fault campaign all-outcomes');
      const plot = await page.locator('#plot').boundingBox();
      expect(plot!.width).toBeGreaterThan(200);
      for (const outcome of OUTCOMES.filter((o) => json.counts[o] > 0)) {
        const cells = page.locator(`#plot rect.cell[data-outcome="${outcome}"]`);
        expect(await cells.count(), `the plot shows ${outcome}`).toBeGreaterThan(0);
        expect(await cells.first().getAttribute('fill')).toBe(OUTCOME_COLOURS[outcome]);
        expect((await cells.first().boundingBox())!.width).toBeGreaterThan(0);
      }
      expect(await page.locator('#faults tbody tr').count()).toBe(5);
      // Every row says how to replay its fault.
      const reproduce = page.locator('#faults tbody tr code.reproduce');
      expect(await reproduce.count()).toBe(5);
      expect(await reproduce.first().textContent()).toBe(`qemu-fault campaign ${config} --reproduce 'guard flip bit 12 @ 5ms'`);
      // Per target a bit position × outcome heatmap: the flipped bit holds each target's one fault.
      for (const r of json.records) {
        const cell = page.locator(
          `#heatmaps rect[data-target="${r.target}"][data-bit="${r.fault.action.bit}"][data-outcome="${r.outcome}"]`,
        );
        expect(await cell.getAttribute('data-count'), r.target).toBe('1');
      }
      const counted = (selector: string, key: string) =>
        page.locator(selector).evaluateAll((els, k) => els.reduce((n, el) => n + Number(el.getAttribute(`data-${k}`)), 0), key);
      expect(await counted('#heatmaps rect', 'count')).toBe(5);
      // Per function and source line: the moment's line of every fault, the totals add up.
      expect(await counted('#lines tbody tr', 'total')).toBe(5);
      expect(await page.locator('#lines tbody tr').first().getAttribute('data-line')).toMatch(/\.[chS]:\d+$/);
      expect(await page.locator('#faults tbody tr[data-outcome="hang"] td.where').textContent()).toMatch(/ended in \S+ \S+\.[chS]:\d+/);
      // Outcome filters hide an outcome's faults in the table and the heatmaps.
      await page.locator('input.filter[value="masked"]').uncheck();
      expect(await page.locator('#faults tbody tr:visible').count()).toBe(4);
      expect(await page.locator('#heatmaps rect[data-outcome="masked"]:visible').count()).toBe(0);
      await page.locator('input.filter[value="masked"]').check();
      expect(await page.locator('#faults tbody tr:visible').count()).toBe(5);
      // Sortable by outcome: worst first, then the other way round.
      const firstOutcome = () => page.locator('#faults tbody tr').first().getAttribute('data-outcome');
      await page.locator('#faults th[data-kind="severity"] button').click();
      expect(await firstOutcome()).toBe('silent');
      await page.locator('#faults th[data-kind="severity"] button').click();
      expect(await firstOutcome()).toBe('masked');
      expect((await page.screenshot()).length).toBeGreaterThan(1000);
    });
  });

  it('shows a sample’s rates with their intervals and the difference from a baseline, as the result has them', async () => {
    const outcomes: Outcome[] = ['silent', 'masked', 'detected', 'silent', 'masked', 'masked', 'hang', 'detected'];
    const now = new CampaignResult(
      'now',
      40,
      [],
      outcomes.map((o, i) => guardFlipRecord(i, i, o)),
    );
    now.sampling = { seed: 3, size: 8, population: 40, confidence: 0.9 };
    const before = new CampaignResult(
      'before',
      40,
      [],
      outcomes.map((o, i) => guardFlipRecord(i, i, i < 2 ? 'detected' : o)),
    );
    const comparison = now.compare(before);
    const dir = await scratchDir('qf-report-');
    const html = join(dir, 'report.html');
    await writeCampaignReport(now, { html }, { comparison });
    await withChromium(async (browser) => {
      const page = await browser.newPage();
      await page.goto(`file://${html}`);
      for (const rate of now.rates()) {
        const row = page.locator(`#rates tr[data-outcome="${rate.outcome}"]`);
        expect(Number(await row.getAttribute('data-rate'))).toBe(rate.rate);
        expect(Number(await row.getAttribute('data-low'))).toBe(rate.low);
        expect(Number(await row.getAttribute('data-high'))).toBe(rate.high);
        // What a person reads: the percentages.
        expect(await row.locator('td').nth(3).textContent()).toBe(`${(100 * rate.low).toFixed(1)}% – ${(100 * rate.high).toFixed(1)}%`);
      }
      expect(await page.locator('#sample').textContent()).toMatch(
        /^8 faults drawn of 40 \(sample size 8, seed 3\); Wilson intervals at 90\.0% confidence/,
      );
      // The baseline: fault #0 got worse (detected → silent), #1 better (detected → masked).
      expect(await page.locator('#baseline-counts [data-count="worse"] b').textContent()).toBe('1');
      expect(await page.locator('#baseline-counts [data-count="better"] b').textContent()).toBe('1');
      expect(await page.locator('#baseline-counts [data-count="unchanged"] b').textContent()).toBe('6');
      expect(await page.locator('#baseline tbody tr[data-change="worse"]').getAttribute('data-id')).toBe('guard flip bit 0 @ 5ms');
      // No kernel known (a result built by hand): the report says why there are no source lines.
      expect(await page.locator('#lines-missing').textContent()).toMatch(/does not name its kernel/);
    });
  });
});
