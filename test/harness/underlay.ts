import { join } from 'node:path';
import type { OvsSandbox } from './ovs.js';
import { decodeVxlan, readPcap, type VxlanFrame } from './packet.js';

export interface UnderlayOptions {
  bridge?: string;
  nic?: string;
  /** The node's own underlay address (the tunnel source), e.g. `192.0.2.1/24` or `2001:db8::1/64`. */
  localAddress: string;
  /**
   * Routes out of the underlay bridge. ovs-vswitchd only accepts a route
   * whose next hop (the gateway, or else the prefix itself) lies in a subnet
   * of the bridge's address; the local subnet is always routed.
   */
  routes?: { prefix: string; via?: string }[];
  /** Remote VTEP neighbour entries, so native tunnelling needs no ARP/ND. */
  neighbors: { ip: string; mac: string }[];
}

/**
 * The node's underlay inside an OvsSandbox: a second bridge whose dummy "NIC"
 * records every frame it transmits (`options:tx_pcap`). The bridge address,
 * route and neighbour entries live only in ovs-vswitchd's userspace tables
 * (`netdev-dummy/ip4addr`, `ovs/route/add`, `tnl/neigh/set`), so a flow-based
 * VXLAN port on another bridge of the same ovs-vswitchd really encapsulates,
 * and nothing reaches the kernel's network.
 */
export class Underlay {
  private constructor(
    readonly ovs: OvsSandbox,
    readonly bridge: string,
    readonly nic: string,
    readonly pcapPath: string,
  ) {}

  static async create(ovs: OvsSandbox, opts: UnderlayOptions): Promise<Underlay> {
    const bridge = opts.bridge ?? 'br-underlay';
    const nic = opts.nic ?? 'nic0';
    const pcapPath = join(ovs.dir, `${nic}.pcap`);
    await ovs.addBridge(bridge, { failMode: 'standalone' });
    await ovs.addDummyPort(bridge, nic, { txPcap: pcapPath });
    const v6 = opts.localAddress.includes(':');
    await ovs.appctl(v6 ? 'netdev-dummy/ip6addr' : 'netdev-dummy/ip4addr', bridge, opts.localAddress);
    await ovs.appctl('ovs/route/add', opts.localAddress, bridge);
    for (const r of opts.routes ?? []) await ovs.appctl('ovs/route/add', r.prefix, bridge, ...(r.via ? [r.via] : []));
    for (const n of opts.neighbors) await ovs.appctl('tnl/neigh/set', bridge, n.ip, n.mac);
    return new Underlay(ovs, bridge, nic, pcapPath);
  }

  /** Every frame the NIC has transmitted so far. */
  frames(): Buffer[] {
    return readPcap(this.pcapPath);
  }

  /**
   * The VXLAN frames transmitted so far, once there are at least `count`
   * (or after `timeoutMs`, whatever there is). ovs-vswitchd handles frames
   * injected with netdev-dummy/receive asynchronously, so the pcap can lag
   * the last injection by a moment; callers assert the exact count.
   */
  async waitForVxlanFrames(count: number, timeoutMs = 5_000, port = 4789): Promise<VxlanFrame[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frames = this.vxlanFrames(port);
      if (frames.length >= count || Date.now() > deadline) return frames;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The transmitted frames that are VXLAN, decoded. */
  vxlanFrames(port = 4789): VxlanFrame[] {
    return this.frames()
      .map((f) => decodeVxlan(f, port))
      .filter((f): f is VxlanFrame => f !== undefined);
  }
}
