/** The operator's Prometheus metrics, registered in the process registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Verb } from './kube/client.js';

export interface OperatorMetrics {
  reconciles: Counter<'kind' | 'result'>;
  reconcileSeconds: Histogram<'kind'>;
  apiRequests: Counter<'verb' | 'resource' | 'code'>;
  leader: Gauge;
  events: Counter<'outcome'>;
  agentsNotReporting: Gauge;
}

export function operatorMetrics(registry: Registry): OperatorMetrics {
  const registers = [registry];
  return {
    reconciles: new Counter({ name: 'evpn_operator_reconcile_total', help: 'Reconciles by object kind and result (unchanged, written, deferred by status-write coalescing, error)', labelNames: ['kind', 'result'], registers }),
    reconcileSeconds: new Histogram({ name: 'evpn_operator_reconcile_duration_seconds', help: 'Time spent in one reconcile', labelNames: ['kind'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers }),
    apiRequests: new Counter({ name: 'evpn_operator_api_requests_total', help: 'Requests the operator sent to the apiserver (watches excluded), by verb, resource and HTTP status', labelNames: ['verb', 'resource', 'code'], registers }),
    leader: new Gauge({ name: 'evpn_operator_leader', help: '1 while this process holds the leader Lease (or runs without leader election)', registers }),
    agentsNotReporting: new Gauge({ name: 'evpn_operator_agents_not_reporting', help: 'Nodes with a VtepNodeState whose agent stopped renewing its heartbeat Lease (their conditions are set Unknown)', registers }),
    events: new Counter({ name: 'evpn_operator_events_total', help: 'Kubernetes Events by outcome (created, aggregated, dropped by the spam filter, failed)', labelNames: ['outcome'], registers }),
  };
}

export function observeRequest(metrics: OperatorMetrics) {
  return (verb: Verb, resource: string, status: number): void => {
    metrics.apiRequests.inc({ verb, resource, code: status === 0 ? 'error' : String(status) });
  };
}
