import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../packages/core/src/errors.js';
import { decodeRegister, encodeRegister } from '../../packages/core/src/gdb/register-value.js';
import { isConsoleOutput, isStopPacket, parseStopPacket } from '../../packages/core/src/gdb/stop-reply.js';
import { TargetDescription } from '../../packages/core/src/gdb/target-description.js';

describe('stop replies', () => {
  it('parses QEMU 7.2 stop replies', () => {
    expect(parseStopPacket('T05thread:01;')).toEqual({ kind: 'stopped', stop: { signal: 5, thread: '01' } });
    expect(parseStopPacket('T02thread:p01.01;')).toEqual({ kind: 'stopped', stop: { signal: 2, thread: 'p01.01' } });
    expect(parseStopPacket('T05thread:01;watch:20000010;')).toEqual({
      kind: 'stopped',
      stop: { signal: 5, thread: '01', reason: 'watch', address: 0x20000010n },
    });
    expect(parseStopPacket('T05thread:01;rwatch:10;')).toMatchObject({ stop: { reason: 'rwatch', address: 0x10n } });
    expect(parseStopPacket('T05awatch:ffffffff00000000;')).toMatchObject({ stop: { reason: 'awatch', address: 0xffffffff00000000n } });
  });

  it('parses other stubs’ forms', () => {
    expect(parseStopPacket('S05')).toEqual({ kind: 'stopped', stop: { signal: 5 } });
    expect(parseStopPacket('T05swbreak:;0f:00100000;thread:1;')).toEqual({
      kind: 'stopped',
      stop: { signal: 5, reason: 'breakpoint', thread: '1' },
    });
    expect(parseStopPacket('W00')).toEqual({ kind: 'exited', code: 0 });
    expect(parseStopPacket('W01;process:1')).toEqual({ kind: 'exited', code: 1 });
    expect(parseStopPacket('X09')).toEqual({ kind: 'terminated', signal: 9 });
  });

  it('tells stop packets and console output from ordinary replies', () => {
    for (const reply of ['OK', 'E14', '', 'l<?xml', 'm<target', '00000000', 'PacketSize=1000', 'QCp01.01']) {
      expect(isStopPacket(reply), reply).toBe(false);
      expect(isConsoleOutput(reply), reply).toBe(false);
    }
    expect(isConsoleOutput('O48690a')).toBe(true);
    expect(isStopPacket('T05thread:01;')).toBe(true);
  });

  it('rejects malformed stop replies', () => {
    expect(() => parseStopPacket('OK')).toThrow(ProtocolError);
    expect(() => parseStopPacket('T05watch:zz;')).toThrow(ProtocolError);
  });
});

// What QEMU 7.2 serves for mps2-an385 (Cortex-M3), abridged.
const MPS2_XML: Record<string, string> = {
  'target.xml':
    '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target><architecture>arm</architecture>' +
    '<xi:include href="arm-m-profile.xml"/><xi:include href="system-registers.xml"/></target>',
  'arm-m-profile.xml':
    '<?xml version="1.0"?>\n<!-- Copyright <reg name="commented" bitsize="8"/> -->\n<feature name="org.gnu.gdb.arm.m-profile">\n' +
    Array.from({ length: 13 }, (_, i) => `  <reg name="r${i}" bitsize="32"/>\n`).join('') +
    '  <reg name="sp" bitsize="32" type="data_ptr"/>\n  <reg name="lr" bitsize="32"/>\n  <reg name="pc" bitsize="32" type="code_ptr"/>\n' +
    '  <reg name="xpsr" bitsize="32" regnum="25"/>\n</feature>\n',
  'system-registers.xml': '<?xml version="1.0"?><feature name="org.qemu.gdb.arm.sys.regs"></feature>',
};

const fetchFrom = (files: Record<string, string>) => async (annex: string) => {
  const xml = files[annex];
  if (xml === undefined) throw new Error(`no ${annex}`);
  return xml;
};

describe('TargetDescription', () => {
  it('numbers registers as GDB does, following includes', async () => {
    const td = await TargetDescription.load(fetchFrom(MPS2_XML));
    expect(td.architecture).toBe('arm');
    expect(td.registers.map((r) => `${r.name}:${r.regnum}`)).toEqual([
      ...Array.from({ length: 13 }, (_, i) => `r${i}:${i}`),
      'sp:13',
      'lr:14',
      'pc:15',
      'xpsr:25',
    ]);
  });

  it('continues numbering after an explicit regnum and across features', async () => {
    const td = await TargetDescription.load(
      fetchFrom({
        'target.xml': '<target><xi:include href="a.xml"/><xi:include href=\'b.xml\'/></target>',
        'a.xml': '<feature><reg name="cpsr" bitsize="32" regnum="25"/></feature>',
        'b.xml': '<feature><reg name="d0" bitsize="64"/><reg name="FPSCR" bitsize="32"></reg></feature>',
      }),
    );
    expect(td.registers).toEqual([
      { name: 'cpsr', regnum: 25, bitsize: 32 },
      { name: 'd0', regnum: 26, bitsize: 64 },
      { name: 'fpscr', regnum: 27, bitsize: 32 },
    ]);
  });

  it('finds registers by the names the description gives them, case-insensitively, and by no other', async () => {
    const td = await TargetDescription.load(fetchFrom(MPS2_XML));
    expect(td.find('SP')?.regnum).toBe(13);
    expect(td.find('pc')?.regnum).toBe(15);
    expect(td.find('xpsr')?.name).toBe('xpsr');
    // An architecture's other names for them are its own module's business.
    expect(td.find('r13')).toBeUndefined();
    expect(td.find('cpsr')).toBeUndefined();
    expect(td.find('d0')).toBeUndefined();
  });

  it('refuses include cycles and malformed registers', async () => {
    await expect(TargetDescription.load(fetchFrom({ 'target.xml': '<xi:include href="target.xml"/>' }))).rejects.toThrow(ProtocolError);
    await expect(TargetDescription.load(fetchFrom({ 'target.xml': '<reg name="r0"/>' }))).rejects.toThrow(ProtocolError);
  });
});

describe('register values', () => {
  it('decodes target-order hex into number up to 32 bits, bigint above', () => {
    expect(decodeRegister('efbeadde', 32, 'little')).toBe(0xdeadbeef);
    expect(decodeRegister('deadbeef', 32, 'big')).toBe(0xdeadbeef);
    expect(decodeRegister('0100000000000080', 64, 'little')).toBe(0x8000000000000001n);
    expect(decodeRegister('ff', 8, 'little')).toBe(0xff);
    expect(() => decodeRegister('efbead', 32, 'little')).toThrow(ProtocolError);
    expect(() => decodeRegister('efbeadzz', 32, 'little')).toThrow(ProtocolError);
  });

  it('encodes values, refusing what does not fit', () => {
    expect(encodeRegister(0x1000, 32, 'little', 'pc')).toBe('00100000');
    expect(encodeRegister(0x1000, 32, 'big', 'pc')).toBe('00001000');
    expect(encodeRegister(0x8000000000000001n, 64, 'little', 'd0')).toBe('0100000000000080');
    expect(() => encodeRegister(2 ** 32, 32, 'little', 'r0')).toThrow(InvalidArgumentError);
    expect(() => encodeRegister(-1, 32, 'little', 'r0')).toThrow(InvalidArgumentError);
    expect(() => encodeRegister(1.5, 32, 'little', 'r0')).toThrow(InvalidArgumentError);
  });
});
