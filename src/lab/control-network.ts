/**
 * The lab's kernel control network, for BGP: one more network namespace
 * (`<prefix>fabric`) holding a plain Linux bridge, and a veth from each
 * node namespace into it. Each node's end (`ctl0`) carries the node's
 * underlay address, so the VTEP addresses the EVPN routes name are on a
 * connected subnet in every node's routing table: bgpd 8.4 applies nexthop
 * tracking to EVPN routes and ignores routes whose nexthop does not resolve
 * (shared/reference/frr-evpn.md).
 *
 * Only BGP sessions use it. VXLAN frames travel in the userspace Open
 * vSwitch datapaths and the simulated fabric switch (fabric.ts); the
 * kernel VXLAN devices (the agent's) hold FDB state, and nothing enters
 * their bridges, so the kernel never sends a VXLAN frame here (the lab
 * test counts it).
 */
import { NetworkNamespace } from './netns.js';
import { UNDERLAY_PREFIX_LENGTH } from './layout.js';

export const CONTROL_BRIDGE = 'br-ctl';
/** A node's end of its veth into the control network. */
export const CONTROL_LINK = 'ctl0';

export function controlNetnsName(prefix: string): string {
  return `${prefix}fabric`;
}

interface LinkInfo {
  ifname: string;
  operstate?: string;
  master?: string;
}

interface AddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

async function hasLink(ns: NetworkNamespace, name: string): Promise<boolean> {
  const links = await ns.ipJson<LinkInfo>('link', 'show');
  return links.some((l) => l.ifname === name);
}

/** The control network's namespace with its bridge, up (created when missing). */
export async function ensureControlNetwork(name: string): Promise<NetworkNamespace> {
  const ns = NetworkNamespace.existing(name) ?? (await NetworkNamespace.add(name));
  if (!(await hasLink(ns, CONTROL_BRIDGE))) {
    await ns.ip('link', 'add', CONTROL_BRIDGE, 'type', 'bridge');
    // Nothing of the bridge's own: no IPv6 link-local address, no router solicitations.
    await ns.ip('link', 'set', CONTROL_BRIDGE, 'addrgenmode', 'none');
  }
  await ns.ip('link', 'set', CONTROL_BRIDGE, 'up');
  return ns;
}

/**
 * The node's veth into the control network, up, with `addresses` (/24 of
 * the underlay prefix) on the node's end. Idempotent: a node namespace
 * created anew has lost its end (and with it the pair), which is then made
 * again; missing addresses are added.
 */
export async function ensureControlLink(control: NetworkNamespace, node: NetworkNamespace, nodeName: string, addresses: readonly string[]): Promise<void> {
  const fabricEnd = `to-${nodeName}`;
  if (!(await hasLink(node, CONTROL_LINK))) {
    // A fabric end left from a node namespace that was deleted goes with it;
    // one whose peer vanished otherwise would block the name.
    if (await hasLink(control, fabricEnd)) await control.ip('link', 'delete', fabricEnd);
    await node.ip('link', 'add', CONTROL_LINK, 'type', 'veth', 'peer', 'name', fabricEnd, 'netns', control.name);
    // IPv4 only: no IPv6 link-local addresses, hence no neighbour discovery chatter.
    await node.ip('link', 'set', CONTROL_LINK, 'addrgenmode', 'none');
    await control.ip('link', 'set', fabricEnd, 'addrgenmode', 'none');
  }
  await control.ip('link', 'set', fabricEnd, 'master', CONTROL_BRIDGE);
  await control.ip('link', 'set', fabricEnd, 'up');
  const [info] = await node.ipJson<AddrInfo>('addr', 'show', 'dev', CONTROL_LINK);
  const have = new Set((info?.addr_info ?? []).map((a) => a.local));
  for (const address of addresses) {
    if (!have.has(address)) await node.ip('addr', 'add', `${address}/${UNDERLAY_PREFIX_LENGTH}`, 'dev', CONTROL_LINK);
  }
  await node.ip('link', 'set', CONTROL_LINK, 'up');
}
