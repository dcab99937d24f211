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
  /** Full lists, by resource (vtepnodestates, nodes, vtepgroups): first start, 410 Gone, unexpected answers. */
  readonly lists: Counter<'resource'>;
  /** Watch events received, by resource (bookmarks included): what the fabric's churn costs this agent. */
  readonly watchEvents: Counter<'resource'>;
  /** VtepGroups of the node's fabric the agent holds, and those that apply to its node. */
  readonly vtepGroups: Gauge<'set'>;
  /** Heartbeat Lease renewals the apiserver accepted. */
  readonly heartbeats: Counter;
  /** Heartbeat Lease renewals that failed, by reason (Unreachable, Forbidden, NotOurs, ...). */
  readonly heartbeatErrors: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.statusWrites = new Counter({ name: 'evpn_agent_status_writes_total', help: 'VtepNodeState status writes accepted by the apiserver (coalesced: at most one per second).', registers });
    this.statusWriteErrors = new Counter({ name: 'evpn_agent_status_write_errors_total', help: 'VtepNodeState status writes that failed, by reason; retried with backoff.', labelNames: ['reason'], registers });
    this.apiserverUp = new Gauge({ name: 'evpn_agent_apiserver_up', help: '1 when the last request to the kube-apiserver got an answer, 0 while it is unreachable.', registers });
    this.lists = new Counter({ name: 'evpn_agent_lists_total', help: 'Full lists by resource (vtepnodestates: this node\'s; nodes: this Node; vtepgroups: its fabric\'s), at start, after 410 Gone or an unexpected answer.', labelNames: ['resource'], registers });
    this.watchEvents = new Counter({ name: 'evpn_agent_watch_events_total', help: 'Watch events received by resource, bookmarks included.', labelNames: ['resource'], registers });
    this.vtepGroups = new Gauge({ name: 'evpn_agent_vtepgroups', help: 'VtepGroups of the node\'s fabric held by the agent (set="fabric") and those that apply to this node (set="node"); 0 when its groups are listed in its VtepNodeState.', labelNames: ['set'], registers });
    this.heartbeats = new Counter({ name: 'evpn_agent_heartbeats_total', help: 'Renewals of this node\'s heartbeat Lease accepted by the apiserver.', registers });
    this.heartbeatErrors = new Counter({ name: 'evpn_agent_heartbeat_errors_total', help: 'Renewals of this node\'s heartbeat Lease that failed, by reason; retried at the next interval.', labelNames: ['reason'], registers });
  }
}
