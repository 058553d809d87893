import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, GdbError, QemuExitedError, TimeoutError } from '../../packages/core/src/errors.js';
import { GdbClient, type GdbClientOptions } from '../../packages/core/src/gdb/gdb-client.js';
import { encodePacket, RspDecoder } from '../../packages/core/src/gdb/rsp-codec.js';

/** Replies to send for a received packet: payloads, or raw wire text as `{ raw }`. */
type Reply = string | { raw: string };
type Script = (packet: string, stub: FakeStub) => Reply[] | undefined;

const TARGET_XML =
  '<target><architecture>arm</architecture><feature>' +
  '<reg name="r0" bitsize="32"/><reg name="r1" bitsize="32"/><reg name="pc" bitsize="32" regnum="15"/><reg name="d0" bitsize="64"/>' +
  '</feature></target>';

/** Answers the handshake like QEMU 7.2 (no no-ack mode), then defers to `script`. */
function qemuLike(script: Script, supported = 'PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+'): Script {
  return (packet, stub) => {
    if (packet.startsWith('qSupported')) return [supported];
    if (packet.startsWith('qXfer:features:read:target.xml:')) return [`l${TARGET_XML}`];
    return script(packet, stub);
  };
}

/** A scripted gdbstub on a unix socket. */
class FakeStub {
  /** Payloads received, in order. */
  readonly packets: string[] = [];
  /** Everything received outside packets: acks, nacks, 0x03. */
  readonly controls: string[] = [];
  private socket: Socket | undefined;
  private readonly decoder = new RspDecoder();

  private constructor(
    private readonly server: Server,
    readonly dir: string,
    private readonly script: Script,
  ) {}

  static async start(script: Script): Promise<FakeStub> {
    const dir = await mkdtemp(join(tmpdir(), 'qf-fake-gdb-'));
    const server = createServer();
    const stub = new FakeStub(server, dir, script);
    server.on('connection', (socket) => stub.attach(socket));
    await new Promise<void>((resolve) => server.listen(join(dir, 'gdb.sock'), resolve));
    return stub;
  }

  get path(): string {
    return join(this.dir, 'gdb.sock');
  }

  send(reply: Reply): void {
    this.socket?.write(typeof reply === 'string' ? encodePacket(reply) : Buffer.from(reply.raw, 'latin1'));
  }

  hangUp(): void {
    this.socket?.destroy();
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    await rm(this.dir, { recursive: true, force: true });
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x03) this.controls.push('^C');
      for (const event of this.decoder.push(chunk)) {
        if (event.kind !== 'packet') {
          this.controls.push(event.kind === 'ack' ? '+' : event.kind === 'nack' ? '-' : 'corrupt');
          continue;
        }
        const packet = event.payload.toString('latin1');
        this.packets.push(packet);
        socket.write('+');
        for (const reply of this.script(packet, this) ?? []) this.send(reply);
      }
    });
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function setup(script: Script, options: GdbClientOptions & { supported?: string } = {}) {
  const stub = await FakeStub.start(qemuLike(script, options.supported));
  cleanups.push(() => stub.close());
  const gdb = await GdbClient.connect(stub.path, { ...options, timeoutMs: options.timeoutMs ?? 2000 });
  cleanups.push(() => gdb.close());
  return { stub, gdb };
}

describe('GdbClient (fake stub)', () => {
  it('acknowledges every packet and reads the target description on first use, once', async () => {
    const { stub, gdb } = await setup(() => undefined);
    expect(stub.packets).toEqual(['qSupported:swbreak+;hwbreak+']);
    expect((await gdb.registers()).map((r) => `${r.name}:${r.regnum}`)).toEqual(['r0:0', 'r1:1', 'pc:15', 'd0:16']);
    await gdb.registers();
    expect(stub.packets).toEqual(['qSupported:swbreak+;hwbreak+', 'qXfer:features:read:target.xml:0,ffb']);
    await expect.poll(() => stub.controls).toEqual(['+', '+']);
  });

  it('switches to no-ack mode when the stub offers it', async () => {
    const { stub, gdb } = await setup((p) => (p === 'QStartNoAckMode' ? ['OK'] : p === 'p0' ? ['01000000'] : undefined), {
      supported: 'PacketSize=1000;qXfer:features:read+;QStartNoAckMode+',
    });
    expect(await gdb.readRegister('r0')).toBe(1);
    // Acks for the qSupported and QStartNoAckMode replies only.
    expect(stub.controls).toEqual(['+', '+']);
  });

  it('retransmits on a nack and asks again for a corrupt packet', async () => {
    let nacked = false;
    const { stub, gdb } = await setup((p) => {
      if (p !== 'm10,4') return undefined;
      if (!nacked) {
        nacked = true;
        return [{ raw: '-' }];
      }
      return [{ raw: '$deadbeef#00' }];
    });
    const read = gdb.readMemory(0x10, 4);
    await expect.poll(() => stub.controls.includes('-')).toBe(true);
    stub.send('deadbeef');
    expect((await read).toString('hex')).toBe('deadbeef');
    expect(stub.packets.filter((p) => p === 'm10,4')).toHaveLength(2);
  });

  it('records a stop reply that arrives while waiting for another reply', async () => {
    const { gdb } = await setup((p) => (p === 'p0' ? ['T02thread:01;', '2a000000'] : undefined));
    expect(await gdb.readRegister('r0')).toBe(42);
    expect(gdb.lastStop).toEqual({ signal: 2, thread: '01' });
  });

  it('falls back to g/G when p/P are not supported', async () => {
    let regs = '01000000' + '02000000' + '00100000';
    const { stub, gdb } = await setup((p) => {
      if (p.startsWith('p') || p.startsWith('P')) return [''];
      if (p === 'g') return [regs];
      if (p.startsWith('G')) {
        regs = p.slice(1);
        return ['OK'];
      }
      return undefined;
    });
    expect(await gdb.readRegister('r1')).toBe(2);
    expect(await gdb.readRegisters()).toEqual({ r0: 1, r1: 2, pc: 0x1000 });
    await gdb.writeRegister('pc', 0x2000);
    expect(regs).toBe('01000000' + '02000000' + '00200000');
    // d0 is not in 'g' here, and 'p' is unsupported.
    await expect(gdb.readRegister('d0')).rejects.toThrow(GdbError);
    expect(stub.packets.filter((p) => p.startsWith('p'))).toHaveLength(1);
  });

  it('closes the connection when a reply is late; queued calls fail too', async () => {
    const { gdb } = await setup(() => undefined, { timeoutMs: 100 });
    const first = gdb.readMemory(0, 4);
    const second = gdb.readMemory(4, 4);
    await expect(first).rejects.toThrow(TimeoutError);
    await expect(second).rejects.toThrow(ConnectionClosedError);
    expect((await gdb.closed).by).toBe('error');
  });

  it('rejects a continue when the target exits', async () => {
    const { gdb } = await setup((p) => (p === 'c' ? ['W00'] : undefined));
    await expect(gdb.continue()).rejects.toThrow(/exited with code 0/);
    expect((await gdb.closed).by).toBe('peer');
  });

  it('sends 0x03 only while running, and resolves both continue and interrupt with the stop', async () => {
    const { stub, gdb } = await setup(() => undefined);
    const running = gdb.continue();
    await expect.poll(() => stub.packets.includes('c')).toBe(true);
    const interrupted = gdb.interrupt();
    await expect.poll(() => stub.controls.includes('^C')).toBe(true);
    stub.send('O48690a');
    stub.send('T02thread:01;');
    expect(await interrupted).toEqual({ signal: 2, thread: '01' });
    expect(await running).toEqual({ signal: 2, thread: '01' });
    await expect(gdb.interrupt()).resolves.toEqual({ signal: 2, thread: '01' });
    expect(stub.controls.filter((c) => c === '^C')).toHaveLength(1);
  });

  it('closes on a packet nobody asked for', async () => {
    const { stub, gdb } = await setup(() => undefined);
    stub.send('OK');
    expect((await gdb.closed).reason).toMatch(/no reply was expected/);
  });

  it('rejects what is waiting when the stub hangs up', async () => {
    const { stub, gdb } = await setup(() => undefined);
    const running = gdb.continue();
    await expect.poll(() => stub.packets.includes('c')).toBe(true);
    stub.hangUp();
    await expect(running).rejects.toThrow(ConnectionClosedError);
  });

  it('passes what is lost with the connection through explainLostConnection', async () => {
    const explainLostConnection = async (lost: ConnectionClosedError) => new QemuExitedError(`QEMU exited; ${lost.message}`);
    const { stub, gdb } = await setup(() => undefined, { explainLostConnection });
    const running = gdb.continue();
    await expect.poll(() => stub.packets.includes('c')).toBe(true);
    stub.hangUp();
    await expect(running).rejects.toThrow(/^QEMU exited; gdb packet 'c' not answered/);
    await expect(gdb.readMemory(0, 4)).rejects.toBeInstanceOf(QemuExitedError);
  });

  it('fails a stub that never answers the handshake with a TimeoutError in the connect time limit', async () => {
    const stub = await FakeStub.start(() => undefined);
    cleanups.push(() => stub.close());
    const error = await GdbClient.connect(stub.path, { timeoutMs: 100 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/^gdb handshake with .* timed out after 100 ms \(QEMU serves one client per socket/);
  });

  it('names registers as the description does, wide ones as bigint, and takes the breakpoint kind from the caller', async () => {
    const { stub, gdb } = await setup((p) =>
      p === 'p10' ? ['0100000000000080'] : p.startsWith('Z') || p.startsWith('z') ? ['OK'] : undefined,
    );
    expect((await gdb.registers()).map((r) => `${r.name}/${r.bitsize}`)).toEqual(['r0/32', 'r1/32', 'pc/32', 'd0/64']);
    expect(await gdb.readRegister('D0')).toBe(0x8000000000000001n);
    await gdb.insertBreakpoint(0x1000);
    await gdb.insertBreakpoint(0xffff_ffff_0000_1000n, { kind: 2, hardware: true });
    await gdb.removeBreakpoint(0x1000);
    expect(stub.packets.filter((p) => /^[Zz]/.test(p))).toEqual(['Z0,1000,4', 'Z1,ffffffff00001000,2', 'z0,1000,4']);
  });
});
