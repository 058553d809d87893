/**
 * Where the plugin connects: Node listens on a unix socket *before* QEMU starts, QEMU is started
 * with `-plugin <so>,sock=<path>`, and the plugin connects while QEMU loads it (it gives up after
 * `connect-timeout-ms`, and QEMU then exits with an error, so nothing hangs).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionClosedError, InvalidArgumentError, TimeoutError } from '../errors.js';
import { PluginChannel } from './plugin-channel.js';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;
const DEFAULT_TIMEOUT_MS = 5000;

/** Listens for the plugin's connection. Create it before starting QEMU. */
export class PluginListener {
  private readonly waiting: Socket[] = [];
  private waiter: ((s: Socket) => void) | undefined;
  private closed = false;

  private constructor(
    /** The socket path to pass to the plugin (`sock=`). */
    readonly path: string,
    private readonly server: Server,
  ) {
    server.on('connection', (s) => {
      const waiter = this.waiter;
      this.waiter = undefined;
      if (waiter) waiter(s);
      else this.waiting.push(s);
    });
  }

  /** Listens on `path` (default: a fresh path in the temp dir). */
  static async create(path?: string): Promise<PluginListener> {
    const where = path ?? join(tmpdir(), `qemu-fault-plugin-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
    if (where.length > MAX_SOCKET_PATH)
      throw new InvalidArgumentError(`unix socket path too long (${where.length} > ${MAX_SOCKET_PATH}): ${where}`);
    rmSync(where, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new PluginListener(where, server);
  }

  /** The `-plugin` argument for QEMU. */
  qemuArg(pluginPath: string, extra: Record<string, string> = {}): string {
    return pluginArgument(pluginPath, { sock: this.path, ...extra });
  }

  /**
   * Waits for the plugin to connect and say hello, both within `timeoutMs`; `commandTimeoutMs` is
   * then the channel's limit on each command (default `timeoutMs`). Pass `abort` (e.g. QEMU's
   * exit promise) so a QEMU that dies before connecting fails this at once instead of after the timeout.
   */
  async accept(options: { timeoutMs?: number; commandTimeoutMs?: number; abort?: Promise<unknown> } = {}): Promise<PluginChannel> {
    if (this.closed) throw new ConnectionClosedError('plugin listener is closed');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = this.waiting.shift();
      if (s) return resolve(s);
      this.waiter = resolve;
      const giveUp = (err: Error) => {
        this.waiter = undefined;
        reject(err);
      };
      timer = setTimeout(() => giveUp(new TimeoutError('waiting for the QEMU plugin to connect', timeoutMs)), timeoutMs);
      options.abort?.then(
        () => giveUp(new ConnectionClosedError('QEMU exited before the plugin connected')),
        (err: unknown) => giveUp(err instanceof Error ? err : new ConnectionClosedError(String(err))),
      );
    }).finally(() => clearTimeout(timer));
    // The hello gets what is left of the time, not all of it again.
    const connectTimeoutMs = Math.max(1, startedAt + timeoutMs - Date.now());
    return PluginChannel.start(socket, { timeoutMs: options.commandTimeoutMs ?? timeoutMs, connectTimeoutMs });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.waiting) s.destroy();
    // Closing a unix socket server unlinks its path (libuv does).
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** `-plugin` argument: QEMU splits its options at commas, so neither path nor value may contain one. */
export function pluginArgument(pluginPath: string, args: Record<string, string>): string {
  const values = Object.values(args);
  if (pluginPath.includes(',') || values.some((v) => v.includes(',')))
    throw new InvalidArgumentError('plugin and socket paths must not contain commas');
  return [pluginPath, ...Object.entries(args).map(([k, v]) => `${k}=${v}`)].join(',');
}
