/**
 * The agent's heartbeat: one coordination.k8s.io/v1 Lease per node, named
 * after the node, in the agents' namespace, renewed every `interval` — what
 * the kubelet does with its node Lease in kube-node-lease. The operator
 * watches these Leases and calls a node whose agent stopped renewing for
 * `leaseDurationSeconds` (three intervals) not Ready (AgentNotReporting),
 * whatever its last status said. Why a Lease and not a status field: see
 * README.md ("Heartbeat").
 *
 * - `spec.holderIdentity` is the node, `spec.leaseDurationSeconds` is three
 *   intervals (the operator reads its grace from the Lease, so the agent's
 *   interval is the one setting), `spec.renewTime` the time of the renewal
 *   (MicroTime). The operator measures staleness on its own clock from when
 *   it saw `renewTime` change, so clock skew between nodes does not matter.
 * - One request per renewal: a JSON Patch that first tests the heartbeat
 *   label and then replaces `spec`. A Lease of that name that someone else
 *   owns (no label: e.g. a leader-election Lease that happens to carry the
 *   node's name) fails the test and is never modified. 404: created.
 * - Renewals go on whatever the dataplane does: a heartbeat says the agent
 *   runs, its status says how the node stands. Failures (apiserver down,
 *   403) are counted and logged once per kind, and retried at the next tick.
 */
import { HEARTBEAT_LABEL, HEARTBEAT_LABEL_VALUE, heartbeatLeaseDurationSeconds, leasesPath } from '../../kube/heartbeat.js';
import type { Logger } from '../../util/log.js';
import { KubeApiError, isOutage, type KubeTransport } from './api.js';
import type { ApiserverHealth } from './apiserver-health.js';
import type { KubeEdgeMetrics } from './metrics.js';

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface HeartbeatOptions {
  transport: KubeTransport;
  node: string;
  namespace: string;
  intervalMs: number;
  log: Logger;
  health: ApiserverHealth;
  metrics?: KubeEdgeMetrics;
  /** Wall-clock milliseconds for renewTime (default Date.now). */
  clock?: () => number;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastErrorReason = '';
  private readonly leaseDurationSeconds: number;

  constructor(private readonly opts: HeartbeatOptions) {
    if (!(opts.intervalMs > 0)) throw new Error('heartbeat interval must be positive');
    this.leaseDurationSeconds = heartbeatLeaseDurationSeconds(opts.intervalMs);
  }

  get lease(): string {
    return `${this.opts.namespace}/${this.opts.node}`;
  }

  /** Renews now and then every interval until stopped. */
  start(): void {
    if (this.running || this.timer || this.stopped) return;
    this.opts.log.info('heartbeat: renewing the node Lease', { lease: this.lease, intervalMs: this.opts.intervalMs, leaseDurationSeconds: this.leaseDurationSeconds });
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const started = Date.now();
    this.running = this.renew().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      // A slow renewal does not shift the cadence further than it must.
      this.timer = setTimeout(() => this.tick(), Math.max(0, this.opts.intervalMs - (Date.now() - started)));
      this.timer.unref();
    });
  }

  /** One renewal (create when missing). Never throws. */
  async renew(): Promise<void> {
    const { transport, node, namespace, health, metrics, log } = this.opts;
    const spec = {
      holderIdentity: node,
      leaseDurationSeconds: this.leaseDurationSeconds,
      renewTime: microTime((this.opts.clock ?? Date.now)()),
    };
    const timeoutMs = Math.min(this.opts.intervalMs, 10_000);
    const path = `${leasesPath(namespace)}/${encodeURIComponent(node)}`;
    try {
      try {
        await transport.request('PATCH', path, {
          body: [
            { op: 'test', path: `/metadata/labels/${HEARTBEAT_LABEL.replaceAll('~', '~0').replaceAll('/', '~1')}`, value: HEARTBEAT_LABEL_VALUE },
            { op: 'add', path: '/spec', value: spec },
          ],
          contentType: 'application/json-patch+json',
          timeoutMs,
        });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 404)) throw err;
        await transport.request('POST', leasesPath(namespace), {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: node, namespace, labels: { [HEARTBEAT_LABEL]: HEARTBEAT_LABEL_VALUE } },
            spec: { ...spec, acquireTime: spec.renewTime },
          },
          timeoutMs,
        });
        log.info('heartbeat: created the node Lease', { lease: this.lease });
      }
      health.answered();
      metrics?.heartbeats.inc();
      if (this.lastErrorReason !== '') log.info('heartbeat: renewing again', { lease: this.lease });
      this.lastErrorReason = '';
    } catch (err) {
      const reason = failureReason(err);
      metrics?.heartbeatErrors.inc({ reason });
      if (isOutage(err)) health.unreachable(errText(err));
      else health.answered();
      if (reason !== this.lastErrorReason) {
        this.lastErrorReason = reason;
        const fields = { lease: this.lease, reason, error: errText(err) };
        if (reason === 'NotOurs') log.error('heartbeat: a Lease of this name exists without the heartbeat label; it is not ours and is left alone, so the operator will call this node not reporting', fields);
        else if (reason === 'Unreachable') log.warn('heartbeat: apiserver unreachable; renewing at the next interval', fields);
        else log.error('heartbeat: Lease renewal refused; retrying at the next interval', fields);
      }
    }
  }
}

function failureReason(err: unknown): string {
  if (err instanceof KubeApiError) {
    if (err.status >= 500) return 'Unreachable';
    // A failed JSON Patch `test` (the label): the apiserver answers 422 Invalid.
    if (err.status === 422) return 'NotOurs';
    return err.reason;
  }
  if (isOutage(err)) return 'Unreachable';
  return 'Error';
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
