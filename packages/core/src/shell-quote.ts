/** Quoting for command lines printed for people to paste. */

/** Quotes a word for a POSIX shell when it needs it, so the printed lines can be pasted as they are. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
