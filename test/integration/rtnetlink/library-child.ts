import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stopChild, type Netns } from '../../harness/netns.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export interface ChildError {
  name: string;
  message: string;
  errno?: number;
  code?: string;
  extack?: string;
}

/** The error a child call rejected with, carrying the library error's fields. */
export class ChildCallError extends Error {
  constructor(readonly detail: ChildError) {
    super(detail.message);
    this.name = detail.name;
  }
}

/**
 * Drives the rtnetlink library in a child process inside `ns` (see child.ts):
 * `call('listNexthops')` runs a client method there; events of subscriptions
 * collect in `events`.
 */
export class LibraryChild {
  readonly events: Record<string, any>[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private eventWaiters: (() => void)[] = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {}

  static async start(ns: Netns, clientOptions: Record<string, unknown> = {}): Promise<LibraryChild> {
    const child = ns.spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, RTNL_CLIENT_OPTIONS: JSON.stringify(clientOptions) } });
    const lc = new LibraryChild(child);
    child.stderr!.on('data', (d: Buffer) => (lc.stderr += d.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`library child exited (${code}): ${lc.stderr}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const msg = JSON.parse(line);
        if (msg.ready) resolve();
        else if (msg.event) {
          lc.events.push(msg.event);
          for (const w of lc.eventWaiters.splice(0)) w();
        } else {
          const w = lc.waiting.get(msg.id);
          lc.waiting.delete(msg.id);
          if (msg.ok) w?.resolve(msg.result);
          else w?.reject(new ChildCallError(msg.error));
        }
      });
    });
    await ready;
    return lc;
  }

  call<T = any>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.stdin!.write(JSON.stringify({ id, method, args }) + '\n');
    });
  }

  /** Waits until `pred` holds over the events seen so far (polling on each new event). */
  async waitFor(pred: (events: Record<string, any>[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for events; have ${JSON.stringify(this.events.slice(-20))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.eventWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Events seen so far, then forgets them. */
  take(): Record<string, any>[] {
    return this.events.splice(0);
  }

  async stop(): Promise<void> {
    this.child.stdin?.end();
    await stopChild(this.child);
  }
}
