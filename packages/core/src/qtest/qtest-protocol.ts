import { InvalidArgumentError, ProtocolError } from '../errors.js';

/** An interrupt line of the intercepted device changed level (qtest's `IRQ raise N` / `IRQ lower N`). */
export interface IrqEvent {
  level: 'raise' | 'lower';
  /** Index of the line among the device's unnamed GPIOs. */
  line: number;
}

/** One line QEMU's qtest channel sent: a reply to the oldest command, or an asynchronous IRQ event. */
export type QtestLine = { kind: 'ok'; text: string } | { kind: 'fail'; text: string } | { kind: 'irq'; event: IrqEvent };

/**
 * Classifies a line (without its newline). `OK [values]` yields the values (`''` for a bare `OK`);
 * `FAIL reason` and `ERR reason` (what `write`/`b64write` answer to short data) are failures.
 * @throws {ProtocolError} the line is none of those.
 */
export function parseQtestLine(line: string): QtestLine {
  if (line === 'OK' || line.startsWith('OK ')) return { kind: 'ok', text: line.slice(3) };
  if (/^(FAIL|ERR)( |$)/.test(line)) return { kind: 'fail', text: line };
  const irq = /^IRQ (raise|lower) (\d+)$/.exec(line);
  if (irq) return { kind: 'irq', event: { level: irq[1] as IrqEvent['level'], line: Number(irq[2]) } };
  throw new ProtocolError(`unexpected qtest line: '${line.length > 80 ? `${line.slice(0, 80)}…` : line}'`);
}

/**
 * Checks a command line before it is sent. QEMU splits lines at `\n` and words at single spaces,
 * and asserts (killing QEMU) on an empty line, an empty word or a number it cannot parse; so only
 * printable ASCII words separated by single spaces are let through.
 */
export function checkCommandLine(line: string): void {
  if (typeof line !== 'string') throw new InvalidArgumentError(`qtest command must be a string, got ${typeof line}`);
  if (/[\r\n]/.test(line))
    throw new InvalidArgumentError(`qtest command contains a line break, which would inject another command: ${JSON.stringify(line)}`);
  if (!/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(line)) {
    throw new InvalidArgumentError(
      `qtest command must be printable ASCII words separated by single spaces (QEMU 7.2 aborts on empty words): ${JSON.stringify(line)}`,
    );
  }
}

/** Checks one word (QOM path, GPIO name) that goes into a command line. */
export function checkWord(word: string, what: string): void {
  if (typeof word !== 'string' || !/^[\x21-\x7e]+$/.test(word)) {
    throw new InvalidArgumentError(`${what} must be non-empty printable ASCII without spaces, got ${JSON.stringify(word)}`);
  }
}
