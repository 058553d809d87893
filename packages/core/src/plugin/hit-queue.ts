/**
 * Freezes waiting for someone to take them, and takers waiting for freezes: `nextHit()` must not
 * lose a freeze that arrived in the same packet as the reply the caller was awaiting.
 */
import { TimeoutError } from '../errors.js';
import type { PluginHit } from './protocol.js';

/** Freezes kept for a late taker; the plugin freezes one at a time, so a few are plenty. */
const KEEP = 64;

interface Taker {
  resolve(hit: PluginHit): void;
  reject(err: Error): void;
}

export class HitQueue {
  private readonly queued: PluginHit[] = [];
  private readonly takers = new Set<Taker>();
  private failure: Error | undefined;

  put(hit: PluginHit): void {
    const [taker] = this.takers;
    if (taker) {
      this.takers.delete(taker);
      taker.resolve(hit);
      return;
    }
    this.queued.push(hit);
    if (this.queued.length > KEEP) this.queued.shift();
  }

  /** The oldest queued freeze, or the next one (rejects with `failure` once the channel closed). */
  take(timeoutMs?: number, failure?: Error): Promise<PluginHit> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    const closed = failure ?? this.failure;
    if (closed) return Promise.reject(closed);
    return new Promise<PluginHit>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const taker: Taker = {
        resolve: (hit) => {
          clearTimeout(timer);
          resolve(hit);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.takers.add(taker);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.takers.delete(taker);
          reject(new TimeoutError('waiting for a plugin freeze', timeoutMs));
        }, timeoutMs);
      }
    });
  }

  /** The channel closed: every taker, present and future, gets `err`. */
  fail(err: Error): void {
    this.failure = err;
    for (const taker of this.takers) taker.reject(err);
    this.takers.clear();
  }
}
