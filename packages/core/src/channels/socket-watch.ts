import { type FSWatcher, watch } from 'node:fs';

/**
 * Tells the start-up's connects when a socket file may have appeared in QEMU's private dir
 * (inotify), so that they try again then instead of polling: a QEMU takes tens of milliseconds to
 * create its sockets, and a failed connect every millisecond on each channel costs the CPU that
 * QEMU (and, in a parallel suite, the other workers) needs meanwhile.
 */
export class SocketWatch {
  private readonly watchers: FSWatcher[] = [];
  private readonly waiting = new Set<() => void>();

  /** Watches `dirs`; one that cannot be watched just leaves its waits to the fallback. */
  constructor(dirs: Iterable<string>) {
    for (const dir of new Set(dirs)) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.wakeAll());
        watcher.on('error', () => undefined);
        this.watchers.push(watcher);
      } catch {
        // ENOENT, no inotify: polling at the fallback rate still finds the socket.
      }
    }
  }

  /** Resolves at the next change in the watched dirs, or after `fallbackMs` at the latest. */
  change(fallbackMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.watchers.length ? fallbackMs : 1);
      this.waiting.add(done);
    });
  }

  /** Stops watching and releases every wait. */
  close(): void {
    for (const watcher of this.watchers.splice(0)) watcher.close();
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const done of [...this.waiting]) done();
  }
}
