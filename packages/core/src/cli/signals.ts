type Stoppable = 'SIGINT' | 'SIGTERM';

/** A pending SIGINT/SIGTERM: `received` settles with the first; `dispose()` restores the defaults. */
export interface SignalWatch {
  readonly received: Promise<Stoppable>;
  dispose(): void;
}

/**
 * Catches SIGINT and SIGTERM while a command has something to clean up (a connection to close,
 * a QEMU to end), instead of letting Node die at once and leave it behind.
 */
export function watchSignals(): SignalWatch {
  const handlers: Array<[Stoppable, () => void]> = [];
  const received = new Promise<Stoppable>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => resolve(signal);
      handlers.push([signal, handler]);
      process.on(signal, handler);
    }
  });
  return {
    received,
    dispose: () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}
