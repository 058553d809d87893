import { AmbiguousSymbolError, UnknownSymbolError } from '../errors.js';

/** A symbol as the resolver sees it: its name, whether it is global, and the source file of a local. */
export interface NamedSymbol {
  name: string;
  global: boolean;
  /** The source file a file-local symbol belongs to (the `STT_FILE` symbol before it), if any. */
  file?: string | undefined;
}

/** GCC names a function-local static `name.N`; the suffix is not part of what the user wrote. */
const LOCAL_STATIC_SUFFIX = /\.\d+$/;

/**
 * Finds the one symbol a name means, by the rules every place that takes a symbol shares
 * (`symbol()`, `at()`, data triggers, campaign targets and moments):
 *
 * - `file.c:name` picks the definition in that source file;
 * - a global wins over file-local symbols of the same name (as the linker and gdb see it);
 * - a name defined by several file-local symbols and no global is an {@link AmbiguousSymbolError}
 *   listing each candidate with its file;
 * - with no symbol of that exact name, GCC's function-local statics (`name.2`) answer to `name`.
 */
export function resolveSymbol<S extends NamedSymbol>(all: readonly S[], query: string, elfPath: string): S {
  const colon = query.lastIndexOf(':');
  const file = colon > 0 ? query.slice(0, colon) : undefined;
  const name = colon > 0 ? query.slice(colon + 1) : query;
  const inFile = file === undefined ? all : all.filter((s) => s.file !== undefined && sameFile(s.file, file));
  const exact = inFile.filter((s) => s.name === name);
  const candidates = exact.length ? exact : inFile.filter((s) => !s.global && s.name.replace(LOCAL_STATIC_SUFFIX, '') === name);
  const globals = candidates.filter((s) => s.global);
  const [only, ...others] = globals.length === 1 ? globals : candidates;
  if (!only) throw new UnknownSymbolError(query, elfPath);
  if (others.length) throw new AmbiguousSymbolError(query, elfPath, candidates.map(describe));
  return only;
}

/**
 * `blocktim.c` names `Common/Minimal/blocktim.c` and the other way round: GCC's `STT_FILE` holds
 * the name as the compiler was given it, often without the path (or with a build dir's).
 */
function sameFile(symbolFile: string, asked: string): boolean {
  return symbolFile === asked || symbolFile.endsWith(`/${asked}`) || asked.endsWith(`/${symbolFile}`);
}

function describe(s: NamedSymbol): string {
  return s.file ? `${s.file}:${s.name}` : `${s.name} (global)`;
}
