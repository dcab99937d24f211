/**
 * Metrics of the agent's Kubernetes edge (prefix evpn_agent_), registered in
 * the agent's registry beside the dataplane metrics of ../metrics.ts.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export class KubeEdgeMetrics {
  /** Status writes the apiserver accepted. */
  readonly statusWrites: Counter;
  /** Status writes that failed, by reason (Unreachable, NotFound, Forbidden, Invalid, ...). */
  readonly statusWriteErrors: Counter<'reason'>;
  /** 1 while the last exchange with the apiserver (list, watch, write) got an answer. */
  readonly apiserverUp: Gauge;
  /** Full lists of the node's VtepNodeState (first start, 410 Gone, watch errors). */
  readonly specLists: Counter;
  /** Heartbeat Lease renewals the apiserver accepted. */
  readonly heartbeats: Counter;
  /** Heartbeat Lease renewals that failed, by reason (Unreachable, Forbidden, NotOurs, ...). */
  readonly heartbeatErrors: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.statusWrites = new Counter({ name: 'evpn_agent_status_writes_total', help: 'VtepNodeState status writes accepted by the apiserver (coalesced: at most one per second).', registers });
    this.statusWriteErrors = new Counter({ name: 'evpn_agent_status_write_errors_total', help: 'VtepNodeState status writes that failed, by reason; retried with backoff.', labelNames: ['reason'], registers });
    this.apiserverUp = new Gauge({ name: 'evpn_agent_apiserver_up', help: '1 when the last request to the kube-apiserver got an answer, 0 while it is unreachable.', registers });
    this.specLists = new Counter({ name: 'evpn_agent_spec_lists_total', help: 'Full lists of this node\'s VtepNodeState (start, 410 Gone, watch failures).', registers });
    this.heartbeats = new Counter({ name: 'evpn_agent_heartbeats_total', help: 'Renewals of this node\'s heartbeat Lease accepted by the apiserver.', registers });
    this.heartbeatErrors = new Counter({ name: 'evpn_agent_heartbeat_errors_total', help: 'Renewals of this node\'s heartbeat Lease that failed, by reason; retried at the next interval.', labelNames: ['reason'], registers });
  }
}
