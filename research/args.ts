/** `--name value` options of the research scripts. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const options = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('--')) throw new Error(`unexpected argument ${word}`);
    options.set(word.slice(2), argv[i + 1] ?? '');
    i++;
  }
  return options;
}

export function option(options: Map<string, string>, name: string, fallback: string): string {
  return options.get(name) ?? fallback;
}
