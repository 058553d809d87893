/** Why a protocol connection ended, as a session's `closed` promise reports it. */
export interface CloseInfo {
  /** `local`: the client's `close()` was called; `peer`: QEMU closed the socket; `error`: socket error, timeout or protocol violation. */
  by: 'local' | 'peer' | 'error';
  reason: string;
  error?: Error;
}
