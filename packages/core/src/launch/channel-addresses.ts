import { createServer } from 'node:net';
import { join } from 'node:path';
import type { SocketAddress } from '../transport/address.js';
import type { ChannelAddresses } from './qemu-args.js';

/** Which channels besides QMP get a socket. */
export interface WantedChannels {
  qtest: boolean;
  gdb: boolean;
  serial: boolean;
  hmp: boolean;
}

/**
 * Where each wanted channel will listen: a socket in `dir`, or a free loopback TCP port with `tcp`.
 * The human monitor always gets a socket in `dir`: nothing but us is meant to speak to it.
 */
export async function channelAddresses(dir: string, want: WantedChannels, tcp: boolean): Promise<ChannelAddresses> {
  const inDir = (name: string): SocketAddress => ({ kind: 'unix', path: join(dir, `${name}.sock`) });
  const at = async (name: string, on = true): Promise<SocketAddress | undefined> => {
    if (!on) return undefined;
    return tcp ? { kind: 'tcp', host: '127.0.0.1', port: await freeLoopbackPort() } : inDir(name);
  };
  return {
    qmp: (await at('qmp'))!,
    qtest: await at('qtest', want.qtest),
    gdb: await at('gdb', want.gdb),
    serial: await at('serial', want.serial),
    hmp: want.hmp ? inDir('hmp') : undefined,
  };
}

/** A loopback port that was free a moment ago (QEMU binds it right after). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
