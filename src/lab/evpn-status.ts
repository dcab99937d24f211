/**
 * What the lab's EVPN control plane says, read the way an operator would:
 * vtysh's and gobgp's JSON for the sessions, iproute2 for what zebra
 * installed. Used by `lab status` (one line per daemon) and by `lab up`,
 * which waits until the multihomed service is installed where it should be
 * and every node's exported MACs (type-2 routes from the MACs its agent put
 * on its access ports) are installed on every other node.
 */
import { bgpSessions, vtysh } from './frr.js';
import { gobgpSessions } from './gobgp.js';
import { MULTIHOMED_SERVICE, exportedMacs, hostsMultihomedService, underlayAddress, vxlanDeviceName, type LabLayout } from './layout.js';
import { NetworkNamespace } from './netns.js';

interface ZebraVni {
  vni: number;
  numMacs?: number;
  numRemoteVteps?: number;
}

interface ZebraEs {
  esi: string;
  flags?: string[];
  vteps?: { vtep: string }[];
}

/** `show evpn mac vni all json`: VNI → MAC → what zebra knows of it. */
type ZebraMacs = Record<string, { macs?: Record<string, { type?: string }> }>;

export async function zebraDetail(layout: LabLayout, node: string): Promise<string> {
  const vnis = Object.values(JSON.parse((await vtysh(layout, node, 'show evpn vni json')) || '{}') as Record<string, ZebraVni>).sort((a, b) => a.vni - b.vni);
  const macs = JSON.parse((await vtysh(layout, node, 'show evpn mac vni all json')) || '{}') as ZebraMacs;
  const ess = JSON.parse((await vtysh(layout, node, 'show evpn es json')) || '[]') as ZebraEs[];
  const local = (vni: number) => Object.values(macs[String(vni)]?.macs ?? {}).filter((m) => m.type === 'local').length;
  // Local: what the agent exported on the VNI's access port, which zebra advertises.
  const parts = vnis.map((v) => `VNI ${v.vni}: ${v.numRemoteVteps ?? 0} remote VTEPs, ${v.numMacs ?? 0} MACs (${local(v.vni)} local)`);
  for (const es of ess) parts.push(`ES ${es.esi} via ${(es.vteps ?? []).map((v) => v.vtep).join(', ') || 'no VTEP'}`);
  return parts.length ? parts.join('; ') : 'no VNI (no VXLAN device in a bridge?)';
}

export async function bgpdDetail(layout: LabLayout, node: string): Promise<string> {
  const s = await bgpSessions(layout, node);
  return `EVPN sessions ${s.up}/${s.total} established${s.down.length ? ` (down: ${s.down.join(', ')})` : ''}`;
}

export async function gobgpdDetail(layout: LabLayout, node: string): Promise<string> {
  const s = await gobgpSessions(layout, node);
  return `sessions ${s.up}/${s.total} established, announcing ${s.routes} routes (EAD per ES and per EVI, MAC ${MULTIHOMED_SERVICE.mac} with its ESI)`;
}

interface FdbEntry {
  mac: string;
  ifname?: string;
  dst?: string;
  nhid?: number;
  flags?: string[];
}

interface Nexthop {
  id: number;
  gateway?: string;
  group?: { id: number }[];
}

/**
 * The VTEPs of the fdb nexthop group a node's kernel points the multihomed
 * service's MAC at (sorted); undefined when there is no such entry.
 */
export async function multihomedPaths(netns: string): Promise<string[] | undefined> {
  const ns = NetworkNamespace.existing(netns);
  if (!ns) return undefined;
  const dev = vxlanDeviceName(MULTIHOMED_SERVICE.vni);
  const fdb = await ns.bridgeJson<FdbEntry>('fdb', 'show', 'dev', dev);
  const entry = fdb.find((e) => e.mac === MULTIHOMED_SERVICE.mac && e.nhid !== undefined);
  if (!entry) return undefined;
  const nexthops = new Map((await ns.ipJson<Nexthop>('nexthop', 'show')).map((n) => [n.id, n]));
  const group = nexthops.get(entry.nhid!)?.group ?? [];
  return group.map((m) => nexthops.get(m.id)?.gateway ?? `?${m.id}`).sort();
}

/**
 * The single-destination remote MACs zebra installed on a node's VXLAN
 * device of `vni` (from type-2 routes): MAC → VTEP.
 */
export async function remoteMacs(netns: string, vni: number): Promise<Map<string, string>> {
  const ns = NetworkNamespace.existing(netns);
  if (!ns) return new Map();
  const fdb = await ns.bridgeJson<FdbEntry>('fdb', 'show', 'dev', vxlanDeviceName(vni));
  return new Map(fdb.filter((e) => e.dst !== undefined && e.mac !== '00:00:00:00:00:00' && (e.flags ?? []).includes('extern_learn')).map((e) => [e.mac, e.dst!]));
}

/** What of the other nodes' exported MACs a node's kernel lacks (zebra installs them from their type-2 routes). */
async function exportedPending(node: string, nodes: readonly string[], netns: string): Promise<string[]> {
  const pending: string[] = [];
  const byVni = new Map<number, Map<string, string>>();
  for (const other of nodes.filter((n) => n !== node)) {
    for (const p of exportedMacs(other)) {
      let remote = byVni.get(p.vni);
      if (!remote) byVni.set(p.vni, (remote = await remoteMacs(netns, p.vni)));
      if (remote.get(p.mac) !== underlayAddress(other)) pending.push(`${node}: zebra has no type-2 route for ${other}'s ${p.name} (${p.mac})`);
    }
  }
  return pending;
}

/**
 * One reading of the EVPN side: what still is not as it should be (empty
 * when converged). `routes` (default true): also the routes that need the
 * VNIs — the agents create the VXLAN devices zebra takes the VNIs from only
 * once a fabric selects their node, so without one there are BGP sessions
 * and nothing else.
 */
export async function evpnPending(layout: LabLayout, nodes: readonly string[], netnsOf: (node: string) => string, opts: { routes?: boolean } = {}): Promise<string[]> {
  const pending: string[] = [];
  const hosts = MULTIHOMED_SERVICE.hosts.map((h) => underlayAddress(h)).sort();
  for (const node of nodes) {
    try {
      const s = await bgpSessions(layout, node);
      if (s.up < s.total) pending.push(`${node}: BGP sessions ${s.up}/${s.total}`);
      if (hostsMultihomedService(node)) {
        const g = await gobgpSessions(layout, node);
        if (g.up < g.total) pending.push(`${node}: gobgpd sessions ${g.up}/${g.total}`);
      }
      if (opts.routes === false) continue;
      if (!hostsMultihomedService(node)) {
        const paths = await multihomedPaths(netnsOf(node));
        if (paths?.join() !== hosts.join()) pending.push(`${node}: zebra has ${MULTIHOMED_SERVICE.mac} via ${paths?.join(', ') || 'nothing'}`);
      }
      pending.push(...(await exportedPending(node, nodes, netnsOf(node))));
    } catch (err) {
      pending.push(`${node}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return pending;
}
