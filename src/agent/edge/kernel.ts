/**
 * KernelPort on src/lib/rtnetlink: translates rtnetlink links, nexthops
 * and bridge FDB entries into the agent's domain objects and its writes
 * into rtnetlink requests.
 *
 * Recovery (reference/wire.md B5): the subscription is opened before the
 * dump, so notifications arriving during a dump stay queued and are
 * replayed after it; a loss (ENOBUFS) or an undecodable notification comes
 * out as a `resync` news item, upon which the agent dumps again and diffs.
 */
import {
  AF_INET6,
  FDB_STATE_STATIC,
  IFF_UP,
  KernelError,
  NTF_MASTER,
  ResyncNeededError,
  NTF_SELF,
  RtnetlinkClient,
  type FdbEntry,
  type Link,
  type Nexthop,
  type RtnetlinkEvent,
  type RtnetlinkSubscription,
} from '../../lib/rtnetlink/index.js';
import { ZERO_MAC, type KernelEvent, type KernelFdbEntry, type KernelLink, type KernelNexthop } from '../model.js';
import type { KernelDumpBatch, KernelNews, KernelPort } from '../ports.js';
import type { KernelOp } from '../sync/kernel-plan.js';
import type { DeviceOp } from '../sync/device-plan.js';
import { ownerAlias, type DesiredDevice } from '../engine/nodes/devices.js';

/**
 * The notification socket's receive buffer by default: what the kernel holds
 * while the agent is busy before it must drop notifications (and the agent
 * re-dump everything). The system default (net.core.rmem_default, 208 KiB)
 * is about 300 FDB notifications (each skb takes ~0.7 KiB of it), 60 ms at
 * 5,000 changes/s: a pause for one garbage collection on a loaded node
 * overflows it, and the re-dump of 100,000 entries that follows overflows it
 * again. 16 MiB (the kernel books 32) is about 45,000 notifications, a
 * second of the kernel's own FDB write rate; the memory is taken only while
 * notifications wait.
 */
export const DEFAULT_NOTIFICATION_BUFFER_BYTES = 16 * 1024 * 1024;

export interface RtnetlinkKernelOptions {
  /** SO_RCVBUF of the notification socket (bytes; default DEFAULT_NOTIFICATION_BUFFER_BYTES). */
  receiveBufferSize?: number;
  /** Told when the socket cannot get that buffer (SO_RCVBUFFORCE needs CAP_NET_ADMIN). */
  warn?: (message: string) => void;
  /**
   * Notifications held while the agent is busy; past it they are replaced
   * by one `resync` (a re-dump). The library's default keeps the queue near
   * 20 MiB, inside the agent's memory limit.
   */
  maxQueuedEvents?: number;
}

export class RtnetlinkKernel implements KernelPort {
  private readonly client: RtnetlinkClient;
  private subscription: RtnetlinkSubscription | undefined;

  constructor(private readonly options: RtnetlinkKernelOptions = {}) {
    this.client = new RtnetlinkClient();
  }

  start(): Promise<void> {
    const receiveBufferSize = this.options.receiveBufferSize ?? DEFAULT_NOTIFICATION_BUFFER_BYTES;
    this.subscription = this.client.subscribe(['link', 'neigh', 'nexthop'], {
      receiveBufferSize,
      ...(this.options.maxQueuedEvents ? { maxQueuedEvents: this.options.maxQueuedEvents } : {}),
    });
    const note = this.subscription.receiveBufferNote;
    if (note !== undefined) {
      this.options.warn?.(`kernel notification socket: cannot get a ${receiveBufferSize}-byte receive buffer (${note}); it has ${this.subscription.receiveBufferSize} bytes, so a busy moment may cost a re-dump`);
    }
    return Promise.resolve();
  }

  async dump(onBatch: (batch: KernelDumpBatch) => void): Promise<void> {
    // Links are few and their dump is consistent (an interrupted one is redone).
    onBatch({ links: (await this.client.listLinks()).map(toLink) });
    // Nexthops and FDB entries stream: each datagram's worth is handed on as
    // it is decoded, so nothing holds the whole dump. An interrupted dump
    // (NLM_F_DUMP_INTR) is not redone: the consumer confirms every absence
    // by a lookup anyway (see KernelPort.dump).
    await streamed(this.client.nexthopBatches(), (batch) => onBatch({ nexthops: batch.map(toNexthop) }));
    await streamed(this.client.fdbBatches(), (batch) => {
      const fdb: KernelFdbEntry[] = [];
      for (const e of batch) {
        const entry = toFdbEntry(e);
        if (entry) fdb.push(entry);
      }
      if (fdb.length > 0) onBatch({ fdb });
    });
  }

  async missing(nexthops: readonly number[], fdb: readonly KernelFdbEntry[]): Promise<{ nexthops: number[]; fdb: KernelFdbEntry[] }> {
    const out = { nexthops: [] as number[], fdb: [] as KernelFdbEntry[] };
    for (const id of nexthops) if ((await this.client.getNexthop(id)) === undefined) out.nexthops.push(id);
    // One lookup per device and flood list: it answers for all its destinations.
    const floodChecked = new Map<string, boolean>();
    for (const e of fdb) {
      const lookup = { ifindex: e.ifindex, mac: e.mac, flags: e.flags & (NTF_SELF | NTF_MASTER) || NTF_SELF, ...(e.vni !== undefined ? { vni: e.vni } : {}), ...(e.vlan ? { vlan: e.vlan } : {}) };
      if (e.mac === ZERO_MAC) {
        const key = `${e.ifindex}/${e.vni ?? ''}`;
        let gone = floodChecked.get(key);
        if (gone === undefined) floodChecked.set(key, (gone = (await this.client.getFdbEntry(lookup)) === undefined));
        if (gone) out.fdb.push(e);
        continue;
      }
      if ((await this.client.getFdbEntry(lookup)) === undefined) out.fdb.push(e);
    }
    return out;
  }

  drain(): KernelNews[] {
    const out: KernelNews[] = [];
    for (const ev of this.subscription?.drain() ?? []) {
      const news = toNews(ev);
      if (news) out.push(news);
    }
    return out;
  }

  async waitForNews(): Promise<void> {
    if (!this.subscription) throw new Error('kernel subscription not started');
    await this.subscription.waitForEvents();
  }

  async apply(op: KernelOp, protocol: number): Promise<void> {
    switch (op.op) {
      case 'setNexthop':
        return this.client.addFdbNexthop({ id: op.id, gateway: op.gateway, protocol, replace: op.replace });
      case 'setGroup':
        return this.client.addFdbGroup({ id: op.id, members: op.members, protocol, replace: op.replace });
      case 'setFdb':
        // `bridge fdb add MAC dev DEV self static nhid G`
        return this.client.addFdbEntry({ ifindex: op.ifindex, mac: op.mac, nhid: op.nhid, state: FDB_STATE_STATIC, flags: NTF_SELF, replace: op.replace, ...srcVniOf(op) });
      case 'delFdb':
        return ignoreMissing(this.client.deleteFdbEntry({ ifindex: op.ifindex, mac: op.mac, ...srcVniOf(op) }));
      case 'delNexthop':
        return ignoreMissing(this.client.deleteNexthop(op.id));
      case 'appendFlood':
        // NLM_F_APPEND adds one more destination to the device's all-zeros
        // entry (vxlan_fdb_append); the default state, as iproute2's, is
        // permanent. NDA_PROTOCOL is not sent: VXLAN devices do not keep it.
        return this.client.addFdbEntry({ ifindex: op.ifindex, mac: ZERO_MAC, dst: op.dst, flags: NTF_SELF, append: true, ...srcVniOf(op) });
      case 'delFlood':
        // With NDA_DST only that destination goes; the entry stays while others remain.
        return ignoreMissing(this.client.deleteFdbEntry({ ifindex: op.ifindex, mac: ZERO_MAC, dst: op.dst, flags: NTF_SELF, ...srcVniOf(op) }));
      case 'setLocalMac':
        // `bridge fdb add MAC dev PORT master static [vlan V]`: what zebra reads as a local MAC.
        return this.client.addFdbEntry({ ifindex: op.ifindex, mac: op.mac, flags: NTF_MASTER, state: FDB_STATE_STATIC, replace: true, ...(op.vlan ? { vlan: op.vlan } : {}) });
      case 'delLocalMac':
        return ignoreMissing(this.client.deleteFdbEntry({ ifindex: op.ifindex, mac: op.mac, flags: NTF_MASTER, ...(op.vlan ? { vlan: op.vlan } : {}) }));
    }
  }

  async applyDevice(op: DeviceOp): Promise<void> {
    switch (op.op) {
      case 'createDevice':
        return this.createDevice(op.device, op.masterIfindex);
      case 'configureDevice': {
        const d = op.device;
        await this.client.setLink(op.ifindex, { alias: ownerAlias(d.role), ...(op.masterIfindex !== undefined ? { master: op.masterIfindex } : {}), addrGenModeNone: true, up: true });
        if (d.port && op.masterIfindex !== undefined) await this.client.setBridgePort(op.ifindex, d.port);
        // A veth end is oper-up only while its peer is up too.
        if (d.peer !== undefined) {
          const peer = await this.client.getLinkByName(d.peer);
          if (peer) await this.client.setLink(peer.ifindex, { alias: ownerAlias('accessPeer'), addrGenModeNone: true, up: true });
        }
        return;
      }
      case 'deleteDevice':
        return ignoreMissing(this.client.deleteLink(op.ifindex));
      case 'setVniFilter':
        for (const vni of op.add) await this.client.addVniFilter(op.ifindex, vni);
        for (const vni of op.remove) await ignoreMissing(this.client.deleteVniFilter(op.ifindex, vni));
        return;
      case 'setVlans':
        // The VLAN before its tunnel mapping (the kernel maps only a VLAN the port has); removal the other way round.
        for (const v of op.remove) await ignoreMissing(this.client.deleteBridgeVlan(op.ifindex, { vid: v.vid }));
        for (const v of op.add) {
          await this.client.addBridgeVlan(op.ifindex, { vid: v.vid });
          if (v.tunnelId !== undefined) await this.client.addBridgeVlan(op.ifindex, { vid: v.vid, tunnelId: v.tunnelId });
        }
        return;
    }
  }

  async links(): Promise<KernelLink[]> {
    return (await this.client.listLinks()).map(toLink);
  }

  /** Creates a device with its ownership alias, no IPv6 link-local address, in its bridge, up. */
  private async createDevice(d: DesiredDevice, master: number | undefined): Promise<void> {
    const setup = { alias: ownerAlias(d.role), addrGenModeNone: true, up: true, ...(master !== undefined ? { master } : {}) };
    let created: number;
    if (d.kind === 'vxlan' && d.vxlan) {
      const v = d.vxlan;
      created = (await this.client.createVxlan({ name: d.name, ...(v.vni !== undefined ? { vni: v.vni } : {}), local: v.local, port: v.port, learning: false, external: v.external, vnifilter: v.vnifilter, ...setup })).ifindex;
    } else if (d.kind === 'bridge') {
      // No IGMP/MLD snooping: a snooping bridge sends reports for the
      // all-snoopers groups out of every port when it comes up, the VXLAN
      // port included (see devices.ts).
      created = (await this.client.createBridge({ name: d.name, ...(d.bridge?.vlanFiltering ? { vlanFiltering: true, vlanDefaultPvid: 0 } : {}), mcastSnooping: false, ...setup })).ifindex;
    } else {
      const pair = await this.client.createVeth({ name: d.name, peerName: d.peer ?? `${d.name}-p`, ...setup, peerAlias: ownerAlias('accessPeer') });
      created = pair.link.ifindex;
    }
    if (d.port && master !== undefined) await this.client.setBridgePort(created, d.port);
  }

  close(): void {
    this.subscription?.close();
    this.client.close();
  }
}

/** On the single (external) device an entry is keyed by its VNI: NDA_SRC_VNI. */
function srcVniOf(op: { srcVni?: number }): { srcVni?: number } {
  return op.srcVni === undefined ? {} : { srcVni: op.srcVni };
}

/** Feeds each batch of a dump to `use`; an interrupted dump (the kernel's NLM_F_DUMP_INTR) ends normally. */
async function streamed<T>(batches: AsyncIterable<T[]>, use: (batch: T[]) => void): Promise<void> {
  try {
    for await (const batch of batches) use(batch);
  } catch (err) {
    if (!(err instanceof ResyncNeededError)) throw err;
  }
}

/** Deleting what is already gone is success: the goal state holds. */
async function ignoreMissing(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KernelError && (err.code === 'ENOENT' || err.code === 'ESRCH')) return;
    throw err;
  }
}

function toNews(ev: RtnetlinkEvent): KernelNews | undefined {
  switch (ev.kind) {
    case 'resync':
      return { kind: 'resync', reason: ev.reason };
    case 'link':
      return { kind: 'link', op: ev.op, link: toLink(ev.link) };
    case 'nexthop':
      return { kind: 'nexthop', op: ev.op, nexthop: toNexthop(ev.nexthop) };
    case 'neigh': {
      const entry = toFdbEntry(ev.entry);
      return entry ? ({ kind: 'fdb', op: ev.op, entry } satisfies KernelEvent) : undefined;
    }
  }
}

export function toLink(l: Link): KernelLink {
  const link: KernelLink = { ifindex: l.ifindex, name: l.name, up: (l.flags & IFF_UP) !== 0 };
  if (l.kind !== undefined) link.kind = l.kind;
  if (l.alias !== undefined && l.alias !== '') link.alias = l.alias;
  if (l.master !== undefined) link.master = l.master;
  if (l.kind === 'vxlan' && l.vxlan) {
    const v = l.vxlan;
    link.vxlan = { vni: v.vni ?? 0, port: v.port ?? 4789, external: v.external ?? false };
    const local = v.local ?? v.local6;
    if (local !== undefined) link.vxlan.local = local;
    if (v.vnifilter) link.vxlan.vnifilter = true;
  }
  return link;
}

export function toNexthop(n: Nexthop): KernelNexthop {
  const nh: KernelNexthop = {
    id: n.id,
    protocol: n.protocol,
    family: n.group ? 0 : n.family === AF_INET6 ? 6 : n.gateway ? 4 : 0,
    fdb: n.fdb,
  };
  if (n.gateway !== undefined) nh.gateway = n.gateway;
  if (n.group) nh.members = n.group.map((m) => ({ id: m.id, weight: m.weight }));
  if (n.blackhole) nh.blackhole = true;
  if (n.oif !== undefined) nh.oif = n.oif;
  return nh;
}

export function toFdbEntry(e: FdbEntry): KernelFdbEntry | undefined {
  if (e.mac === undefined || e.mac === '') return undefined;
  // The bridge reports its entries with NDA_MASTER and no NTF_MASTER flag
  // (br_fdb.c, fdb_fill_info): flagged here, so that its copy of a MAC the
  // VXLAN device also holds is told apart (model.ts, bridgeCopyYields).
  const flags = e.master !== undefined && (e.flags & NTF_SELF) === 0 ? e.flags | NTF_MASTER : e.flags;
  const entry: KernelFdbEntry = { ifindex: e.ifindex, mac: e.mac.toLowerCase(), vlan: e.vlan ?? 0, state: e.state, flags };
  // On a collect_metadata device (single VXLAN device) an entry is keyed by
  // its NDA_SRC_VNI. NDA_VNI is the remote VNI, sent only where it differs
  // from the device's: not part of the entry's identity.
  if (e.srcVni !== undefined) entry.vni = e.srcVni;
  if (e.nhid !== undefined) entry.nhid = e.nhid;
  if (e.dst !== undefined) entry.dst = e.dst;
  return entry;
}
