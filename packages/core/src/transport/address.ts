import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors.js';

/** Where a QEMU socket listens: a unix socket path, or a TCP host and port. */
export type SocketAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/**
 * Parses `"/path/to/sock"`, `"unix:/path"`, `"host:port"` or `"tcp:host:port"`.
 * A bare string containing a slash is a unix path (paths may contain colons or spaces).
 */
export function parseAddress(address: string | SocketAddress): SocketAddress {
  if (typeof address !== 'string') return address;
  if (address.startsWith('unix:')) return { kind: 'unix', path: address.slice(5) };
  const tcp = address.startsWith('tcp:') ? address.slice(4) : address;
  const match = /^(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(tcp);
  if (match && !address.includes('/')) {
    const port = Number(match[2]);
    if (port < 1 || port > 65535) throw new InvalidArgumentError(`port out of range in address '${address}'`);
    const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
    return { kind: 'tcp', host, port };
  }
  if (address.length === 0) throw new InvalidArgumentError('empty socket address');
  return { kind: 'unix', path: address };
}

/** The inverse of {@link parseAddress}, for messages and command lines. */
export function formatAddress(address: SocketAddress): string {
  if (address.kind === 'unix') return address.path;
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** QEMU's option syntax ends a value at a comma; a literal comma is written twice. */
function escapeOption(value: string): string {
  return value.replaceAll(',', ',,');
}

/** The spelling `-qmp`, `-qtest` and `-gdb` take for a listening socket, e.g. `unix:/tmp/x/qmp.sock,server=on,wait=off`. */
export function qemuServerSpec(address: SocketAddress): string {
  const where = address.kind === 'unix' ? `unix:${escapeOption(address.path)}` : `tcp:${formatAddress(address)}`;
  return `${where},server=on,wait=off`;
}

/** The options `-chardev socket,id=ID,...` takes for a listening socket. */
export function chardevSocketOptions(address: SocketAddress): string {
  const where = address.kind === 'unix' ? `path=${escapeOption(address.path)}` : `host=${address.host},port=${address.port}`;
  return `${where},server=on,wait=off`;
}
