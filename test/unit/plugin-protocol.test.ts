/** The plugin protocol's codec and refusal mapping, without QEMU. */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError, UnsupportedError } from '../../packages/core/src/errors.js';
import { hex } from '../../packages/core/src/integers.js';
import { decodeCount, decodeLine, decodeRegisters, encodeCommand } from '../../packages/core/src/plugin/protocol.js';
import { describeQemu, refusalError } from '../../packages/core/src/plugin/refusal.js';

const HELLO =
  '! hello qemu-fault-plugin 2 api=4 qemu-api=2..4 target=arm vcpus=2 precise=one-insn clock=1 regs=rw setpc=1 stopped-regs=1 pc=split watch=replay mem=rw cpu-index=block missing=gdb_write_register,queue_tb_flush';

describe('plugin protocol codec', () => {
  it('encodes commands as words', () => {
    expect(encodeCommand(7, 'arm-pc', ['t', hex(0x674), 0, 'keep', 'cpu=1'])).toBe('7 arm-pc t 0x674 0 keep cpu=1');
    expect(encodeCommand(1, 'resume')).toBe('1 resume');
    expect(hex(0xffff_ffff_ffff_ffffn)).toBe('0xffffffffffffffff');
  });

  it('decodes replies with and without data, and refusals with their class', () => {
    expect(decodeLine('3 ok')).toEqual({ type: 'ok', id: 3, data: '' });
    expect(decodeLine('3 ok 12 frozen 12')).toEqual({ type: 'ok', id: 3, data: '12 frozen 12' });
    expect(decodeLine('4 err state not frozen')).toEqual({ type: 'err', id: 4, errorClass: 'state', message: 'not frozen' });
    expect(() => decodeLine('4 err not frozen')).toThrow(ProtocolError); // no class
    expect(() => decodeLine('hello')).toThrow(ProtocolError);
  });

  it('decodes the hello', () => {
    const line = decodeLine(HELLO);
    expect(line).toEqual({
      type: 'hello',
      hello: {
        protocol: 2,
        api: 4,
        qemuApi: { min: 2, cur: 4 },
        target: 'arm',
        vcpus: 2,
        precise: 'one-insn',
        clock: true,
        registers: 'rw',
        setPc: true,
        stoppedRegisters: true,
        pcTriggers: 'split',
        watch: 'replay',
        memory: 'rw',
        cpuIndex: 'block',
        missing: ['gdb_write_register', 'queue_tb_flush'],
      },
    });
    expect(() => decodeLine(HELLO.replace('plugin 2', 'plugin 1'))).toThrow(/rebuild the plugin/);
    expect(() => decodeLine(HELLO.replace('pc=split', 'pc=sideways'))).toThrow(ProtocolError);
  });

  it('decodes freezes: time, pc and watch, 64-bit pcs, per-cpu counts', () => {
    const time = decodeLine('! hit 9339 0x51c exact vt t=100 w=50 cpu=0 ci=9339 v=5000800 vt=main');
    expect(time).toEqual({
      type: 'hit',
      hit: {
        count: 9339n,
        pc: 0x51cn,
        exact: true,
        tokens: ['vt'],
        cpu: 0,
        cpuCount: 9339n,
        frozenAtNs: 100n,
        lastWakeNs: 50n,
        vtimeNs: 5_000_800n,
        vtimeThread: 'main',
      },
    });
    const watch = decodeLine(
      '! hit 10 0xffff000000000010 exact s,p t=1 w=0 cpu=1 ci=4 wk=w wa=0x20000050 ws=4 wv=0x9d wpc=0xffff00000000000e wlate=1',
    );
    expect(watch.type === 'hit' && watch.hit).toMatchObject({
      pc: 0xffff_0000_0000_0010n,
      tokens: ['s', 'p'],
      cpu: 1,
      cpuCount: 4n,
      watch: { kind: 'write', address: 0x2000_0050n, size: 4, value: 0x9dn, pc: 0xffff_0000_0000_000en, io: false, late: true },
    });
    expect(decodeLine('! miss t 42')).toEqual({ type: 'miss', token: 't', count: 42n });
    expect(decodeLine('! exit 4579')).toEqual({ type: 'exit', count: 4579n });
    expect(() => decodeLine('! hit x 0x1 exact a')).toThrow(ProtocolError);
    expect(() => decodeLine('! teleport')).toThrow(ProtocolError);
  });

  it('decodes registers and counts', () => {
    expect(decodeRegisters('0=4d2 15=674 25=61000000')).toEqual(
      new Map([
        [0, 0x4d2n],
        [15, 0x674n],
        [25, 0x6100_0000n],
      ]),
    );
    expect(() => decodeRegisters('0=zz')).toThrow(ProtocolError);
    expect(decodeCount('120 frozen 100,20')).toEqual({ count: 120n, frozen: true, perCpu: [100n, 20n] });
  });
});

describe('plugin refusals', () => {
  const hello = decodeLine(HELLO);
  const context = { hello: hello.type === 'hello' ? hello.hello : undefined, qemuVersion: '10.0.2' };

  it('maps each class to its error', () => {
    expect(refusalError('arm-pc', 'argument', 'bad number x', context)).toBeInstanceOf(InvalidArgumentError);
    expect(refusalError('regs', 'state', 'not frozen', context)).toBeInstanceOf(InvalidArgumentError);
    expect(refusalError('read', 'access', 'cannot access 0x0..0x3', context)).toBeInstanceOf(InvalidArgumentError);
    expect(refusalError('arm-pc', 'usage', 'usage: ...', context)).toBeInstanceOf(ProtocolError);
    const unsupported = refusalError('arm-vtime', 'unsupported', "arm-vtime needs QEMU's internal clock", context);
    expect(unsupported).toBeInstanceOf(UnsupportedError);
    expect(unsupported.message).toBe(
      "the plugin's 'arm-vtime' is not available on this QEMU: arm-vtime needs QEMU's internal clock (QEMU 10.0.2, plugin API 4, internals not exported: gdb_write_register, queue_tb_flush)",
    );
  });

  it('describes an unknown QEMU without inventing details', () => {
    expect(describeQemu({})).toBe('this QEMU');
  });
});
