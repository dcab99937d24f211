/**
 * The Kubernetes status sink: writes the agent's status into
 * `vtepnodestates/NODE/status`, coalesced.
 *
 * - At most one write per `minIntervalMs` (1 s) and one in flight: while a
 *   write waits or runs, newer statuses replace the pending one, so a churn
 *   of kernel changes costs at most one write per second per node (DESIGN 6).
 * - No write when the apiserver already holds this status. "Equal" ignores
 *   `lastSyncTime`, `lastReportTime` (stamped on each write: the REPORTED
 *   column) and the conditions' `lastTransitionTime`: the agent
 *   refreshes the first on every sync and resets the second when it
 *   restarts, and neither alone is worth an etcd write — so `lastSyncTime`
 *   on the server is the time of the last sync that changed something
 *   (liveness is what the metrics and /healthz are for).
 * - Level-triggered against what the apiserver holds (fed by the spec
 *   watch through `observe`): a restarted agent whose status is already
 *   there writes nothing; a status someone else overwrote is rewritten
 *   once. A status the apiserver stores in another form (defaults, pruning)
 *   is not rewritten in a loop: after a write, the returned form counts as
 *   the written one until either side changes.
 * - The write is a JSON Patch `add /status`: it replaces the whole status
 *   (a JSON merge patch would keep map keys the new status no longer has,
 *   e.g. a `learned.invalid` reason that went away) and needs no read first.
 * - After a (re)start, writes wait until the agent first reports Ready
 *   (or `startupHoldMs`, 5 s, passed): the statuses of a starting agent
 *   ("no desired state yet", "OVS not connected yet") are not news to
 *   anyone, and writing them would flip a healthy node to not-ready in the
 *   apiserver on every agent restart — for every group, on every node of a
 *   DaemonSet rollout.
 * - Failures back off exponentially (1 s … 16 s); an apiserver outage only
 *   delays the write — the dataplane does not wait for it — and when the
 *   apiserver answers again (ApiserverHealth) the write goes out at once.
 *   404 (the operator has not created the object yet, or deleted it) waits
 *   for the watch to see the object.
 */
import type { VtepNodeStateStatus } from '../../api/index.js';
import type { Logger } from '../../util/log.js';
import { backoffDelay } from '../../util/workqueue.js';
import { KubeApiError, isOutage, type KubeTransport } from './api.js';
import type { ApiserverHealth } from './apiserver-health.js';
import type { KubeEdgeMetrics } from './metrics.js';
import { VTEP_NODE_STATES_PATH, type ObservedNodeState } from './node-state-source.js';

export const AGENT_FIELD_MANAGER = 'evpn-ecmp-agent';

export interface StatusWriterOptions {
  transport: KubeTransport;
  node: string;
  log: Logger;
  health: ApiserverHealth;
  metrics?: KubeEdgeMetrics;
  /** Shortest time between two writes (default 1000). */
  minIntervalMs?: number;
  /** Backoff after failed writes (default 1000 … 16000). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest wait for the agent's first Ready status before writing anyway (default 5000). */
  startupHoldMs?: number;
  /** Monotonic milliseconds (default performance.now; tests pass a fake clock). */
  now?: () => number;
  /** Wall-clock milliseconds for lastReportTime (default Date.now). */
  clock?: () => number;
}

export class StatusWriter {
  private desired: VtepNodeStateStatus | undefined;
  private desiredKey = '';
  /** What the apiserver holds: undefined = not known yet. */
  private server: { exists: boolean; key?: string; resourceVersion?: string } | undefined;
  private lastWrite: { desiredKey: string; serverKey: string } | undefined;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastAttemptAt = -Infinity;
  private notBefore = -Infinity;
  private failures = 0;
  private lastErrorReason = '';
  private stopped = false;
  /** Until when a starting agent's statuses are held (undefined: no status seen yet). */
  private holdUntil: number | undefined;
  private released = false;
  private readonly minIntervalMs: number;
  private readonly path: string;
  private readonly now: () => number;

  constructor(private readonly opts: StatusWriterOptions) {
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.now = opts.now ?? (() => performance.now());
    this.path = `${VTEP_NODE_STATES_PATH}/${encodeURIComponent(opts.node)}/status`;
    opts.health.onBack(() => {
      // The backoff was for the outage, which is over: only the rate limit remains.
      this.notBefore = this.lastAttemptAt + this.minIntervalMs;
      this.reschedule();
    });
  }

  /** The agent's onStatus: the latest status wins. */
  write(status: VtepNodeStateStatus): void {
    this.desired = status;
    this.desiredKey = statusKey(status);
    this.holdUntil ??= this.now() + (this.opts.startupHoldMs ?? 5000);
    if (!this.released && status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) this.released = true;
    this.reschedule();
  }

  /** What the apiserver holds now (from the spec watch). */
  observe(observed: ObservedNodeState): void {
    if (!observed.exists) {
      this.server = { exists: false };
      return;
    }
    const known = this.server;
    // Events can arrive after the response of a later write: an older
    // resourceVersion says nothing new. (Kubernetes resourceVersions are
    // etcd revisions; compared only when both are decimal.)
    if (known?.resourceVersion && olderThan(observed.resourceVersion, known.resourceVersion)) return;
    const appeared = known?.exists === false;
    this.server = { exists: true, key: statusKey(observed.status), resourceVersion: observed.resourceVersion };
    if (appeared) {
      this.failures = 0;
      this.notBefore = this.lastAttemptAt + this.minIntervalMs;
    }
    this.reschedule();
  }

  /** Whether a write is owed: a status the apiserver does not hold yet. */
  get pending(): boolean {
    const d = this.desired;
    if (!d || this.server?.exists === false) return false;
    const serverKey = this.server?.key;
    if (serverKey === this.desiredKey) return false;
    return !(this.lastWrite && this.lastWrite.desiredKey === this.desiredKey && this.lastWrite.serverKey === serverKey);
  }

  /** At shutdown: waits for a write in flight and sends a pending one now, within `timeoutMs`. */
  async flush(timeoutMs = 3000): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    const work = (async () => {
      if (this.writing) await this.writing;
      if (this.pending && !this.stopped) await this.send();
    })();
    await Promise.race([work, deadline]);
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private reschedule(): void {
    if (this.stopped || this.writing || !this.pending) return;
    clearTimeout(this.timer);
    const notBefore = this.released ? this.notBefore : Math.max(this.notBefore, this.holdUntil ?? 0);
    const delay = Math.max(0, notBefore - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.writing && this.pending && !this.stopped) void this.send();
    }, delay);
    this.timer.unref();
  }

  private send(): Promise<void> {
    this.writing = this.patch().finally(() => {
      this.writing = undefined;
      this.reschedule();
    });
    return this.writing;
  }

  private async patch(): Promise<void> {
    const { transport, log, health, metrics } = this.opts;
    this.released = true;
    // lastReportTime: when this status was written (the REPORTED column); not part of its key.
    const status: VtepNodeStateStatus = { ...this.desired!, lastReportTime: new Date((this.opts.clock ?? Date.now)()).toISOString() };
    const key = this.desiredKey;
    this.lastAttemptAt = this.now();
    this.notBefore = this.lastAttemptAt + this.minIntervalMs;
    try {
      const written = await transport.request<{ metadata?: { resourceVersion?: string }; status?: unknown }>('PATCH', this.path, {
        body: [{ op: 'add', path: '/status', value: status }],
        contentType: 'application/json-patch+json',
        query: { fieldManager: AGENT_FIELD_MANAGER },
        timeoutMs: this.opts.requestTimeoutMs ?? 10_000,
      });
      health.answered();
      metrics?.statusWrites.inc();
      const serverKey = statusKey(written.status);
      this.server = { exists: true, key: serverKey, resourceVersion: written.metadata?.resourceVersion };
      this.lastWrite = { desiredKey: key, serverKey };
      if (this.failures > 0) log.info('status written again after failures', { failures: this.failures });
      this.failures = 0;
      this.lastErrorReason = '';
      log.debug('status written', { resourceVersion: written.metadata?.resourceVersion, observedGeneration: status.observedGeneration });
    } catch (err) {
      this.failures += 1;
      const reason = failureReason(err);
      metrics?.statusWriteErrors.inc({ reason });
      if (isOutage(err)) health.unreachable(errText(err));
      else health.answered();
      if (err instanceof KubeApiError && err.status === 404) this.server = { exists: false };
      const delay = backoffDelay(this.failures, { baseDelayMs: this.opts.retryMinMs ?? 1000, maxDelayMs: this.opts.retryMaxMs ?? 16_000 });
      this.notBefore = this.lastAttemptAt + Math.max(this.minIntervalMs, delay);
      // One line per kind of failure, not one per retry of an outage.
      if (reason !== this.lastErrorReason) {
        this.lastErrorReason = reason;
        const fields = { reason, error: errText(err), retryInMs: delay };
        if (reason === 'NotFound') log.info('VtepNodeState not found: status waits until the operator creates it', fields);
        else if (reason === 'Unreachable') log.warn('status write failed: apiserver unreachable; retrying with backoff', fields);
        else log.error('status write refused; retrying with backoff', fields);
      }
    }
  }
}

/** The comparison key of a status: canonical JSON without the fields that only say "time passed". */
export function statusKey(status: unknown): string {
  if (status === undefined || status === null) return '';
  const s = { ...(status as Record<string, unknown>) };
  delete s.lastSyncTime;
  delete s.lastReportTime;
  if (Array.isArray(s.conditions)) {
    s.conditions = (s.conditions as unknown[]).map((c) => {
      if (typeof c !== 'object' || c === null) return c;
      const { lastTransitionTime: _t, ...rest } = c as Record<string, unknown>;
      return rest;
    });
  }
  return canonicalJson(s);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

function olderThan(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

function failureReason(err: unknown): string {
  if (err instanceof KubeApiError) return err.status >= 500 ? 'Unreachable' : err.reason;
  if (isOutage(err)) return 'Unreachable';
  return 'Error';
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
