import { createConnection, type Socket } from 'node:net';
import { ConnectionError } from '../errors.js';
import { formatAddress, parseAddress, type SocketAddress } from './address.js';

export interface ConnectOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
}

/** Opens a stream socket to a unix path or TCP address, with a bounded connect time. */
export function connectSocket(address: string | SocketAddress, options: ConnectOptions = {}): Promise<Socket> {
  const target = parseAddress(address);
  const timeoutMs = options.timeoutMs ?? 5000;
  const where = formatAddress(target);
  return new Promise((resolve, reject) => {
    const socket =
      target.kind === 'unix' ? createConnection({ path: target.path }) : createConnection({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectionError(where, `could not connect to ${where}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectionError(where, `could not connect to ${where}: ${err.code ?? err.message}`, { cause: err }));
    });
  });
}
