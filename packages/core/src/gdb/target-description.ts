import { ProtocolError } from '../errors.js';

/** One register of the target, as its XML target description declares it. */
export interface RegisterInfo {
  name: string;
  /** The number `p`/`P` take; also the order of registers in the `g` packet. */
  regnum: number;
  bitsize: number;
}

const MAX_INCLUDE_DEPTH = 8;

type Item = { kind: 'include'; href: string } | { kind: 'reg'; name: string; bitsize: number; regnum?: number };

/**
 * The registers of a GDB XML target description (`target.xml` and the files it `xi:include`s),
 * numbered as GDB numbers them: a register without `regnum` follows the previous one, the first is 0.
 */
export class TargetDescription {
  private readonly byName: Map<string, RegisterInfo>;

  private constructor(
    /** The `<architecture>`, e.g. `arm`. */
    readonly architecture: string | undefined,
    /** All registers, by ascending `regnum`. */
    readonly registers: readonly RegisterInfo[],
  ) {
    this.byName = new Map(registers.map((r) => [r.name, r]));
  }

  /**
   * Reads `root` and its includes through `fetch` (which returns a document's text).
   * @throws {ProtocolError} malformed XML attributes, or includes nested too deep or in a cycle.
   */
  static async load(fetch: (annex: string) => Promise<string>, root = 'target.xml'): Promise<TargetDescription> {
    const registers: RegisterInfo[] = [];
    let architecture: string | undefined;
    let next = 0;
    const visit = async (annex: string, stack: string[]): Promise<void> => {
      if (stack.includes(annex) || stack.length >= MAX_INCLUDE_DEPTH) {
        throw new ProtocolError(`target description includes nest too deep or in a cycle: ${[...stack, annex].join(' -> ')}`);
      }
      const xml = stripComments(await fetch(annex));
      architecture ??= /<architecture>\s*([^<\s]+)\s*<\/architecture>/.exec(xml)?.[1];
      for (const item of parseItems(xml, annex)) {
        if (item.kind === 'include') {
          await visit(item.href, [...stack, annex]);
        } else {
          const regnum = item.regnum ?? next;
          registers.push({ name: item.name, regnum, bitsize: item.bitsize });
          next = regnum + 1;
        }
      }
    };
    await visit(root, []);
    registers.sort((a, b) => a.regnum - b.regnum);
    return new TargetDescription(architecture, registers);
  }

  /**
   * Looks a register up by its name in the description, case-insensitively. Other names for it
   * (an architecture's aliases, such as ARM's r13 for sp) are the caller's to map.
   */
  find(name: string): RegisterInfo | undefined {
    return this.byName.get(name.toLowerCase());
  }
}

function stripComments(xml: string): string {
  return xml.replace(/<!--[\s\S]*?-->/g, '');
}

/** The `<xi:include>` and `<reg>` elements of a document, in document order. */
function parseItems(xml: string, annex: string): Item[] {
  const items: Item[] = [];
  for (const match of xml.matchAll(/<(xi:include|reg)\b([^>]*)>/g)) {
    const attrs = parseAttributes(match[2]!);
    if (match[1] === 'xi:include') {
      const href = attrs.get('href');
      if (!href) throw new ProtocolError(`${annex}: <xi:include> without href`);
      items.push({ kind: 'include', href });
      continue;
    }
    const name = attrs.get('name');
    const bitsize = Number(attrs.get('bitsize'));
    if (!name || !Number.isInteger(bitsize) || bitsize <= 0)
      throw new ProtocolError(`${annex}: <reg${match[2]}> lacks a name or a valid bitsize`);
    const regnumText = attrs.get('regnum');
    const regnum = regnumText === undefined ? undefined : Number(regnumText);
    if (regnum !== undefined && (!Number.isInteger(regnum) || regnum < 0))
      throw new ProtocolError(`${annex}: register ${name} has regnum '${regnumText}'`);
    items.push({ kind: 'reg', name: name.toLowerCase(), bitsize, ...(regnum === undefined ? {} : { regnum }) });
  }
  return items;
}

function parseAttributes(text: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const m of text.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs.set(m[1]!, decodeEntities(m[2] ?? m[3] ?? ''));
  return attrs;
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => named[name]!);
}
