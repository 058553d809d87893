// The power-loss model as data: one fault per memory target (its own region kept unless
// `preserve` says otherwise), labelled with its tear, bad specs refused.
import { InvalidArgumentError } from '@qemu-fault/core';
import { enumerateFaults, faultSpace, instruction, onAccess, powerLoss, symbol } from '@qemu-fault/core/campaign';
import { describe, expect, it } from 'vitest';

const lookup = (name: string) => ({ nvm: { address: 0x2000_0100, size: 28 }, log: { address: 0x2000_0200, size: 8 } })[name]!;

describe('powerLoss()', () => {
  it('gives one fault per memory target, keeping the target unless told what to keep', () => {
    const faults = enumerateFaults(
      faultSpace({
        targets: [symbol('nvm'), instruction()],
        models: [powerLoss(), powerLoss({ preserve: ['nvm', { at: 'log', length: 4 }], tear: 2 })],
        moments: [onAccess('nvm', { hit: 3 })],
      }),
      lookup,
    );
    expect(faults.map((f) => [f.id, f.action])).toEqual([
      ['nvm power loss @ write nvm#3', { kind: 'power-loss', preserve: [{ at: 0x2000_0100, length: 28 }] }],
      [
        'nvm power loss, the write torn after 2 bytes @ write nvm#3',
        { kind: 'power-loss', preserve: ['nvm', { at: 'log', length: 4 }], tear: 2 },
      ],
    ]);
  });

  it('refuses a bad tear or region', () => {
    expect(() => powerLoss({ tear: -1 })).toThrow(InvalidArgumentError);
    expect(() => powerLoss({ tear: 1.5 })).toThrow(/tear must be a number of bytes/);
    expect(() => powerLoss({ preserve: [{ at: 'nvm', length: 0 }] })).toThrow(/positive length/);
    expect(() => powerLoss({ preserve: 'nvm' as never })).toThrow(/preserve must be a list/);
  });
});
