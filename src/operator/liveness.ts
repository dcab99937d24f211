/**
 * Which agents are alive, from their heartbeats — the operator's half of
 * what the kubelet's node Lease and the node lifecycle controller do.
 *
 * Each agent renews a Lease named after its node (src/agent/kube/heartbeat.ts)
 * with `leaseDurationSeconds` = three renewal intervals. An agent is
 * *reporting* while less than that has passed since the operator last saw
 * evidence of it:
 *
 * - its Lease's `renewTime` changed (or the Lease was first seen);
 * - it wrote its status (`status.lastReportTime` changed): an agent that
 *   can write status runs, and counting it keeps an agent whose Lease
 *   writes fail from flapping its node once a second (the operator marks,
 *   the agent rewrites, ...): it flaps once per grace period instead, and
 *   says why in its log and `evpn_agent_heartbeat_errors_total`.
 *
 * Time is the operator's own monotonic clock at the moment it *saw* the
 * change — never the Lease's `renewTime` against the operator's clock — so
 * clock skew between nodes does not matter (client-go's leader election and
 * the node lifecycle controller do the same). A node with no Lease at all
 * (an agent that never started, or one too old to renew one) gets
 * `defaultGraceMs` from when the operator first asked about it. While the
 * operator cannot see the Leases (their watch failed: `blinded`), it knows
 * nothing and calls no one dead; when the watch is back (`resumed`), every
 * agent gets a fresh grace, rather than a whole cluster being called dead
 * for the operator's own outage.
 *
 * Pure bookkeeping: no API calls (the controller writes the verdicts).
 */
import { AGENT_NOT_REPORTING } from '../kube/heartbeat.js';
import { formatTime } from './conditions.js';
import type { Condition } from './model.js';

/** The parts of a coordination.k8s.io/v1 Lease the operator reads. */
export interface HeartbeatLease {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    renewTime?: string | null;
  };
}

export type AgentVerdict =
  | { reporting: true; /** Milliseconds until the verdict turns, if nothing new is seen. */ expiresInMs: number }
  | { reporting: false; /** For the Ready condition and the Event. */ message: string };

interface Evidence {
  /** Our clock (ms) when the last evidence was seen. */
  seenAt: number;
  /** The Lease as last seen (renewTime and duration), if any. */
  lease?: { renewTime: string; durationMs: number; namespace?: string };
  /** The last status.lastReportTime seen. */
  reportTime?: string;
}

export interface AgentLivenessOptions {
  /** Grace for an agent without a heartbeat Lease (default 30 s: three default intervals). */
  defaultGraceMs?: number;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}

export class AgentLiveness {
  private readonly evidence = new Map<string, Evidence>();
  private resumedAt: number;
  private blind = false;
  private readonly now: () => number;
  readonly defaultGraceMs: number;

  constructor(options: AgentLivenessOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.defaultGraceMs = options.defaultGraceMs ?? 30_000;
    this.resumedAt = this.now();
  }

  /**
   * A heartbeat Lease was added or updated. Leases whose holder is not the
   * node they are named after are not heartbeats (ignored).
   */
  observeLease(lease: HeartbeatLease): void {
    const node = lease.metadata.name;
    const renewTime = lease.spec?.renewTime ?? undefined;
    if (lease.spec?.holderIdentity !== node || !renewTime) return;
    const seconds = lease.spec.leaseDurationSeconds;
    const durationMs = typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : this.defaultGraceMs;
    const e = this.evidence.get(node);
    if (e?.lease?.renewTime === renewTime && e.lease.durationMs === durationMs) return;
    this.evidence.set(node, { ...e, seenAt: this.now(), lease: { renewTime, durationMs, namespace: lease.metadata.namespace } });
  }

  /** A heartbeat Lease was deleted: the node keeps its last evidence, with the default grace. */
  forgetLease(node: string): void {
    const e = this.evidence.get(node);
    if (e?.lease) this.evidence.set(node, { seenAt: e.seenAt, reportTime: e.reportTime });
  }

  /** The node's status as the operator sees it now; a new `lastReportTime` is the agent writing. */
  observeReport(node: string, lastReportTime: string | undefined): void {
    if (lastReportTime === undefined) return;
    const e = this.evidence.get(node);
    if (e?.reportTime === lastReportTime) return;
    this.evidence.set(node, { ...e, seenAt: this.now(), reportTime: lastReportTime });
  }

  /** The node is gone (its VtepNodeState was deleted). */
  forget(node: string): void {
    this.evidence.delete(node);
  }

  /** The Lease watch failed: no verdict turns until it is back. */
  blinded(): void {
    this.blind = true;
  }

  /** The Lease watch is back after a failure: the operator was blind, so every agent starts a fresh grace. */
  resumed(): void {
    this.blind = false;
    this.resumedAt = this.now();
  }

  verdict(node: string): AgentVerdict {
    let e = this.evidence.get(node);
    if (!e) {
      // First asked about: the grace runs from now.
      e = { seenAt: this.now() };
      this.evidence.set(node, e);
    }
    const graceMs = e.lease?.durationMs ?? this.defaultGraceMs;
    if (this.blind) return { reporting: true, expiresInMs: graceMs };
    const silentMs = this.now() - Math.max(e.seenAt, this.resumedAt);
    if (silentMs < graceMs) return { reporting: true, expiresInMs: graceMs - silentMs };
    const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
    const message = e.lease
      ? `the agent has not renewed its heartbeat Lease ${e.lease.namespace ? `${e.lease.namespace}/` : ''}${node} for ${seconds(silentMs)} ` +
        `(last renewal ${e.lease.renewTime}; it must renew within ${seconds(graceMs)}); its last status is shown as Unknown`
      : `no heartbeat from the agent for ${seconds(silentMs)} (no heartbeat Lease ${node}; grace ${seconds(graceMs)}): is it running on this node?`;
    return { reporting: false, message };
  }
}

/** Whether the operator has already marked this status (Ready Unknown, AgentNotReporting). */
export function markedNotReporting(conditions: readonly Condition[] | undefined): boolean {
  const ready = conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'Unknown' && ready.reason === AGENT_NOT_REPORTING;
}

/**
 * The conditions of a node whose agent stopped reporting: every one the
 * agent reported (and Ready, if it never did) becomes Unknown with reason
 * AgentNotReporting — what the node lifecycle controller does to a Node's
 * conditions when its kubelet goes silent. The last word of a dead agent
 * ("OvsSynced True") is not evidence any more; the other status fields
 * (groups, counts) stay as it left them, for the post-mortem.
 */
export function notReportingConditions(previous: readonly Condition[] | undefined, message: string, now: Date): Condition[] {
  const types = [...new Set(['Ready', ...(previous ?? []).map((c) => c.type)])];
  return types.map((type) => {
    const old = previous?.find((c) => c.type === type);
    return {
      type,
      status: 'Unknown' as const,
      reason: AGENT_NOT_REPORTING,
      message,
      ...(old?.observedGeneration !== undefined ? { observedGeneration: old.observedGeneration } : {}),
      lastTransitionTime: old?.status === 'Unknown' ? old.lastTransitionTime : formatTime(now),
    };
  });
}
