/**
 * Runs async tasks strictly one after another, in call order: each starts once the one before it
 * has settled, whether it succeeded or failed. For protocols with one request in flight.
 */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it; settles as it does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
