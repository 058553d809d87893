// The private dir QEMU's sockets live in: 0700, and gone after remove() whatever it holds.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrivateDir } from '../../packages/core/src/launch/private-dir.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

function listen(path: string): Promise<void> {
  const server = createServer();
  servers.push(server);
  return new Promise((resolve) => server.listen(path, resolve));
}

describe('createPrivateDir', () => {
  it('makes a dir only its user can enter, named for this process', () => {
    const dir = createPrivateDir();
    try {
      expect(statSync(dir.path).mode & 0o777).toBe(0o700);
      expect(dir.path).toMatch(new RegExp(`qemu-fault-${process.pid}-[0-9a-f]{12}$`));
    } finally {
      dir.remove();
    }
    expect(existsSync(dir.path)).toBe(false);
  });

  it('removes sockets still listening in it, and is idempotent', async () => {
    const dir = createPrivateDir();
    await listen(join(dir.path, 'qmp.sock'));
    await listen(join(dir.path, 'gdb.sock'));
    dir.remove();
    dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });

  it('removes what someone else put there too (a dir with files)', () => {
    const dir = createPrivateDir({ prefix: 'qemu-fault-test' });
    mkdirSync(join(dir.path, 'sub'));
    writeFileSync(join(dir.path, 'sub', 'file'), 'x');
    expect(dir.path).toContain('qemu-fault-test-');
    dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });

  it('fails with the file system error when its parent is missing', () => {
    expect(() => createPrivateDir({ parent: '/nonexistent/qemu-fault' })).toThrow(/ENOENT/);
  });
});
