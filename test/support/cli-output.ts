/** An `Output` for the CLI commands that keeps what they print, for assertions. */
export function captureOutput() {
  const printed: string[] = [];
  const errors: string[] = [];
  return { out: { print: (t: string) => void printed.push(t), error: (t: string) => void errors.push(t) }, printed, errors };
}
