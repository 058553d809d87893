// Reproducing one fault: the trace from a fresh boot matches the campaign's record, the CLI prints
// it, and with a debugger the QEMU waits stopped right after the injection (checked through the
// project's own gdb client: the pc, the flipped byte, a step that runs on).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readElf } from '@qemu-fault/core';
import { atPc, faultSpace, instruction, reproduceFault, runCampaign, skip, UnknownFaultError } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';
import { pinCounterCampaign } from '../../examples/campaigns/pin-counter.js';
import { campaignCommand } from '../../packages/core/src/cli/campaign.js';
import { GdbClient } from '../../packages/core/src/gdb/gdb-client.js';
import { captureOutput } from '../support/cli-output.js';
import { cleanEnv, eventually } from '../support/processes.js';

const pinElf = (app: 'pin' | 'pin_dup') => readElf(fileURLToPath(pinCounterCampaign(app).kernel as URL));

const PIN_CONFIG = 'examples/campaigns/pin.campaign.ts';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'packages/core/src/cli/main.ts');

describe('reproducing a fault', () => {
  it('gives the record the campaign gave, with what was injected and the serial output', { timeout: 90_000 }, async () => {
    const definition = pinCounterCampaign('pin');
    const result = await runCampaign(definition, { workers: 2, configFile: PIN_CONFIG });
    const record = result.records[3]!;
    expect(result.reproduceCommand(record.id)).toBe(
      `qemu-fault campaign ${PIN_CONFIG} --reproduce 'pin_tries_left flip bit 3 @ pc verify_pin#1'`,
    );
    const { trace, gdb } = await reproduceFault(definition, record.id);
    expect(gdb).toBeUndefined();
    expect(trace.fault.index).toBe(3);
    expect(trace.verdict).toEqual({ outcome: record.outcome, reason: record.reason });
    expect(trace.evidence).toEqual(record.evidence);
    expect(trace.injected).toMatchObject({ before: '0x03', after: '0x0b' });
    expect(trace.serialBefore).toBe('boot: mps2-an385 pin\n');
    expect(trace.evidence.serial).toMatch(/^boot: mps2-an385 pin\npin: denied\ntries_left: 10\n/);
    expect(trace.moment.pc).toBe((await pinElf('pin')).symbol('verify_pin').address);
  });

  it('is one command that prints the trace, and names close ids for an unknown one', { timeout: 60_000 }, async () => {
    const run = captureOutput();
    expect(await campaignCommand([PIN_CONFIG, '--reproduce', '#5'], run.out)).toBe(0);
    const text = run.printed.join('\n');
    expect(text).toMatch(/^fault #5 of campaign 'pin-counter-pin': pin_tries_left flip bit 5 @ pc verify_pin#1$/m);
    expect(text).toMatch(/^injected: flip bit 5 on pin_tries_left\+0 \(0x[0-9a-f]+, 1 bytes\): 0x03 -> 0x23$/m);
    expect(text).toMatch(/^ {4}\| tries_left: 34$/m);
    expect(text).toMatch(/^outcome: {2}SILENT \(pin_tries_left = 0x00000022 \(golden 0x00000002\)\)$/m);

    const unknown = captureOutput();
    expect(await campaignCommand([PIN_CONFIG, '--reproduce', 'pin_tries_left flip bit 77'], unknown.out)).toBe(2);
    expect(unknown.errors.join('\n')).toMatch(
      /has no fault 'pin_tries_left flip bit 77' \(give its id as the report shows it, or #0\.\.#31\)\. Close ones:\n {2}pin_tries_left flip bit 0 @ pc verify_pin#1\n/,
    );
    await expect(reproduceFault(pinCounterCampaign('pin'), '#32')).rejects.toThrow(UnknownFaultError);
  });

  it('with gdb, stops right after the injection with the gdbstub listening', { timeout: 60_000 }, async () => {
    const flip = await reproduceFault(pinCounterCampaign('pin'), '#3', { gdb: true });
    const handover = flip.gdb!;
    try {
      expect(handover.command).toContain(`target remote ${handover.socket}`);
      const gdb = await GdbClient.connect(handover.socket);
      // Stopped at the moment, before verify_pin's first instruction ran, with the bit flipped.
      expect(await gdb.readRegister('pc')).toBe(flip.trace.moment.pc);
      expect(handover.pc).toBe(flip.trace.moment.pc);
      expect((await gdb.readMemory((await pinElf('pin')).symbol('pin_tries_left').address, 4)).readUInt32LE(0)).toBe(0x0b);
      const stepped = await gdb.step();
      expect(stepped).toBeDefined();
      expect(await gdb.readRegister('pc')).not.toBe(flip.trace.moment.pc);
      await gdb.close();
    } finally {
      await handover.close();
    }

    expect(existsSync(dirname(handover.socket)), 'its QEMU and temp dir are gone').toBe(false);

    // An instruction skip: stopped at the instruction after the skipped one (verify_pin starts
    // with a 4-byte push, stmdb).
    const definition = {
      ...pinCounterCampaign('pin_dup'),
      space: faultSpace({ targets: [instruction()], models: [skip()], moments: [atPc('verify_pin')] }),
    };
    const skipped = await reproduceFault(definition, '#0', { gdb: true });
    try {
      const gdb = await GdbClient.connect(skipped.gdb!.socket);
      const pc = await gdb.readRegister('pc');
      expect(pc).toBe(skipped.trace.moment.pc + 4);
      expect(skipped.trace.injected).toEqual({
        what: 'pc',
        before: `0x${skipped.trace.moment.pc.toString(16)}`,
        after: `0x${Number(pc).toString(16)}`,
      });
      await gdb.close();
    } finally {
      await skipped.gdb!.close();
    }
  });

  it('from the command line with --gdb, waits stopped after the injection until interrupted', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'campaign', PIN_CONFIG, '--reproduce', '#3', '--gdb'], {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      expect(await eventually(() => /gdbstub listens on (\S+):/.test(out), 30_000), out).toBe(true);
      const socket = /gdbstub listens on (\S+):/.exec(out)![1]!;
      const pc = Number.parseInt(/stopped right after the injection, at pc 0x([0-9a-f]+)/.exec(out)![1]!, 16);
      expect(out).toContain(`gdb-multiarch ${fileURLToPath(pinCounterCampaign('pin').kernel as URL)} -ex 'target remote ${socket}'`);
      const gdb = await GdbClient.connect(socket);
      expect(await gdb.readRegister('pc')).toBe(pc);
      await gdb.close();
      // Still waiting for the developer: Ctrl-C ends it, QEMU and its dir with it.
      expect(existsSync(socket)).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(await eventually(() => !existsSync(dirname(socket)))).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
