/**
 * What `promise` settles with, or `undefined` if it has not within `ms`: for "wait briefly for
 * news (typically QEMU's exit) before reporting what we know".
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
