/**
 * The Kubernetes spec source: this node's VtepNodeState, and nothing else.
 *
 * A reflector for one object: list with `fieldSelector=metadata.name=NODE`
 * (so the apiserver sends only this node's object, never the other
 * thousands), then watch from the list's resourceVersion with bookmarks,
 * resuming from the last resourceVersion seen after a dropped stream and
 * re-listing only when the apiserver answers 410 Gone (the version has
 * been compacted away) or something unexpected happened. Failures back off
 * exponentially; nothing here throws out of the loop, so an apiserver
 * outage never becomes a crash loop — the engine keeps running on the last
 * spec and the kernel/OVS edges keep following the kernel.
 *
 * EvpnFabric is not watched: the operator resolves the fabric's settings
 * into `spec` (DESIGN 3), so the node's object is the agent's whole input.
 *
 * What reaches the agent:
 *   - a changed spec (by generation and content; the status-only events
 *     our own writes cause are filtered out) → `setSpec`;
 *   - a spec that fails validation → `rejectSpec` (the previous one keeps
 *     running, status says why);
 *   - the object deleted (the node left the fabric's selection) → the last
 *     spec with no groups: the agent withdraws what it programmed for
 *     groups, keeps the fabric's settings and keeps mirroring.
 * Every observed object (and its status) is also handed to `onObserved`, so
 * the status sink knows what the apiserver holds.
 */
import { API_GROUP_VERSION, checkVtepNodeState } from '../../api/index.js';
import type { Logger } from '../../util/log.js';
import { sleep } from '../../util/shutdown.js';
import { backoffDelay } from '../../util/workqueue.js';
import type { NodeSpec } from '../model.js';
import { nodeSpecFrom } from '../spec.js';
import { KubeApiError, isOutage, type KubeTransport, type WatchEvent } from './api.js';
import type { ApiserverHealth } from './apiserver-health.js';
import type { KubeEdgeMetrics } from './metrics.js';

export const VTEP_NODE_STATES_PATH = `/apis/${API_GROUP_VERSION}/vtepnodestates`;

/** The agent's side of the seam (Agent implements it; so does StateFileSource's target). */
export interface SpecTarget {
  setSpec(spec: NodeSpec): void;
  rejectSpec(message: string): void;
}

/** The node's object as the apiserver holds it now; `exists: false` when there is none. */
export type ObservedNodeState = { exists: true; resourceVersion: string; status: unknown } | { exists: false };

export interface NodeStateSourceOptions {
  transport: KubeTransport;
  node: string;
  target: SpecTarget;
  log: Logger;
  health: ApiserverHealth;
  metrics?: KubeEdgeMetrics;
  onObserved?: (observed: ObservedNodeState) => void;
  /** Server-side watch timeout; each watch picks a value in [t, 2t) so agents do not reconnect in step. */
  watchTimeoutSeconds?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** The watch's resourceVersion is too old (410 Gone, as HTTP status or as an ERROR event). */
class Gone extends Error {}

interface ObjectMetaLike {
  name?: unknown;
  resourceVersion?: unknown;
  generation?: unknown;
}

export class NodeStateSource {
  private resourceVersion: string | undefined;
  private lastSpecKey: string | undefined;
  private lastSpec: NodeSpec | undefined;
  private failures = 0;
  private listedOnce = false;
  private markListed!: () => void;
  private readonly firstList = new Promise<void>((resolve) => (this.markListed = resolve));
  private readonly abort = new AbortController();
  private loopDone: Promise<void> | undefined;
  private readonly fieldSelector: string;

  private cutBackoffShort: (() => void) | undefined;

  constructor(private readonly opts: NodeStateSourceOptions) {
    this.fieldSelector = `metadata.name=${opts.node}`;
    // The status writer got an answer: the outage is over, stop waiting out the backoff.
    opts.health.onBack(() => this.cutBackoffShort?.());
  }

  /** True once one list has been answered (the agent knows whether its object exists). */
  get synced(): boolean {
    return this.listedOnce;
  }

  /**
   * Starts the list/watch loop and returns at once: an apiserver that is
   * down at start is an outage like any other (the loop retries).
   * `listed` resolves after the first answered list.
   */
  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Resolves once the first list has been answered (or the source stopped). */
  get listed(): Promise<void> {
    return this.firstList;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.markListed();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    const { log } = this.opts;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === undefined) {
          await this.list();
          this.markListed();
        }
        const opened = performance.now();
        await this.watch();
        // The server ended the stream at its timeout: resume at once — unless
        // streams keep ending as soon as they open (a proxy cutting them),
        // which must not become a tight loop of requests.
        if (performance.now() - opened < 1000) {
          this.failures += 1;
          await this.pause(backoffDelay(this.failures, { baseDelayMs: this.opts.retryMinMs ?? 500, maxDelayMs: this.opts.retryMaxMs ?? 30_000 }));
        } else {
          this.failures = 0;
        }
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof Gone) {
          log.info('watch resourceVersion expired (410 Gone): listing again', { node: this.opts.node, resourceVersion: this.resourceVersion });
          this.resourceVersion = undefined;
          continue;
        }
        this.failures += 1;
        const delay = backoffDelay(this.failures, { baseDelayMs: this.opts.retryMinMs ?? 500, maxDelayMs: this.opts.retryMaxMs ?? 30_000 });
        if (isOutage(err)) {
          this.opts.health.unreachable(errorText(err));
          log.debug('VtepNodeState watch interrupted; retrying', { error: errorText(err), retryInMs: delay });
        } else {
          // An answer we did not expect (403 after an RBAC change, a bad
          // stream line): start over from a fresh list after the backoff.
          this.opts.health.answered();
          this.resourceVersion = undefined;
          log.warn('VtepNodeState list/watch failed; listing again after a pause', { error: errorText(err), retryInMs: delay });
        }
        await this.pause(delay);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    const early = new AbortController();
    this.cutBackoffShort = () => early.abort();
    const onStop = () => early.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    await sleep(ms, early.signal);
    this.abort.signal.removeEventListener('abort', onStop);
    this.cutBackoffShort = undefined;
  }

  private async list(): Promise<void> {
    const list = await this.opts.transport.request<{ metadata?: { resourceVersion?: string }; items?: unknown[] }>('GET', VTEP_NODE_STATES_PATH, {
      query: { fieldSelector: this.fieldSelector },
    });
    this.opts.health.answered();
    this.opts.metrics?.specLists.inc();
    this.listedOnce = true;
    const rv = list.metadata?.resourceVersion;
    if (typeof rv !== 'string' || rv === '') throw new KubeApiError('GET', VTEP_NODE_STATES_PATH, 200, 'InvalidResponse', 'list has no metadata.resourceVersion');
    const items = Array.isArray(list.items) ? list.items : [];
    const mine = items.find((o) => metaOf(o).name === this.opts.node);
    if (mine) this.applyObject(mine as Record<string, unknown>);
    else this.applyAbsent();
    this.resourceVersion = rv;
  }

  private async watch(): Promise<void> {
    const t = this.opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = t + Math.floor(Math.random() * t);
    await this.opts.transport.watch(
      VTEP_NODE_STATES_PATH,
      {
        query: { fieldSelector: this.fieldSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) },
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
    this.failures = 0;
    if (event.type === 'ERROR') {
      const status = event.object as { code?: unknown; reason?: unknown; message?: unknown };
      if (status.code === 410) throw new Gone();
      throw new KubeApiError('WATCH', VTEP_NODE_STATES_PATH, typeof status.code === 'number' ? status.code : 0, typeof status.reason === 'string' ? status.reason : 'Unknown', typeof status.message === 'string' ? status.message : '');
    }
    const rv = metaOf(event.object).resourceVersion;
    if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return;
    if (metaOf(event.object).name !== this.opts.node) return;
    if (event.type === 'DELETED') this.applyAbsent();
    else this.applyObject(event.object);
  }

  private applyObject(obj: Record<string, unknown>): void {
    const meta = metaOf(obj);
    this.opts.onObserved?.({ exists: true, resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '', status: obj.status });
    // Our own status writes come back as MODIFIED events: only a different
    // generation or spec is news for the engine.
    const key = `${String(meta.generation)}:${JSON.stringify(obj.spec)}`;
    if (key === this.lastSpecKey) return;
    this.lastSpecKey = key;
    // Only the spec is the agent's input: a status another writer left
    // behind must not make a good spec fail validation.
    const checked = checkVtepNodeState({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata, spec: obj.spec });
    if (!checked.ok) {
      const message = `VtepNodeState ${this.opts.node} (generation ${String(meta.generation)}) rejected: ${checked.error.message}`;
      this.opts.log.error(message);
      this.opts.target.rejectSpec(message);
      return;
    }
    const spec = nodeSpecFrom(checked.value);
    this.lastSpec = spec;
    this.opts.log.info('desired state applied', { node: this.opts.node, generation: spec.generation, groups: spec.groups.length, resourceVersion: meta.resourceVersion });
    this.opts.target.setSpec(spec);
  }

  private applyAbsent(): void {
    this.opts.onObserved?.({ exists: false });
    if (this.lastSpecKey === 'absent') return;
    const hadSpec = this.lastSpecKey !== undefined;
    this.lastSpecKey = 'absent';
    if (!this.lastSpec) {
      this.opts.log.info('no VtepNodeState for this node yet: waiting for the operator to create it', { node: this.opts.node });
      return;
    }
    if (hadSpec && this.lastSpec.groups.length > 0) {
      this.opts.log.warn('VtepNodeState deleted (node no longer selected by a fabric): withdrawing its groups', { node: this.opts.node, groups: this.lastSpec.groups.length });
    }
    this.lastSpec = { ...this.lastSpec, groups: [] };
    this.opts.target.setSpec(this.lastSpec);
  }
}

function metaOf(obj: unknown): ObjectMetaLike {
  const meta = (obj as { metadata?: unknown } | null)?.metadata;
  return typeof meta === 'object' && meta !== null ? meta : {};
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
