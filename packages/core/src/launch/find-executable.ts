import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Resolves a program name through PATH (or checks a path), returning undefined when it can't be run. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/')
    ? [name]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
