/**
 * A list + watch of one collection through the agent's own transport
 * (src/agent/kube/api.ts: one keep-alive connection per transport), the way
 * an agent follows the VtepGroups of its fabric: list with the selector,
 * then watch from the list's resourceVersion. Every object (the listed ones
 * as ADDED) reaches `onEvent` with the monotonic time it was decoded.
 *
 * For measurements only: a stream that ends is resumed from the last
 * resourceVersion, any other failure is kept and thrown by `stop`.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeHttpTransport, type WatchEvent } from '../../src/agent/kube/api.js';

export interface KubeObject {
  metadata: { name: string; generation?: number; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export type ObjectEvent = (type: WatchEvent['type'], object: KubeObject, atMs: number) => void;

export class CollectionWatch {
  private readonly transport: KubeHttpTransport;
  private readonly abort = new AbortController();
  private failure: Error | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    config: KubeConfig,
    private readonly path: string,
    private readonly query: Record<string, string>,
    private readonly onEvent: ObjectEvent,
  ) {
    this.transport = new KubeHttpTransport(config);
  }

  /** Lists (resolves once the list is delivered), then watches in the background. */
  async start(): Promise<void> {
    type List = { metadata: { resourceVersion: string }; items: KubeObject[] };
    let list: List | undefined;
    for (let attempt = 0; !list; attempt++) {
      try {
        list = await this.transport.request<List>('GET', this.path, { query: this.query });
      } catch (err) {
        // 429 "storage is (re)initializing": the watch cache of a CRD just created.
        if (!(err instanceof KubeApiError && err.status === 429) || attempt >= 100) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const at = performance.now();
    for (const item of list.items) this.onEvent('ADDED', item, at);
    this.loop = this.watch(list.metadata.resourceVersion);
  }

  private async watch(from: string): Promise<void> {
    let resourceVersion = from;
    while (!this.abort.signal.aborted) {
      try {
        await this.transport.watch(
          this.path,
          { query: { ...this.query, resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '3600' }, idleTimeoutMs: 3_700_000, signal: this.abort.signal },
          (event) => {
            const object = event.object as unknown as KubeObject;
            if (object.metadata?.resourceVersion) resourceVersion = object.metadata.resourceVersion;
            if (event.type === 'ERROR') throw new Error(`watch ${this.path}: ${JSON.stringify(event.object)}`);
            if (event.type !== 'BOOKMARK') this.onEvent(event.type, object, performance.now());
          },
        );
      } catch (err) {
        if (!this.abort.signal.aborted) this.failure = err instanceof Error ? err : new Error(String(err));
        return;
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.transport.close();
    if (this.failure) throw this.failure;
  }
}
