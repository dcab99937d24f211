/**
 * An in-memory KubeTransport for unit tests of the source and the writer:
 * every request and watch is recorded; answers come from handlers the test
 * sets; a watch stays open until the test pushes events into it, ends it,
 * or fails it. (The real apiserver is exercised in test/integration/agent-kube.)
 */
import type { KubeTransport, RequestOptions, WatchEvent, WatchOptions } from '../../../../src/agent/kube/api.js';

export interface RecordedRequest {
  method: string;
  path: string;
  options: RequestOptions;
}

export class OpenWatch {
  private settle!: { resolve: () => void; reject: (err: unknown) => void };
  readonly done: Promise<void>;
  closed = false;

  constructor(
    readonly path: string,
    readonly options: WatchOptions,
    private readonly onEvent: (event: WatchEvent) => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    options.signal?.addEventListener('abort', () => this.end(), { once: true });
  }

  /** Delivers an event; an exception from the consumer fails the watch, as in the real transport. */
  push(event: WatchEvent): void {
    if (this.closed) throw new Error('watch already closed');
    try {
      this.onEvent(event);
    } catch (err) {
      this.fail(err);
    }
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.settle.resolve();
  }

  fail(err: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.settle.reject(err);
  }
}

export class FakeTransport implements KubeTransport {
  readonly requests: RecordedRequest[] = [];
  readonly watches: OpenWatch[] = [];
  handler: (req: RecordedRequest) => unknown = () => {
    throw new Error('no handler');
  };
  /** Fails a new watch at once instead of opening it (an error, or undefined to open). */
  watchRefusal: (() => unknown) | undefined;
  private watchWaiters: Array<() => void> = [];

  // async: a handler that throws becomes a rejected request, as in the real transport.
  // eslint-disable-next-line @typescript-eslint/require-await
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const req = { method, path, options };
    this.requests.push(req);
    return this.handler(req) as T;
  }

  watch(path: string, options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<void> {
    const w = new OpenWatch(path, options, onEvent);
    this.watches.push(w);
    for (const wake of this.watchWaiters.splice(0)) wake();
    const refusal = this.watchRefusal?.();
    if (refusal !== undefined) w.fail(refusal);
    return w.done;
  }

  /** The n-th watch (0-based), waiting for it to be opened. */
  async watchNumber(n: number, timeoutMs = 2000): Promise<OpenWatch> {
    const deadline = Date.now() + timeoutMs;
    while (this.watches.length <= n) {
      if (Date.now() > deadline) throw new Error(`watch #${n} not opened (have ${this.watches.length})`);
      await new Promise<void>((resolve) => {
        this.watchWaiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
    return this.watches[n]!;
  }

  close(): void {}
}
