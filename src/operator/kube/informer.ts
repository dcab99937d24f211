/**
 * A watched, cached view of one resource: `@kubernetes/client-node`'s
 * list-then-watch informer, plus what it leaves to its user — restarting
 * after a watch error (its informer stops on errors; it relists on its own
 * only after 410 Gone), a "has synced" flag for readiness, and a single
 * change callback for the controller.
 */
import { makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../../util/log.js';
import { backoffDelay } from '../../util/workqueue.js';
import type { ResourceApi } from './client.js';

export type ChangeKind = 'add' | 'update' | 'delete';

export interface WatchedCacheOptions {
  /** Only objects with these labels (list and watch), e.g. `evpn.ecmp.dev/heartbeat=agent`. */
  labelSelector?: string;
  /** The watch failed: until `onResumed`, the cache may miss changes. */
  onInterrupted?: () => void;
  /** The watch is being established again after a failure. */
  onResumed?: () => void;
}

export class WatchedCache<T extends { metadata: { name: string } }> {
  private informer: (Informer<KubernetesObject> & ObjectCache<KubernetesObject>) | undefined;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private hasSynced = false;
  private listedOnce = false;
  private settle: (() => void) | undefined;
  /** A failure since the watch last (re)connected. */
  private interrupted = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly api: ResourceApi<T>,
    private readonly log: Logger,
    private readonly onChange: (kind: ChangeKind, obj: T) => void,
    private readonly options: WatchedCacheOptions = {},
  ) {}

  get resource(): string {
    return this.api.plural;
  }

  /** True once the first full list has been loaded. */
  get synced(): boolean {
    return this.hasSynced;
  }

  /**
   * Lists and starts watching; resolves once the first list has been loaded
   * into the cache (retrying with backoff until it is), or when stopped.
   */
  start(): Promise<void> {
    const { labelSelector } = this.options;
    const listFn = async () => {
      const list = await this.api.list(labelSelector === undefined ? undefined : { labelSelector });
      this.listedOnce = true;
      return list as unknown as { apiVersion: string; kind: string; metadata: { resourceVersion?: string }; items: KubernetesObject[] };
    };
    const informer = makeInformer<KubernetesObject>(this.kc, this.api.collectionPath, listFn, labelSelector);
    this.informer = informer;
    for (const kind of ['add', 'update', 'delete'] as const) {
      informer.on(kind, (obj) => {
        this.failures = 0;
        this.onChange(kind, obj as unknown as T);
      });
    }
    // The informer reports list and watch failures here and then stops.
    informer.on('error', (err: unknown) => this.restartAfterError(err));
    informer.on('connect', () => {
      if (!this.interrupted) return;
      this.interrupted = false;
      this.options.onResumed?.();
    });
    const synced = new Promise<void>((resolve) => (this.settle = resolve));
    this.run();
    return synced;
  }

  private run(): void {
    if (this.stopped || !this.informer) return;
    // start() resumes from the last resourceVersion, or relists after 410 Gone.
    this.informer.start().then(
      () => {
        if (this.listedOnce && !this.hasSynced) {
          this.hasSynced = true;
          this.log.debug('cache synced', { resource: this.resource, objects: this.list().length });
          this.settle?.();
        }
      },
      (err: unknown) => this.restartAfterError(err),
    );
  }

  private restartAfterError(err: unknown): void {
    if (this.stopped) return;
    if (!this.interrupted) this.options.onInterrupted?.();
    this.interrupted = true;
    this.failures++;
    const delay = backoffDelay(this.failures, { baseDelayMs: 500, maxDelayMs: 30_000 });
    this.log.warn('watch failed; restarting', { resource: this.resource, retryInMs: delay, err });
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.run(), delay);
  }

  list(): T[] {
    return (this.informer?.list() ?? []) as unknown as T[];
  }

  get(name: string): T | undefined {
    return this.informer?.get(name) as unknown as T | undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.settle?.();
    await this.informer?.stop();
  }
}
