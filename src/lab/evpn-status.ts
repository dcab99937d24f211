/**
 * What the lab's EVPN control plane says, read the way an operator would:
 * vtysh's and gobgp's JSON for the sessions, iproute2 for what zebra
 * installed. Used by `lab status` (one line per daemon) and by `lab up`,
 * which waits until the multihomed service is installed where it should be.
 */
import { bgpSessions, vtysh } from './frr.js';
import { gobgpSessions } from './gobgp.js';
import { MULTIHOMED_SERVICE, hostsMultihomedService, underlayAddress, type LabLayout } from './layout.js';
import { NetworkNamespace } from './netns.js';
import { vxlanDeviceName } from './evpn-devices.js';

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

export async function zebraDetail(layout: LabLayout, node: string): Promise<string> {
  const vnis = Object.values(JSON.parse((await vtysh(layout, node, 'show evpn vni json')) || '{}') as Record<string, ZebraVni>).sort((a, b) => a.vni - b.vni);
  const ess = JSON.parse((await vtysh(layout, node, 'show evpn es json')) || '[]') as ZebraEs[];
  const parts = vnis.map((v) => `VNI ${v.vni}: ${v.numRemoteVteps ?? 0} remote VTEPs, ${v.numMacs ?? 0} MACs`);
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

/** One reading of the EVPN side: what still is not as it should be (empty when converged). */
export async function evpnPending(layout: LabLayout, nodes: readonly string[], netnsOf: (node: string) => string): Promise<string[]> {
  const pending: string[] = [];
  const hosts = MULTIHOMED_SERVICE.hosts.map((h) => underlayAddress(h)).sort();
  for (const node of nodes) {
    try {
      const s = await bgpSessions(layout, node);
      if (s.up < s.total) pending.push(`${node}: BGP sessions ${s.up}/${s.total}`);
      if (hostsMultihomedService(node)) {
        const g = await gobgpSessions(layout, node);
        if (g.up < g.total) pending.push(`${node}: gobgpd sessions ${g.up}/${g.total}`);
      } else {
        const paths = await multihomedPaths(netnsOf(node));
        if (paths?.join() !== hosts.join()) pending.push(`${node}: zebra has ${MULTIHOMED_SERVICE.mac} via ${paths?.join(', ') || 'nothing'}`);
      }
    } catch (err) {
      pending.push(`${node}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return pending;
}
