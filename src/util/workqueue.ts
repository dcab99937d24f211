/**
 * A work queue with the semantics of client-go's `workqueue` that
 * level-triggered reconcilers rely on:
 *
 * - per-key dedupe: a key added while already waiting is queued once;
 * - a key is never processed by two workers at once: added while being
 *   processed, it is marked dirty and queued again when `done` is called;
 * - per-key exponential backoff for failures (`addRateLimited`), reset by
 *   `forget` after a success;
 * - delayed adds (`addAfter`), keeping only the earliest deadline per key.
 *
 * Keys are primitive values (usually "kind/name" strings).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { silentLogger, type Logger } from './log.js';

export interface BackoffOptions {
  /** Delay after the first failure (ms, default 100). */
  baseDelayMs?: number;
  /** Upper bound of the delay (ms, default 300 000). */
  maxDelayMs?: number;
}

export interface WorkQueueOptions extends BackoffOptions {
  /** Name used in metrics labels and logs. */
  name?: string;
  metrics?: WorkQueueMetrics;
}

/** Exponential backoff per key: base·2^(failures−1), capped. */
export function backoffDelay(failures: number, { baseDelayMs = 100, maxDelayMs = 300_000 }: BackoffOptions = {}): number {
  if (failures <= 0) return 0;
  // Cap the exponent so 2**n cannot overflow to Infinity for long-failing keys.
  const exp = Math.min(failures - 1, 52);
  return Math.min(baseDelayMs * 2 ** exp, maxDelayMs);
}

export class WorkQueue<K extends string | number = string> {
  readonly name: string;
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, { due: number; timer: NodeJS.Timeout }>();
  private readonly addedAt = new Map<K, number>();
  private readonly waiters: Array<(key: K | undefined) => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private shuttingDown = false;
  private readonly backoff: BackoffOptions;
  /** Metrics this queue updates, if any (runWorkers adds the work duration). */
  readonly metrics: WorkQueueMetrics | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? 'default';
    this.backoff = { baseDelayMs: options.baseDelayMs, maxDelayMs: options.maxDelayMs };
    this.metrics = options.metrics;
  }

  /** Queues `key` unless it is already waiting; no-op after shutdown. */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.adds.inc({ name: this.name });
    this.dirty.add(key);
    if (this.processing.has(key)) return; // requeued by done()
    this.enqueue(key);
  }

  /** Queues `key` after `delayMs`; an earlier pending deadline for the key wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const due = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    // A pending retry alone must not keep the process alive at shutdown.
    timer.unref();
    this.delayed.set(key, { due, timer });
  }

  /** Counts a failure for `key` and queues it after its backoff delay. */
  addRateLimited(key: K): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    this.metrics?.retries.inc({ name: this.name });
    const delay = backoffDelay(failures, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of `key` (call after it was processed successfully). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys waiting to be handed out (not counting delayed or in-flight ones). */
  get length(): number {
    return this.queue.length;
  }

  /** Keys handed out and not yet `done`. */
  get inFlight(): number {
    return this.processing.size;
  }

  /**
   * Resolves with the next key, waiting if none is queued; resolves undefined
   * once the queue is shut down. The caller must call `done(key)`.
   */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.handOut(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
    if (this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Stops handing out keys: waiting `get` calls resolve undefined, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
    this.metrics?.depth.set({ name: this.name }, 0);
  }

  /** Shuts down and resolves once every key handed out has been marked `done`. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private enqueue(key: K): void {
    this.addedAt.set(key, performance.now());
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(this.handOut(key));
      return;
    }
    this.queue.push(key);
    this.metrics?.depth.set({ name: this.name }, this.queue.length);
  }

  private handOut(key: K): K {
    this.dirty.delete(key);
    this.processing.add(key);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (this.metrics) {
      this.metrics.depth.set({ name: this.name }, this.queue.length);
      if (added !== undefined) this.metrics.queueDuration.observe({ name: this.name }, (performance.now() - added) / 1000);
    }
    return key;
  }
}

/** What a handler may ask for besides success/failure. */
export interface HandleResult {
  /** Process the key again after this delay even though it succeeded (periodic resync). */
  requeueAfterMs?: number;
}

/**
 * Runs `workers` loops that take keys and call `handle`; a throw requeues
 * the key with backoff, success forgets its failures. Resolves when the queue
 * is shut down and every loop has finished its current key.
 */
export async function runWorkers<K extends string | number>(
  queue: WorkQueue<K>,
  workers: number,
  handle: (key: K) => Promise<HandleResult | void>,
  log: Logger = silentLogger,
): Promise<void> {
  const metrics = queue.metrics;
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      try {
        const result = await handle(key);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        const delay = queue.addRateLimited(key);
        log.warn('processing failed; will retry', { queue: queue.name, key, retryInMs: delay, failures: queue.numRequeues(key), err });
      } finally {
        metrics?.workDuration.observe({ name: queue.name }, (performance.now() - started) / 1000);
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, loop));
}

export interface WorkQueueMetrics {
  depth: Gauge<'name'>;
  adds: Counter<'name'>;
  retries: Counter<'name'>;
  queueDuration: Histogram<'name'>;
  workDuration: Histogram<'name'>;
}

const seconds = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60];

/**
 * Work-queue metrics under controller-runtime's names (`workqueue_depth`,
 * `workqueue_adds_total`, ...), labelled by queue name; created once per
 * registry and shared by every queue registered in it.
 */
export function workQueueMetrics(registry: Registry): WorkQueueMetrics {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  return {
    depth: get('workqueue_depth', () => new Gauge({ name: 'workqueue_depth', help: 'Current depth of the work queue', labelNames: ['name'], registers })),
    adds: get('workqueue_adds_total', () => new Counter({ name: 'workqueue_adds_total', help: 'Keys added to the work queue (after dedupe)', labelNames: ['name'], registers })),
    retries: get('workqueue_retries_total', () => new Counter({ name: 'workqueue_retries_total', help: 'Keys requeued with backoff after a failure', labelNames: ['name'], registers })),
    queueDuration: get('workqueue_queue_duration_seconds', () => new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'Time a key waits in the queue before being processed', labelNames: ['name'], buckets: seconds, registers })),
    workDuration: get('workqueue_work_duration_seconds', () => new Histogram({ name: 'workqueue_work_duration_seconds', help: 'Time spent processing a key', labelNames: ['name'], buckets: seconds, registers })),
  };
}
