import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Names found before, by name and PATH: a search tries (and fails on) every PATH dir before the right one. */
const found = new Map<string, string>();

/** Resolves a program name through PATH (or checks a path), returning undefined when it can't be run. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const key = `${name}\0${path}`;
  const known = found.get(key);
  if (known && executable(known)) return known;
  const candidates = name.includes('/')
    ? [name]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  const file = candidates.find(executable);
  if (file) found.set(key, file);
  else found.delete(key);
  return file;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
