/**
 * The lab's underlay: one more ovs-vswitchd acting as the fabric switch
 * (bridge br-fabric in standalone fail mode, i.e. a plain L2 learning switch
 * running NORMAL), one port per node listening on a unix socket
 * (`options:pstream=punix:…`), and on each node an underlay bridge whose
 * dummy NIC connects to it (`options:stream=unix:…`). netdev-dummy carries
 * every frame over those sockets, so VXLAN packets that Open vSwitch's
 * native tunnelling encapsulates on one node really arrive on another —
 * entirely in user space.
 *
 * Neighbour resolution needs no help: ovs-vswitchd's native tunnelling
 * sends an ARP request for a tunnel destination it has no entry for, and an
 * underlay bridge with an address (`netdev-dummy/ip4addr`) answers ARP for
 * it (seen on Open vSwitch 3.1). The frames sent while the request is
 * outstanding are dropped.
 */
import { existsSync } from 'node:fs';
import type { OvsInstance } from './ovs-instance.js';
import { UNDERLAY_PREFIX_LENGTH } from './layout.js';

export const FABRIC_BRIDGE = 'br-fabric';
export const UNDERLAY_BRIDGE = 'br-underlay';
export const UNDERLAY_NIC = 'nic0';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function createFabricSwitch(fabric: OvsInstance): Promise<void> {
  await fabric.addBridge(FABRIC_BRIDGE, { failMode: 'standalone' });
}

/** The fabric's port towards a node, listening on `socket`. */
export async function addFabricPort(fabric: OvsInstance, node: string, socket: string): Promise<void> {
  await fabric.addDummyPort(FABRIC_BRIDGE, `to-${node}`, { options: { pstream: `punix:${socket}` } });
  // ovs-vswitchd creates the listening socket on its next run loop.
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline) throw new Error(`fabric port for ${node}: ${socket} never appeared`);
    await sleep(25);
  }
}

/**
 * The node's underlay: br-underlay with its address and route (both in
 * ovs-vswitchd's own tables, nothing in the kernel) and NIC nic0 linked to
 * the fabric, recording what it transmits.
 */
export async function createNodeUnderlay(ovs: OvsInstance, address: string, fabricSocket: string, nicPcap: string): Promise<void> {
  const cidr = `${address}/${UNDERLAY_PREFIX_LENGTH}`;
  await ovs.addBridge(UNDERLAY_BRIDGE, { failMode: 'standalone' });
  await ovs.addDummyPort(UNDERLAY_BRIDGE, UNDERLAY_NIC, { txPcap: nicPcap, options: { stream: `unix:${fabricSocket}` } });
  await ovs.appctl('netdev-dummy/ip4addr', UNDERLAY_BRIDGE, cidr);
  await ovs.appctl('ovs/route/add', cidr, UNDERLAY_BRIDGE);
}

/**
 * Address and route live only in ovs-vswitchd's memory: after a restart of
 * a node's ovs-vswitchd they must be set again (`lab up` does).
 */
export async function underlayConfigured(ovs: OvsInstance, address: string): Promise<boolean> {
  try {
    const { stdout } = await ovs.appctl('ovs/route/show');
    return stdout.includes(`SRC ${address}`);
  } catch {
    return false;
  }
}
