/**
 * A stand-in QEMU binary that forces the race of a guest exit with a resume: it runs the real
 * QEMU (its first argument) with the other arguments, but puts a proxy in front of the QMP socket
 * and the human monitor. Once a client sends `cont` through either, QEMU's reply (and everything
 * after it on that connection) is held back for a while (until the client's next command at most);
 * when QEMU exits meanwhile, the connection is cut, so `cont` is still in flight when the guest has
 * ended: what a loaded machine does now and then.
 * Started through the script `heldContQemu()` writes; exits as QEMU did, a given delay after it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long the reply to `cont` is held back at most: a guest that goes on running gets it then. */
const HOLD_MS = 1000;

/** How a client's `cont` looks on each monitor. */
const CONT = { qmp: /"execute"\s*:\s*"cont"/, hmp: /^cont\s*$/m } as const;
type Monitor = keyof typeof CONT;

interface Proxied {
  monitor: Monitor;
  /** Where the proxy listens: the path the caller gave QEMU. */
  path: string;
  /** Where QEMU really listens. */
  upstream: string;
}

/** Rewrites the monitors' socket paths in `args` to `<path>.held`, where the real QEMU listens. */
function interpose(args: string[]): Proxied[] {
  const proxied: Proxied[] = [];
  const rewrite = (i: number, monitor: Monitor, pattern: RegExp) => {
    const path = pattern.exec(args[i] ?? '')?.[1];
    if (!path) return;
    proxied.push({ monitor, path, upstream: `${path}.held` });
    args[i] = (args[i] ?? '').replace(path, `${path}.held`);
  };
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === '-qmp') rewrite(i + 1, 'qmp', /^unix:([^,]+)/);
    if (args[i] === '-chardev') rewrite(i + 1, 'hmp', /^socket,id=qfhmp,path=([^,]+)/);
  }
  return proxied;
}

/** Connects to QEMU's socket once it exists (QEMU creates it as it starts). */
async function upstreamOf(path: string, qemu: ChildProcess): Promise<Socket | undefined> {
  while (qemu.exitCode === null && qemu.signalCode === null) {
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const s = connect(path, () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (socket) return socket;
    await sleep(2);
  }
  return undefined;
}

/** Serves `proxied.path`, holding back what QEMU sends after a client's `cont`. */
function serve(proxied: Proxied, qemu: ChildProcess, clients: Set<Socket>): Server {
  return createServer(async (client) => {
    clients.add(client);
    client.pause();
    const upstream = await upstreamOf(proxied.upstream, qemu);
    if (!upstream) return void client.destroy();
    // What QEMU sent since the client's `cont`; undefined while nothing is held.
    let held: Buffer[] | undefined;
    let timer: NodeJS.Timeout | undefined;
    const release = () => {
      clearTimeout(timer);
      if (held) client.write(Buffer.concat(held.splice(0)));
      held = undefined;
    };
    client.on('data', (chunk: Buffer) => {
      // QEMU answers in order: a later command's reply would follow cont's, so cont's goes first.
      release();
      upstream.write(chunk);
      if (!CONT[proxied.monitor].test(chunk.toString('latin1'))) return;
      held = [];
      timer = setTimeout(release, HOLD_MS);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (held) held.push(chunk);
      else client.write(chunk);
    });
    client.on('close', () => {
      clearTimeout(timer);
      upstream.destroy();
    });
    upstream.on('close', () => held === undefined && client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.resume();
  }).listen(proxied.path);
}

async function main(): Promise<void> {
  const [real, reapDelay, ...args] = process.argv.slice(2);
  if (!real || !reapDelay) throw new Error('usage: qemu.ts <real qemu> <reap delay in ms> [qemu arguments]');
  const proxied = interpose(args);
  // Like launch(): QEMU dies with this process even if it is killed by SIGKILL.
  const setpriv = existsSync('/usr/bin/setpriv');
  const qemu = spawn(setpriv ? '/usr/bin/setpriv' : real, setpriv ? ['--pdeathsig', 'KILL', '--', real, ...args] : args, {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => qemu.kill(signal));
  const clients = new Set<Socket>();
  const servers = proxied.map((p) => serve(p, qemu, clients));
  qemu.on('exit', async (code, signal) => {
    // The held replies are never sent: the connection ends as QEMU's own would at its exit.
    for (const client of clients) client.destroy();
    for (const server of servers) server.close();
    await Promise.all(proxied.map((p) => rm(p.path, { force: true })));
    // The owner learns of the exit this much later, as on a loaded machine that reaps QEMU late.
    await sleep(Number(reapDelay));
    if (!signal) process.exit(code ?? 1);
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  });
}

await main();
