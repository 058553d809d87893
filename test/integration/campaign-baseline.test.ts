// The baseline gate end to end: the example PIN campaign on the hardened build (`pin_dup`) is the
// baseline; on the build without the counter check (`pin`) the gate fails naming every fault that
// became silent, and the report shows the difference. Against itself the gate passes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { campaignCommand } from '../../packages/core/src/cli/campaign.js';
import { captureOutput } from '../support/cli-output.js';
import { scratchDir } from '../support/scratch.js';

const config = (name: string) => fileURLToPath(new URL(`../../examples/campaigns/${name}.campaign.ts`, import.meta.url));

describe('qemu-fault campaign --baseline', () => {
  it('turns red naming the faults a removed check made silent', { timeout: 120_000 }, async () => {
    const dir = await scratchDir('qf-baseline-');
    const before = captureOutput();
    expect(await campaignCommand([config('pin-dup'), '--out', join(dir, 'dup'), '--quiet', '--workers', '2'], before.out)).toBe(0);
    const baseline = join(dir, 'dup', 'results.jsonl');

    // The same build against its own results: nothing got worse.
    const same = captureOutput();
    const sameArgs = [config('pin-dup'), '--out', join(dir, 'dup2'), '--quiet', '--workers', '2'];
    expect(await campaignCommand([...sameArgs, '--baseline', baseline, '--fail-on-new', 'silent,hang'], same.out)).toBe(0);
    expect(same.printed.join('\n')).toMatch(/0 worse, 0 better, 32 unchanged, 0 new, 0 gone/);

    const after = captureOutput();
    const args = [config('pin'), '--out', join(dir, 'pin'), '--quiet', '--workers', '2', '--baseline', baseline];
    expect(await campaignCommand([...args, '--fail-on-new', 'silent,hang'], after.out)).toBe(1);
    const errors = after.errors.join('\n');
    expect(errors).toMatch(/32 faults of campaign 'pin-counter-pin' became silent or hang against baseline 'pin-counter-pin_dup'/);
    for (const bit of [0, 1, 17, 31]) expect(errors).toContain(`pin_tries_left flip bit ${bit} @ pc verify_pin#1: detected → SILENT`);
    // Only outcomes the gate lists fail it.
    expect(await campaignCommand([...args, '--fail-on-new', 'crash'], captureOutput().out)).toBe(0);

    const html = await readFile(join(dir, 'pin', 'report.html'), 'utf8');
    expect(html).toMatch(/<span class="count" data-count="worse">worse <b>32<\/b><\/span>/);
    expect(html.match(/<tr data-change="worse"/g)).toHaveLength(32);
    const json = JSON.parse(await readFile(join(dir, 'pin', 'results.json'), 'utf8')) as { comparison: { changed: unknown[] } };
    expect(json.comparison.changed).toHaveLength(32);
  });

  it('refuses --fail-on-new without a baseline', async () => {
    const run = captureOutput();
    expect(await campaignCommand([config('pin'), '--fail-on-new', 'silent'], run.out)).toBe(2);
    expect(run.errors.join('\n')).toMatch(/--fail-on-new needs --baseline/);
  });
});
