// Shared helpers for the plugin experiments (run with: npx tsx packages/core/plugin/experiments/<x>.mts).
// Firmware: build with `make -C packages/core/plugin/experiments` (arm-none-eabi-gcc, mps2-an385).
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildPlugin } from '../../src/plugin/build-plugin.js';
import { type PluginChannel, PluginListener } from '../../src/plugin/plugin-channel.js';

export const here = fileURLToPath(new URL('.', import.meta.url));
export const fw = (name: string): string => `${process.env['QF_FW_DIR'] ?? `${here}build`}/${name}.elf`;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL'); // never leave a QEMU behind, even on a crash
});

export interface Run {
  qemu: ChildProcess;
  exited: Promise<number | null>;
  ch: PluginChannel | undefined;
  kill(): Promise<void>;
}

/** Starts qemu-system-arm (mps2-an385, -icount shift=S,sleep=off) with the plugin unless `plugin` is false. */
export async function start(opts: {
  elf: string;
  plugin?: false | Record<string, string>;
  icount?: string;
  extra?: string[];
  timeoutMs?: number;
  /** -serial backend (default none), e.g. `file:/tmp/x.txt`. */
  serial?: string;
}): Promise<Run> {
  const args = ['-M', 'mps2-an385', '-display', 'none', '-monitor', 'none', '-serial', opts.serial ?? 'none', '-kernel', opts.elf];
  args.push('-icount', opts.icount ?? 'shift=0,sleep=off', '-semihosting-config', 'enable=on,target=native');
  let listener: PluginListener | undefined;
  if (opts.plugin !== false) {
    // QF_PLUGIN_SOURCE: try a work-in-progress copy of the plugin source.
    const built = await buildPlugin(process.env['QF_PLUGIN_SOURCE'] ? { source: process.env['QF_PLUGIN_SOURCE'] } : {});
    listener = await PluginListener.create();
    args.push('-plugin', listener.qemuArg(built.path, opts.plugin ?? {}));
  }
  args.push(...(opts.extra ?? []));
  const qemu = spawn('qemu-system-arm', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(qemu);
  const exited = new Promise<number | null>((r) => qemu.on('exit', (c) => r(c)));
  void exited.then(() => children.delete(qemu));
  const killer = setTimeout(() => qemu.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  void exited.then(() => clearTimeout(killer));
  const ch = listener ? await listener.accept({ abort: exited }) : undefined;
  void exited.then(() => listener?.close());
  return {
    qemu,
    exited,
    ch,
    async kill() {
      qemu.kill('SIGKILL');
      await exited;
    },
  };
}

/** Minimal gdb remote-protocol client (enough to step and read registers). */
export class Rsp {
  private buf = '';
  private waiters: ((p: string) => void)[] = [];
  private constructor(private readonly s: Socket) {
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      this.buf += d;
      for (;;) {
        this.buf = this.buf.replace(/^\+/, '');
        const m = /^\$([^#]*)#[0-9a-fA-F]{2}/.exec(this.buf);
        if (!m) break;
        this.buf = this.buf.slice(m[0].length);
        this.s.write('+');
        this.waiters.shift()?.(m[1]!);
      }
    });
  }
  static async connect(path: string): Promise<Rsp> {
    for (let i = 0; i < 200; i++) {
      try {
        const s = await new Promise<Socket>((res, rej) => {
          const c = createConnection({ path }, () => res(c));
          c.once('error', rej);
        });
        s.setNoDelay(true);
        return new Rsp(s);
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    throw new Error(`gdb socket ${path} not reachable`);
  }
  send(body: string): Promise<string> {
    let sum = 0;
    for (const c of body) sum = (sum + c.charCodeAt(0)) & 0xff;
    const p = new Promise<string>((r) => this.waiters.push(r));
    this.s.write(`$${body}#${sum.toString(16).padStart(2, '0')}`);
    return p;
  }
  /** Sends a raw byte (0x03 = interrupt) and waits for the stop reply. */
  interrupt(): Promise<string> {
    const p = new Promise<string>((r) => this.waiters.push(r));
    this.s.write('\x03');
    return p;
  }
  /** r0..r15 from a 'g' packet ('p' needs gdb XML support negotiated first). */
  async regs(): Promise<number[]> {
    const raw = Buffer.from(await this.send('g'), 'hex');
    return Array.from({ length: 16 }, (_, i) => raw.readUInt32LE(i * 4));
  }
  /** Sends the interrupt byte without waiting (the stop reply answers a pending vCont). */
  poke(): void {
    this.s.write('\x03');
  }
  async reg(n: number): Promise<number> {
    return (await this.regs())[n]!;
  }
  close(): void {
    this.s.destroy();
  }
}

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Minimal QMP client: one command at a time, events collected. */
export class Qmp {
  private buf = '';
  private waiter: ((v: Record<string, unknown>) => void) | undefined;
  readonly events: Record<string, unknown>[] = [];
  private constructor(private readonly s: Socket) {
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      this.buf += d;
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(this.buf.slice(0, nl)) as Record<string, unknown>;
        this.buf = this.buf.slice(nl + 1);
        if ('event' in msg) this.events.push(msg);
        else if ('QMP' in msg) continue;
        else {
          const w = this.waiter;
          this.waiter = undefined;
          w?.(msg);
        }
      }
    });
  }
  static async connect(path: string): Promise<Qmp> {
    for (let i = 0; i < 200; i++) {
      try {
        const s = await new Promise<Socket>((res, rej) => {
          const c = createConnection({ path }, () => res(c));
          c.once('error', rej);
        });
        const q = new Qmp(s);
        await q.cmd('qmp_capabilities');
        return q;
      } catch {
        await sleep(20);
      }
    }
    throw new Error(`qmp socket ${path} not reachable`);
  }
  async cmd(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    const p = new Promise<Record<string, unknown>>((r) => (this.waiter = r));
    this.s.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    const r = await p;
    if ('error' in r) throw new Error(`${execute}: ${JSON.stringify(r['error'])}`);
    return r['return'];
  }
  hmp(line: string): Promise<string> {
    return this.cmd('human-monitor-command', { 'command-line': line }) as Promise<string>;
  }
  async readWord(addr: number): Promise<number> {
    const out = await this.hmp(`xp /1wx 0x${addr.toString(16)}`);
    return Number.parseInt(out.split(':')[1]!.trim(), 16);
  }
  close(): void {
    this.s.destroy();
  }
}
