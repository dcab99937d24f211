/**
 * Lets a process inside a test network namespace reach the test's
 * kube-apiserver, which listens on the host namespace's loopback: the
 * namespace has no link to the host (DESIGN 9), so the connection crosses
 * through a unix socket (filesystems are shared across network namespaces).
 *
 *   agent ──TCP 127.0.0.1:P (netns)──► relay-child ──unix──► this relay ──TCP 127.0.0.1:P (host)──► kube-apiserver
 *
 * The port is the apiserver's own, so the apiserver's kubeconfig (and its
 * certificate for 127.0.0.1) works unchanged inside the namespace. TLS goes
 * through untouched. A stopped apiserver shows up inside as refused-then-
 * reset connections; so does `cut()`, a partition between the namespace and
 * an apiserver that keeps running (others can change objects meanwhile).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from '../../harness/cleanup.js';
import { stopChild, type Netns } from '../../harness/netns.js';

const CHILD = new URL('./relay-child.ts', import.meta.url).pathname;

function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', end);
    s.on('close', end);
  }
}

export class ApiserverRelay {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    private readonly partition: { cut: boolean },
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly unregister: () => void,
  ) {}

  static async start(ns: Netns, apiserverUrl: string): Promise<ApiserverRelay> {
    const port = Number(new URL(apiserverUrl).port);
    const dir = mkdtempSync(join(tmpdir(), 'evpn-relay-'));
    const unregister = registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'apiserver.sock');
    const sockets = new Set<Socket>();
    const partition = { cut: false };
    const server = createServer((inner) => {
      if (partition.cut) {
        inner.destroy();
        return;
      }
      const outer = connect(port, '127.0.0.1');
      for (const s of [inner, outer]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      }
      splice(inner, outer);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    const child = ns.spawn(process.execPath, ['--import', 'tsx', CHILD, String(port), socketPath]);
    const relay = new ApiserverRelay(server, sockets, partition, child, dir, unregister);
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout?.setEncoding('utf8');
        child.stdout?.on('data', (c: string) => {
          out += c;
          if (out.includes('listening')) resolve();
        });
        let err = '';
        child.stderr?.setEncoding('utf8');
        child.stderr?.on('data', (c: string) => (err += c));
        child.once('exit', (code) => reject(new Error(`relay child exited (${code}): ${err}`)));
        setTimeout(() => reject(new Error(`relay child not listening after 20 s: ${err}`)), 20_000).unref();
      });
    } catch (e) {
      await relay.stop();
      throw e;
    }
    return relay;
  }

  /** Cuts every connection through the relay and refuses new ones until `heal()`. */
  cut(): void {
    this.partition.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.partition.cut = false;
  }

  async stop(): Promise<void> {
    await stopChild(this.child).catch(() => undefined);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
    this.unregister();
  }
}
