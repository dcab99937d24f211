/**
 * The heartbeat contract between agent and operator (DESIGN 3: "each agent
 * proves it is alive"): one coordination.k8s.io/v1 Lease per node, named
 * after the node, labelled as a heartbeat, in the agents' namespace; the
 * agent renews it (src/agent/kube/heartbeat.ts), the operator watches the
 * labelled Leases (src/operator/liveness.ts) and marks the VtepNodeState of
 * a node whose agent stopped renewing with every condition Unknown and this
 * reason.
 */

/** Marks the Leases that are agent heartbeats (the operator's watch selects on it). */
export const HEARTBEAT_LABEL = 'evpn.ecmp.dev/heartbeat';
export const HEARTBEAT_LABEL_VALUE = 'agent';
export const HEARTBEAT_SELECTOR = `${HEARTBEAT_LABEL}=${HEARTBEAT_LABEL_VALUE}`;

/** Condition reason the operator writes when a node's agent stopped reporting. */
export const AGENT_NOT_REPORTING = 'AgentNotReporting';

/** The renewal interval the chart and the CLI default to. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

/** Three intervals, in whole seconds (the Lease field is an integer): the operator's grace. */
export function heartbeatLeaseDurationSeconds(intervalMs: number): number {
  return Math.max(1, Math.ceil((3 * intervalMs) / 1000));
}

export const COORDINATION_V1 = '/apis/coordination.k8s.io/v1';

export function leasesPath(namespace: string): string {
  return `${COORDINATION_V1}/namespaces/${encodeURIComponent(namespace)}/leases`;
}
