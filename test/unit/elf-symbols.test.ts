// Symbol names in real firmware: file-local statics of one name in several files, GCC's suffix on
// function-local statics. A small ELF is built here from C with the cross compiler.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AmbiguousSymbolError, type ElfImage, readElf, UnknownSymbolError } from '@qemu-fault/core';
import { atPc, bitFlip, faultSpace, resolveCampaign, symbol } from '@qemu-fault/core/campaign';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SOURCES = {
  'src/a.c': `
static volatile int xErrorOccurred = 1;
static __attribute__((noinline)) int helper(void) { return xErrorOccurred; }
int shared = 5;
int a_main(void) { return helper(); }
`,
  'src/b.c': `
static volatile int xErrorOccurred = 2;
static volatile int shared = 7;
static __attribute__((noinline)) int helper(void) { return xErrorOccurred + shared; }
int *idle_stack(void) { static int uxIdleTaskStack[4]; return uxIdleTaskStack; }
int main(void) { extern int a_main(void); return a_main() + helper() + *idle_stack(); }
`,
};

let dir: string;
let elf: ElfImage;
let nm: Map<string, number[]>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qf-elf-symbols-'));
  execFileSync('mkdir', ['-p', join(dir, 'src')]);
  for (const [file, text] of Object.entries(SOURCES)) await writeFile(join(dir, file), text);
  const out = join(dir, 'two-files.elf');
  // Compiled as `src/a.c`: GCC's STT_FILE symbols then hold just `a.c`.
  execFileSync(
    'arm-none-eabi-gcc',
    ['-mcpu=cortex-m3', '-mthumb', '-O1', '-nostdlib', '-Wl,--entry=main', '-o', out, ...Object.keys(SOURCES)],
    {
      cwd: dir,
    },
  );
  elf = await readElf(out);
  // The addresses as binutils sees them, to check ours against.
  nm = new Map();
  for (const line of execFileSync('arm-none-eabi-nm', [out], { encoding: 'utf8' }).trim().split('\n')) {
    const [address, , name] = line.split(' ');
    nm.set(name!, [...(nm.get(name!) ?? []), Number.parseInt(address!, 16)]);
  }
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('symbol names', () => {
  it('a name of several file-local symbols is an error listing each with its file', () => {
    const error = (() => {
      try {
        elf.symbol('xErrorOccurred');
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(AmbiguousSymbolError);
    expect(error).toMatchObject({ code: 'AMBIGUOUS_SYMBOL', candidates: ['a.c:xErrorOccurred', 'b.c:xErrorOccurred'] });
    expect((error as Error).message).toMatch(
      /'xErrorOccurred' is defined 2 times in .*: a\.c:xErrorOccurred, b\.c:xErrorOccurred; name one as 'file\.c:xErrorOccurred'/,
    );
    expect(() => elf.symbol('helper')).toThrow(AmbiguousSymbolError);
  });

  it('file.c:name picks the definition of that file (by its name or its path)', () => {
    const both = nm.get('xErrorOccurred')!;
    expect(both).toHaveLength(2);
    const a = elf.symbol('a.c:xErrorOccurred').address;
    const b = elf.symbol('src/b.c:xErrorOccurred').address;
    expect(new Set([a, b])).toEqual(new Set(both));
    expect(a).not.toBe(b);
    expect(elf.symbol('b.c:helper')).toMatchObject({ type: 'func', thumb: true, global: false, file: 'b.c' });
  });

  it('a global wins over file-local symbols of its name; the local one is still reachable qualified', () => {
    const shared = elf.symbol('shared');
    expect(shared.global).toBe(true);
    expect(elf.symbol('b.c:shared').global).toBe(false);
    expect(new Set([shared.address, elf.symbol('b.c:shared').address])).toEqual(new Set(nm.get('shared')));
  });

  it("a function-local static (GCC's name.N) answers to its plain name", () => {
    const [suffixed] = [...nm.keys()].filter((n) => n.startsWith('uxIdleTaskStack.'));
    expect(suffixed).toMatch(/^uxIdleTaskStack\.\d+$/);
    expect(elf.symbol('uxIdleTaskStack')).toMatchObject({ name: suffixed, address: nm.get(suffixed!)![0], size: 16 });
    expect(elf.symbol('b.c:uxIdleTaskStack').name).toBe(suffixed);
    expect(elf.symbol(suffixed!).name).toBe(suffixed);
  });

  it('an unknown name, or a file that does not define it, is an UnknownSymbolError', () => {
    expect(() => elf.symbol('nothing')).toThrow(UnknownSymbolError);
    expect(() => elf.symbol('c.c:xErrorOccurred')).toThrow(UnknownSymbolError);
    expect(() => elf.symbol('a.c:uxIdleTaskStack')).toThrow(/symbol 'a\.c:uxIdleTaskStack' is not defined/);
  });

  it('the same rules hold for campaign targets and moments', async () => {
    const campaign = (target: string, moment: string) =>
      resolveCampaign({
        name: 'symbols',
        machine: 'mps2-an385',
        kernel: elf.path,
        space: faultSpace({ targets: [symbol(target)], models: [bitFlip({ bits: [0] })], moments: [atPc(moment)] }),
      });
    await expect(campaign('xErrorOccurred', 'main')).rejects.toThrow(AmbiguousSymbolError);
    await expect(campaign('a.c:xErrorOccurred', 'helper')).rejects.toThrow(AmbiguousSymbolError);
    await expect(campaign('a.c:xErrorOccurred', 'b.c:helper')).resolves.toBeDefined();
    await expect(campaign('uxIdleTaskStack', 'main')).resolves.toBeDefined();
  });

  it('a file read again unchanged is not parsed again; one rewritten in place is', async () => {
    expect(await readElf(elf.path)).toBe(elf);
    const copy = join(dir, 'copy.elf');
    await copyFile(elf.path, copy);
    const first = await readElf(copy);
    expect(first.symbols.has('a_main')).toBe(true);
    // The same path, the same inode, a different image: a rebuild between two launches.
    const other = join(dir, 'other.elf');
    execFileSync('arm-none-eabi-gcc', ['-mcpu=cortex-m3', '-mthumb', '-nostdlib', '-Wl,--entry=other', '-o', other, '-x', 'c', '-'], {
      input: 'int other(void) { return 1; }',
    });
    await copyFile(other, copy);
    const second = await readElf(copy);
    expect(second).not.toBe(first);
    expect(second.symbols.has('other')).toBe(true);
    expect(second.symbols.has('a_main')).toBe(false);
  });
});
