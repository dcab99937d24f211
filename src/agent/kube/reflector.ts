/**
 * A reflector (client-go's word): keeps what the apiserver holds for one
 * field selector mirrored in a sink — this node's VtepNodeState, this
 * node's Node, the VtepGroups of its fabric.
 *
 * List with the field selector (the apiserver sends only the matching
 * objects), then watch from the list's resourceVersion with bookmarks,
 * resuming from the last resourceVersion seen after a dropped stream and
 * listing again only when the apiserver answers 410 Gone (the version was
 * compacted away) or something unexpected happened. Each list hands the
 * sink the whole set (`replace`: the sink works out what changed); each
 * watch event is handed on as it is. Failures back off exponentially
 * (0.5 s … 30 s); streams that end as soon as they open back off too; a
 * silent stream is abandoned 30 s after its server-side timeout. Nothing
 * here throws out of the loop — an apiserver outage never becomes a crash
 * loop, and the sink keeps what it has until the apiserver answers again.
 * A sink that throws fails the stream, which then starts over from a list.
 */
import type { Logger } from '../../util/log.js';
import { sleep } from '../../util/shutdown.js';
import { backoffDelay } from '../../util/workqueue.js';
import { KubeApiError, isOutage, type KubeTransport, type WatchEvent } from './api.js';
import type { ApiserverHealth } from './apiserver-health.js';

/** An object as the apiserver sends it (checked by the sink). */
export type KubeObject = Record<string, unknown>;

export interface ReflectorSink {
  /** A list's answer: every matching object there is now. */
  replace(objects: KubeObject[]): void;
  /** One watch event, in the apiserver's order. */
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void;
}

export interface ReflectorOptions {
  transport: KubeTransport;
  /** Collection path, e.g. /api/v1/nodes. */
  path: string;
  fieldSelector: string;
  /** What is reflected, for logs and metrics (the resource's plural). */
  resource: string;
  sink: ReflectorSink;
  log: Logger;
  health: ApiserverHealth;
  /** Counts each list and each watch event (metrics). */
  onList?: () => void;
  onWatchEvent?: () => void;
  /** Server-side watch timeout; each watch picks a value in [t, 2t) so agents do not reconnect in step. */
  watchTimeoutSeconds?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** The watch's resourceVersion is too old (410 Gone, as HTTP status or as an ERROR event). */
class Gone extends Error {}

export class Reflector {
  private resourceVersion: string | undefined;
  private failures = 0;
  private listedOnce = false;
  private markListed!: () => void;
  private readonly firstList = new Promise<void>((resolve) => (this.markListed = resolve));
  private readonly abort = new AbortController();
  private loopDone: Promise<void> | undefined;
  private cutBackoffShort: (() => void) | undefined;
  private readonly stopHearing: () => void;

  constructor(private readonly opts: ReflectorOptions) {
    // Another exchange got an answer: the outage is over, stop waiting out the backoff.
    this.stopHearing = opts.health.onBack(() => this.cutBackoffShort?.());
  }

  /** True once a list has been answered: the sink holds a whole set. */
  get synced(): boolean {
    return this.listedOnce;
  }

  /** Resolves once the first list has been answered (or the reflector stopped). */
  get listed(): Promise<void> {
    return this.firstList;
  }

  /** Starts the list/watch loop and returns at once: an apiserver that is down is an outage like any other. */
  start(): void {
    this.loopDone ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.stopHearing();
    this.markListed();
    await this.loopDone;
  }

  private get retry() {
    return { baseDelayMs: this.opts.retryMinMs ?? 500, maxDelayMs: this.opts.retryMaxMs ?? 30_000 };
  }

  private async loop(): Promise<void> {
    const { log, resource, fieldSelector } = this.opts;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        const opened = performance.now();
        await this.watch();
        // Stopping ends the stream too, however young: that is no proxy cutting it.
        if (signal.aborted) break;
        // The server ended the stream at its timeout: resume at once — unless
        // streams keep ending as soon as they open (a proxy cutting them),
        // which must not become a tight loop of requests.
        if (performance.now() - opened < 1000) {
          this.failures += 1;
          await this.pause(backoffDelay(this.failures, this.retry));
        } else {
          this.failures = 0;
        }
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof Gone) {
          log.info('watch resourceVersion expired (410 Gone): listing again', { resource, fieldSelector, resourceVersion: this.resourceVersion });
          this.resourceVersion = undefined;
          continue;
        }
        this.failures += 1;
        const delay = backoffDelay(this.failures, this.retry);
        if (isOutage(err)) {
          this.opts.health.unreachable(errorText(err));
          log.debug('watch interrupted; retrying', { resource, error: errorText(err), retryInMs: delay });
        } else {
          // An answer we did not expect (403 after an RBAC change, a bad
          // stream line, a sink that failed): start over from a fresh list
          // after the backoff.
          this.opts.health.answered();
          this.resourceVersion = undefined;
          log.warn('list/watch failed; listing again after a pause', { resource, fieldSelector, error: errorText(err), retryInMs: delay });
        }
        await this.pause(delay);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    // The stop signal may have fired already: an abort listener added now would never run.
    if (this.abort.signal.aborted) return;
    const early = new AbortController();
    this.cutBackoffShort = () => early.abort();
    const onStop = () => early.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    await sleep(ms, early.signal);
    this.abort.signal.removeEventListener('abort', onStop);
    this.cutBackoffShort = undefined;
  }

  private async list(): Promise<void> {
    const { path, transport } = this.opts;
    const list = await transport.request<{ metadata?: { resourceVersion?: string }; items?: unknown[] }>('GET', path, { query: { fieldSelector: this.opts.fieldSelector } });
    this.opts.health.answered();
    this.opts.onList?.();
    const rv = list.metadata?.resourceVersion;
    if (typeof rv !== 'string' || rv === '') throw new KubeApiError('GET', path, 200, 'InvalidResponse', 'list has no metadata.resourceVersion');
    const items = (Array.isArray(list.items) ? list.items : []).filter((o): o is KubeObject => typeof o === 'object' && o !== null && !Array.isArray(o));
    if (this.abort.signal.aborted) return;
    this.opts.sink.replace(items);
    this.resourceVersion = rv;
    this.listedOnce = true;
    this.markListed();
  }

  private async watch(): Promise<void> {
    const t = this.opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = t + Math.floor(Math.random() * t);
    await this.opts.transport.watch(
      this.opts.path,
      {
        query: { fieldSelector: this.opts.fieldSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) },
        // The server closes the stream at timeoutSeconds; silence well past
        // that means the connection is dead without a reset (partition).
        idleTimeoutMs: (timeoutSeconds + 30) * 1000,
        signal: this.abort.signal,
      },
      (event) => this.onEvent(event),
    ).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.status === 410) throw new Gone();
      throw err;
    });
  }

  private onEvent(event: WatchEvent): void {
    this.opts.health.answered();
    this.opts.onWatchEvent?.();
    this.failures = 0;
    if (event.type === 'ERROR') {
      const status = event.object as { code?: unknown; reason?: unknown; message?: unknown };
      if (status.code === 410) throw new Gone();
      throw new KubeApiError('WATCH', this.opts.path, typeof status.code === 'number' ? status.code : 0, typeof status.reason === 'string' ? status.reason : 'Unknown', typeof status.message === 'string' ? status.message : '');
    }
    if (this.abort.signal.aborted) return;
    const rv = metaOf(event.object).resourceVersion;
    if (event.type !== 'BOOKMARK') this.opts.sink.event(event.type, event.object);
    // After the sink took it: an event the sink failed on is seen again after the relist.
    if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
  }
}

/** metadata of an object as the apiserver sent it, unchecked. */
export function metaOf(obj: unknown): { name?: unknown; resourceVersion?: unknown; generation?: unknown; labels?: unknown; deletionTimestamp?: unknown } {
  const meta = (obj as { metadata?: unknown } | null)?.metadata;
  return typeof meta === 'object' && meta !== null ? meta : {};
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
