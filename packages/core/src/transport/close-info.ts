import type { Socket } from 'node:net';

/** Why a protocol connection ended, as a client's `closed` promise reports it. */
export interface CloseInfo {
  /** `local`: the client's `close()` was called; `peer`: QEMU closed the socket; `error`: socket error, timeout or protocol violation. */
  by: 'local' | 'peer' | 'error';
  reason: string;
  error?: Error;
}

/**
 * Ties a client's socket to its shutdown: the socket closing is the peer hanging up (`peerClosed`
 * says how), and so is a reset or broken pipe (QEMU exiting with our bytes unread); any other
 * socket error is an error. Resolves with the client's close info once the socket has closed.
 */
export function onSocketEnd(
  socket: Socket,
  shutdown: (info: CloseInfo) => void,
  closeInfo: () => CloseInfo,
  peerClosed: () => string,
): Promise<CloseInfo> {
  socket.on('error', (err: NodeJS.ErrnoException) => {
    const byPeer = err.code === 'ECONNRESET' || err.code === 'EPIPE';
    shutdown({ by: byPeer ? 'peer' : 'error', reason: `socket error: ${err.code ?? err.message}`, error: err });
  });
  return new Promise((resolve) => {
    socket.once('close', () => {
      shutdown({ by: 'peer', reason: peerClosed() });
      resolve(closeInfo());
    });
  });
}
