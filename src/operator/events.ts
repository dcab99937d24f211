/**
 * Kubernetes Events for state changes worth a human's attention, with the
 * two protections client-go's recorder applies so a flapping object cannot
 * flood etcd:
 *
 * - aggregation: an Event identical to one sent in the last 10 minutes (same
 *   object, type, reason, message) bumps that Event's `count` instead of
 *   creating another object;
 * - a spam filter: a token bucket per involved object (burst 25, one more
 *   token every 5 minutes, as client-go's EventSourceObjectSpamFilter);
 *   Events beyond it are dropped and counted.
 *
 * Sending is asynchronous and best effort: a failed Event is logged, never
 * fails a reconcile.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../util/log.js';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
}

export interface CoreEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  involvedObject: InvolvedObject;
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  eventTime?: string | null;
  source: { component: string };
  reportingComponent: string;
  reportingInstance: string;
}

/** Where Events go: the core/v1 events API of one namespace (a ResourceApi). */
export interface EventSink {
  create(event: CoreEvent): Promise<CoreEvent>;
  patch(name: string, body: unknown, fieldManager: string): Promise<CoreEvent>;
}

export interface EventRecorderOptions {
  events: EventSink;
  component: string;
  instance: string;
  log: Logger;
  burst?: number;
  refillMs?: number;
  aggregateWindowMs?: number;
  now?: () => number;
  /** Observes every decision (metrics): sent as new, aggregated, or dropped by the spam filter. */
  onOutcome?: (outcome: 'created' | 'aggregated' | 'dropped' | 'failed') => void;
}

/** Token bucket: `burst` tokens, one more every `refillMs`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly refillMs: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(now: number): boolean {
    const refilled = Math.floor((now - this.last) / this.refillMs);
    if (refilled > 0) {
      this.tokens = Math.min(this.burst, this.tokens + refilled);
      this.last += refilled * this.refillMs;
    }
    if (this.tokens >= this.burst) this.last = now;
    if (this.tokens <= 0) return false;
    this.tokens--;
    return true;
  }
}

/** Events about cluster-scoped objects live in "default", as client-go's recorder puts them. */
const EVENT_NAMESPACE = 'default';
const MAX_PENDING = 1000;

export class EventRecorder {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly recent = new Map<string, { event: CoreEvent; at: number }>();
  private readonly pending: Array<() => Promise<void>> = [];
  private draining: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: EventRecorderOptions) {
    this.now = options.now ?? Date.now;
  }

  normal(obj: InvolvedObject, reason: string, message: string): void {
    this.record(obj, 'Normal', reason, message);
  }

  warning(obj: InvolvedObject, reason: string, message: string): void {
    this.record(obj, 'Warning', reason, message);
  }

  record(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = this.now();
    const objectKey = `${obj.kind}/${obj.name}/${obj.uid ?? ''}`;
    let bucket = this.buckets.get(objectKey);
    if (!bucket) this.buckets.set(objectKey, (bucket = new TokenBucket(this.options.burst ?? 25, this.options.refillMs ?? 300_000, now)));
    if (!bucket.take(now) || this.pending.length >= MAX_PENDING) {
      this.options.onOutcome?.('dropped');
      this.options.log.debug('event dropped by spam filter', { object: objectKey, reason });
      return;
    }
    this.pending.push(() => this.send(obj, type, reason, message, now));
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Resolves when every queued Event has been sent (or failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    for (let job = this.pending.shift(); job; job = this.pending.shift()) await job();
  }

  private async send(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string, now: number): Promise<void> {
    const { events, log } = this.options;
    const key = JSON.stringify([obj.kind, obj.name, obj.uid, type, reason, message]);
    const window = this.options.aggregateWindowMs ?? 600_000;
    for (const [k, v] of this.recent) if (now - v.at > window) this.recent.delete(k);
    const seen = this.recent.get(key);
    const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      if (seen) {
        const updated = await events.patch(seen.event.metadata.name, { count: seen.event.count + 1, lastTimestamp: stamp }, this.options.component);
        this.recent.set(key, { event: updated, at: now });
        this.options.onOutcome?.('aggregated');
        return;
      }
      const created = await events.create({
        apiVersion: 'v1',
        kind: 'Event',
        // client-go's naming: <object>.<unique suffix>
        metadata: { name: `${obj.name}.${randomBytes(8).toString('hex')}`, namespace: EVENT_NAMESPACE },
        involvedObject: obj,
        reason,
        message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
        type,
        count: 1,
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        eventTime: null,
        source: { component: this.options.component },
        reportingComponent: this.options.component,
        reportingInstance: this.options.instance,
      });
      this.recent.set(key, { event: created, at: now });
      this.options.onOutcome?.('created');
    } catch (err) {
      this.recent.delete(key);
      this.options.onOutcome?.('failed');
      log.warn('could not record event', { object: `${obj.kind}/${obj.name}`, reason, err });
    }
  }
}
