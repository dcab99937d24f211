/**
 * The agent's engine graph, wired in one place (cf. Open Virtual Network's
 * controller/ovn-controller.c). Each node's logic lives in nodes/<name>.ts.
 *
 *   nodeState, ovs ─► devices ─► localExport ═══(kernelctrl)═══════╗
 *   nodeState ─┬───────────────────────────────┬───────────┬─────────┐
 *   links ─────┼─► kernelDesired ═══(kernelctrl writes the kernel)══╗  │
 *   nexthops ──┤                                │           │       ║  │
 *   fdb ───────┴─► evpnFdb ─────► groupIds ───► ofDesired ══(ofctrl)══╗
 *   ovs ──────────────────────────┴─────────────┤           ▲       ║ ║
 *   ofInstalled ──────────────────┴─────────────┘           │       ║ ║
 *   nodeState, links, fdb, kernelDesired ─► floodList ──────┘       ║ ║
 *   everything ─────────────────────────────────────────► status    ║ ║
 *        ▲  ▲                                                       ║ ║
 *        ║  ╚═══ links, nexthops, fdb: what the kernel reports ═════╝ ║
 *        ╚══════ ofInstalled: ids adopted, groups the bridge holds ═══╝
 *
 * Input nodes (no inputs): nodeState, links, nexthops, fdb, ovs,
 * ofInstalled. The kernel round-trip: spec groups never reach ofDesired
 * directly. kernelDesired says what the kernel should hold; kernelctrl
 * writes the difference; what the kernel then reports (nexthops, fdb) is
 * what evpnFdb mirrors into OpenFlow — the same path an entry installed by
 * an EVPN control plane takes. Likewise ofctrl writes ofDesired's
 * difference to the bridge and reports back through ofInstalled. Neither
 * controller is a node: they act on the world after each run.
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
import { createDevicesNode } from './nodes/devices.js';
import { createLocalExportNode } from './nodes/local-export.js';
import { createOfInstalledNode } from './nodes/of-installed.js';
import { createStatusNode } from './nodes/status.js';

export function createAgentGraph() {
  const nodeState = createNodeStateNode();
  const links = createLinksNode();
  const nexthops = createNexthopsNode();
  const fdb = createFdbNode();
  const ovs = createOvsNode();
  const ofInstalled = createOfInstalledNode();
  const devices = createDevicesNode({ nodeState, ovs });
  const localExport = createLocalExportNode({ nodeState, devices, links, ovs });
  const kernelDesired = createKernelDesiredNode({ nodeState, links, nexthops, fdb });
  const evpnFdb = createEvpnFdbNode({ nodeState, links, nexthops, fdb });
  const floodList = createFloodListNode({ nodeState, links, fdb, kernelDesired });
  const groupIds = createGroupIdsNode({ nodeState, evpnFdb, ovs, ofInstalled });
  const ofDesired = createOfDesiredNode({ nodeState, evpnFdb, groupIds, ovs, floodList, ofInstalled });
  const status = createStatusNode({ nodeState, kernelDesired, nexthops, fdb, evpnFdb, groupIds, ofDesired, floodList, ovs, localExport });
  const engine = new Engine([status]);
  return { engine, nodeState, links, nexthops, fdb, ovs, ofInstalled, devices, localExport, kernelDesired, evpnFdb, floodList, groupIds, ofDesired, status };
}

export type AgentGraph = ReturnType<typeof createAgentGraph>;
