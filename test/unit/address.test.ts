import { formatAddress, InvalidArgumentError, parseAddress } from '@qemu-fault/core';
import { describe, expect, it } from 'vitest';
import { chardevSocketOptions, qemuServerSpec } from '../../packages/core/src/transport/address.js';

describe('socket addresses', () => {
  it('parses unix paths, host:port and explicit prefixes', () => {
    expect(parseAddress('/tmp/q/qmp.sock')).toEqual({ kind: 'unix', path: '/tmp/q/qmp.sock' });
    expect(parseAddress('unix:/tmp/a:b')).toEqual({ kind: 'unix', path: '/tmp/a:b' });
    expect(parseAddress('localhost:4444')).toEqual({ kind: 'tcp', host: 'localhost', port: 4444 });
    expect(parseAddress('tcp:127.0.0.1:1')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 1 });
    expect(parseAddress('[::1]:5555')).toEqual({ kind: 'tcp', host: '::1', port: 5555 });
    expect(parseAddress('./rel/with space:12')).toEqual({ kind: 'unix', path: './rel/with space:12' });
    expect(() => parseAddress('host:70000')).toThrow(InvalidArgumentError);
    expect(() => parseAddress('')).toThrow(InvalidArgumentError);
  });

  it('formats addresses back', () => {
    expect(formatAddress({ kind: 'tcp', host: '::1', port: 1 })).toBe('[::1]:1');
    expect(formatAddress({ kind: 'unix', path: '/x' })).toBe('/x');
  });

  it('doubles commas in paths given to QEMU options', () => {
    const a = { kind: 'unix', path: '/tmp/a,b \'q"/s' } as const;
    expect(qemuServerSpec(a)).toBe('unix:/tmp/a,,b \'q"/s,server=on,wait=off');
    expect(chardevSocketOptions(a)).toBe('path=/tmp/a,,b \'q"/s,server=on,wait=off');
    expect(chardevSocketOptions({ kind: 'tcp', host: '127.0.0.1', port: 9 })).toBe('host=127.0.0.1,port=9,server=on,wait=off');
  });
});
