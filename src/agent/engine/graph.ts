/**
 * The agent's engine graph, wired in one place (cf. Open Virtual Network's
 * controller/ovn-controller.c). Each node's logic lives in nodes/<name>.ts.
 *
 *   nodeState ─┬──────────────────────────────┬─────────────┬──────────┐
 *   links ─────┼─► kernelDesired ──(kernel sync: diff with nexthops/fdb)
 *   nexthops ──┤                               │             │          │
 *   fdb ───────┴─► evpnFdb ─────► groupIds ───► ofDesired ──(OVS sync)  │
 *   ovs ─────────────────────────┴─────────────┘                        │
 *   nodeState, links, fdb, kernelDesired ─► floodList ─► ofDesired        │
 *   everything ─────────────────────────────────────────────────► status
 *
 * Input nodes (no inputs): nodeState, links, nexthops, fdb, ovs. The sync
 * layers (src/agent/sync) are not nodes: they act on the world after each
 * run, and what they observe comes back through the input nodes.
 */
import { Engine } from './engine.js';
import { createEvpnFdbNode } from './nodes/evpn-fdb.js';
import { createFdbNode } from './nodes/fdb.js';
import { createFloodListNode } from './nodes/flood-list.js';
import { createGroupIdsNode } from './nodes/group-ids.js';
import { createKernelDesiredNode } from './nodes/kernel-desired.js';
import { createLinksNode } from './nodes/links.js';
import { createNexthopsNode } from './nodes/nexthops.js';
import { createNodeStateNode } from './nodes/node-state.js';
import { createOfDesiredNode } from './nodes/of-desired.js';
import { createOvsNode } from './nodes/ovs.js';
import { createStatusNode } from './nodes/status.js';

export function createAgentGraph() {
  const nodeState = createNodeStateNode();
  const links = createLinksNode();
  const nexthops = createNexthopsNode();
  const fdb = createFdbNode();
  const ovs = createOvsNode();
  const kernelDesired = createKernelDesiredNode({ nodeState, links, nexthops, fdb });
  const evpnFdb = createEvpnFdbNode({ nodeState, links, nexthops, fdb });
  const floodList = createFloodListNode({ nodeState, links, fdb, kernelDesired });
  const groupIds = createGroupIdsNode({ nodeState, evpnFdb, ovs });
  const ofDesired = createOfDesiredNode({ nodeState, evpnFdb, groupIds, ovs, floodList });
  const status = createStatusNode({ nodeState, kernelDesired, nexthops, fdb, evpnFdb, groupIds, ofDesired, floodList });
  const engine = new Engine([status]);
  return { engine, nodeState, links, nexthops, fdb, ovs, kernelDesired, evpnFdb, floodList, groupIds, ofDesired, status };
}

export type AgentGraph = ReturnType<typeof createAgentGraph>;
