/**
 * The plugin's side of its protocol on a real QEMU: every refusal has its class and becomes the
 * right error, bad input never reaches QEMU's state, and QEMU survives anything on the socket.
 */
import type { Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ElfImage, readElf } from '../../../packages/core/src/elf/elf-file.js';
import { InvalidArgumentError, ProtocolError, UnsupportedError } from '../../../packages/core/src/errors.js';
import type { PluginChannel } from '../../../packages/core/src/plugin/plugin-channel.js';
import { firmware, GOLDEN_RESULT } from '../../support/firmware.js';
import { runToEnd, startPluginRun } from '../../support/plugin-run.js';

let elf: ElfImage;
const sym = (name: string): number => elf.symbol(name).address;

beforeAll(async () => {
  elf = await readElf(firmware());
});

/** Sends a raw command line through the channel's own request bookkeeping. */
function raw(ch: PluginChannel, line: string): Promise<string> {
  const [verb = '', ...words] = line.split(' ');
  return (ch as unknown as { command(verb: string, words: string[]): Promise<string> }).command(verb, words);
}

describe('plugin protocol: refusals', () => {
  it('rejects bad addresses, lengths and kinds in Node before sending, and in the plugin with class argument', async () => {
    const run = await startPluginRun();
    const { ch } = run;
    await expect(ch.armPc('p', -1)).rejects.toThrow(InvalidArgumentError);
    await expect(ch.armPc('p', 2 ** 64)).rejects.toThrow(InvalidArgumentError);
    await expect(ch.armWatch('w', 'w', 0x2000_0000, 0)).rejects.toThrow(InvalidArgumentError);
    for (const [line, message] of [
      ['arm-pc p 0x100000000', /bad address 0x100000000: beyond the arm address space/],
      ['arm-pc p 0x631', /not a multiple of 2 \(a Thumb function symbol\? use 0x630\)/],
      ['arm-pc p 12abc', /bad number 12abc/],
      ['arm-pc p 0x100 cpu=7', /bad cpu=7 \(this machine has 1 cpus\)/],
      ['arm-watch w x 0x20000000 4', /bad access kind x/],
      ['arm-watch w w 0xfffffffe 4', /bad length 4 \(1\.\.2 at 0xfffffffe\)/],
      ['arm-watch w w 0x20000000 0', /bad length 0/],
      ['read 0 0x20000000 0', /bad length 0/],
      ['read 3 0x20000000 4', /bad cpu 3/],
      ['write 0 0x20000000 abc', /bad hex data/],
      ['setreg 0 99 1', /no such core register/],
      ['arm-insn i 0', /instruction 0 is not in the future/],
    ] as const) {
      await expect(raw(ch, line), line).rejects.toThrow(InvalidArgumentError);
      await expect(raw(ch, line), line).rejects.toThrow(message);
    }
    await ch.resume();
    await runToEnd(run);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });

  it('malformed commands are usage errors (a bug of ours), the plugin keeps serving', async () => {
    const run = await startPluginRun();
    for (const line of [
      'arm-pc',
      'arm-pc t 0x100 unknownword',
      'arm-watch t',
      'regs',
      'regs 0 soon',
      'nosuchverb a b',
      'arm-insn t 1 2 3',
    ]) {
      await expect(raw(run.ch, line), line).rejects.toThrow(ProtocolError);
    }
    await run.ch.ping();
  });

  it('a state refusal: registers of a running guest are not read', async () => {
    const run = await startPluginRun();
    await run.ch.writeMemory(0, sym('run_ticks'), Buffer.alloc(4)); // 0: run forever
    await run.ch.resume();
    await expect(run.ch.registers(0)).rejects.toThrow(/not frozen/);
    await expect(run.ch.readMemory(0, 0x2000_0000, 4)).rejects.toThrow(/not frozen/);
  });

  it('survives malformed lines on the socket', async () => {
    const run = await startPluginRun();
    const socket = (run.ch as unknown as { socket: Socket }).socket;
    for (const line of [
      '',
      '   ',
      'garbage',
      '12345678901234567890 ping',
      '\x00\x01\x02',
      `900002 ${'x'.repeat(10_000)}`,
      '900001 arm-pc\x00 t 0x100',
      '\r',
      'ok ok ok',
    ]) {
      socket.write(`${line}\n`);
    }
    for (const line of ['arm-pc bad/token 0x100', `arm-pc ${'t'.repeat(60)} 0x100`, 'arm-vtime t -5', 'setreg 0 1']) {
      await expect(raw(run.ch, line), line).rejects.toThrow();
    }
    await run.ch.ping();
    await run.ch.resume();
    await runToEnd(run);
    expect(await run.exited).toBe(0);
    expect(await run.serial()).toContain(GOLDEN_RESULT);
  });

  it('what this QEMU cannot do is an UnsupportedError naming the QEMU and what is missing', async () => {
    const run = await startPluginRun({ internals: 'none' });
    await expect(run.ch.armVtime('v', 1_000_000)).rejects.toThrow(UnsupportedError);
    await expect(run.ch.armVtime('v', 1_000_000)).rejects.toThrow(
      new RegExp(
        `needs QEMU's internal clock and timer functions \\(this QEMU, plugin API ${run.ch.hello.qemuApi.cur}, internals not exported: all\\)`,
      ),
    );
    await expect(run.ch.registers(0, { vmStopped: true })).rejects.toThrow(/registers while the VM is stopped need QEMU internals/);
    expect(sym('check_pin')).toBeGreaterThan(0);
  });
});
