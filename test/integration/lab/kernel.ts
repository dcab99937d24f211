/**
 * What a lab node's kernel and agent say, for the lab's end-to-end tests:
 * link counters (iproute2), FDB entries (bridge -j), the agent's own
 * metrics (its /metrics endpoint inside the node's namespace) and FRR's
 * BGP table (vtysh).
 */
import { vtysh } from '../../../src/lab/frr.js';
import type { Lab } from '../../../src/lab/lab.js';
import { NetworkNamespace } from '../../../src/lab/netns.js';
import { AGENT_METRICS_ADDR } from '../../../src/lab/node.js';

export const ZERO_MAC = '00:00:00:00:00:00';

export interface FdbJson {
  mac: string;
  dst?: string;
  nhid?: number;
  master?: string;
  flags?: string[];
  state?: string;
}

interface LinkStats {
  ifname: string;
  ifalias?: string;
  stats64: { tx: { packets: number; dropped: number; errors: number } };
}

export function nodeNs(lab: Lab, node: string): NetworkNamespace {
  const ns = NetworkNamespace.existing(lab.netns(node));
  if (!ns) throw new Error(`${node}: no network namespace ${lab.netns(node)}`);
  return ns;
}

/** Frames each link transmitted (packets + dropped + errors: whatever it tried to send), by name. */
export async function txCounts(lab: Lab, node: string): Promise<Map<string, { frames: number; alias?: string }>> {
  const links = await nodeNs(lab, node).ipJson<LinkStats>('-s', 'link', 'show');
  return new Map(links.map((l) => [l.ifname, { frames: l.stats64.tx.packets + l.stats64.tx.dropped + l.stats64.tx.errors, ...(l.ifalias ? { alias: l.ifalias } : {}) }]));
}

export async function fdb(lab: Lab, node: string, dev: string): Promise<FdbJson[]> {
  return nodeNs(lab, node).bridgeJson<FdbJson>('fdb', 'show', 'dev', dev);
}

/** The VTEPs of a VXLAN device's flood list (its all-zeros entries), sorted. */
export async function floodList(lab: Lab, node: string, dev: string): Promise<string[]> {
  return (await fdb(lab, node, dev)).filter((e) => e.mac === ZERO_MAC && e.dst !== undefined).map((e) => e.dst!).sort();
}

/** One of the agent's Prometheus samples, read from its endpoint inside the node's namespace (0 when absent). */
export async function agentMetric(lab: Lab, node: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const script = `fetch('http://${AGENT_METRICS_ADDR}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const { stdout } = await nodeNs(lab, node).exec(process.execPath, '-e', script);
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of stdout.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m?.[1] === name && want.every((w) => (m[2] ?? '').split(',').includes(w))) return Number(m[3]);
  }
  return 0;
}

interface BgpMacRoute {
  mac?: string;
  routeType?: number;
  nexthops?: { ip: string }[];
  valid?: boolean;
  bestpath?: boolean;
}

/** The type-2 routes in a node's BGP table for `mac`: each path's nexthop VTEP, and whether it is the best. */
export async function bgpMacRoutes(lab: Lab, node: string, mac: string): Promise<{ nexthop: string; best: boolean }[]> {
  const table = JSON.parse(await vtysh(lab.layout, node, 'show bgp l2vpn evpn route type macip json')) as Record<string, unknown>;
  const out: { nexthop: string; best: boolean }[] = [];
  for (const rd of Object.values(table)) {
    if (typeof rd !== 'object' || rd === null) continue;
    for (const route of Object.values(rd as Record<string, { paths?: BgpMacRoute[][] }>)) {
      for (const path of (route?.paths ?? []).flat()) {
        if (path.routeType === 2 && path.mac === mac) out.push({ nexthop: path.nexthops?.[0]?.ip ?? '?', best: path.bestpath === true });
      }
    }
  }
  return out;
}
