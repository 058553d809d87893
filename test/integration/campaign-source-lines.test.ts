// Source locations: a campaign's records carry the moment's pc, which the kernel's line table
// (through the toolchain's addr2line) turns into function and file:line — on every architecture
// the example firmware is built for — and a machine without addr2line is told what to install.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readElf } from '@qemu-fault/core';
import { CampaignResult, renderHtmlReport, runCampaign, sourceLines } from '@qemu-fault/core/campaign';
import { afterEach, describe, expect, it } from 'vitest';
import { pinCounterCampaign } from '../../examples/campaigns/pin-counter.js';

const source = fileURLToPath(new URL('../../examples/firmware/common/pin.c', import.meta.url));
const elfOf = (board: string) => fileURLToPath(new URL(`../../examples/firmware/build/${board}/pin.elf`, import.meta.url));

/** The lines of verify_pin's definition in pin.c: its signature to its closing brace. */
function verifyPinLines(): [number, number] {
  const lines = readFileSync(source, 'utf8').split('\n');
  const first = lines.findIndex((l) => /uint32_t verify_pin\(/.test(l)) + 1;
  const last = lines.findIndex((l, i) => i >= first && l === '}') + 1;
  return [first, last];
}

const path = process.env['PATH'];
afterEach(() => {
  process.env['PATH'] = path;
});

describe('source locations', () => {
  it('name the function and line of every record’s moment', { timeout: 60_000 }, async () => {
    const result = await runCampaign(pinCounterCampaign('pin'), { workers: 2 });
    const elf = await readElf(elfOf('mps2-an385'));
    expect(new Set(result.records.map((r) => r.pc))).toEqual(new Set([elf.symbol('verify_pin').address]));
    const lines = await result.sourceLines();
    expect(lines.tool).toMatch(/arm-none-eabi-addr2line$/);
    const at = lines.locations.get(result.records[0]!.pc!)!;
    expect(at.function).toBe('verify_pin');
    const [, file, line] = /^(.*):(\d+)$/.exec(at.line)!;
    expect(file).toBe(source);
    const [first, last] = verifyPinLines();
    expect(Number(line)).toBeGreaterThanOrEqual(first);
    expect(Number(line)).toBeLessThanOrEqual(last);
  });

  it('read the line tables of the RISC-V and AArch64 builds with their own toolchains', async () => {
    for (const [board, tool] of [
      ['riscv32-virt', /riscv64-unknown-elf-addr2line$/],
      ['aarch64-virt', /aarch64-linux-gnu-addr2line$/],
    ] as const) {
      const elf = await readElf(elfOf(board));
      const pc = elf.symbol('verify_pin').address;
      const lines = await sourceLines(elf, [pc]);
      expect(lines.tool, board).toMatch(tool);
      expect(lines.locations.get(pc), board).toMatchObject({ function: 'verify_pin', line: expect.stringMatching(/pin\.c:\d+$/) });
    }
  });

  it('say what to install when no addr2line is there, and the report says so too', async () => {
    const elf = await readElf(elfOf('mps2-an385'));
    process.env['PATH'] = '/nonexistent';
    const lines = await sourceLines(elf, [elf.symbol('verify_pin').address]);
    expect(lines.missing).toMatch(/none of arm-none-eabi-addr2line, .* is on PATH \(Debian: apt install binutils-arm-none-eabi\)/);
    expect(lines.locations.size).toBe(0);
    expect((await sourceLines({ path: elf.path, machine: 'mips' }, [0])).missing).toMatch(/no addr2line known for ELF machine 'mips'/);
    const html = renderHtmlReport(new CampaignResult('x', 0, [], []), { sourceLines: lines });
    expect(html).toContain('<p class="meta" id="lines-missing">No source lines: none of arm-none-eabi-addr2line');
  });
});
