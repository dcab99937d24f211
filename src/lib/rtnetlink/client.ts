/**
 * The rtnetlink client: dumps, lookups and the writes the agent makes (fdb
 * nexthops, fdb nexthop groups, bridge/VXLAN FDB entries, VXLAN, bridge and
 * veth devices, bridge ports and VLANs, VNI filters). Every write asks for an
 * ACK, so a resolved promise means the kernel applied it and a rejection is a
 * KernelError with errno and the kernel's reason text.
 */
import { expandBridgeVlans, expandBridgeVlanTunnels, type PortVlan, type PortVlanTunnel } from './bridge.js';
import { AF_BRIDGE } from './constants.js';
import { KernelError, ResyncNeededError } from './errors.js';
import {
  addBridgeVlanRequest,
  createBridgeRequest,
  createVethRequest,
  createVxlanRequest,
  deleteBridgeVlanRequest,
  deleteLinkRequest,
  dumpBridgePortsRequest,
  dumpLinksRequest,
  getLinkRequest,
  hasLinkAttributeChanges,
  setBridgePortRequest,
  setLinkRequest,
  setLinkUpRequest,
  type BridgePortSettings,
  type BridgeSpec,
  type BridgeVlanSpec,
  type LinkAttributeChanges,
  type VethSpec,
  type VxlanSpec,
} from './link-requests.js';
import { decodeLink, type Link } from './link.js';
import type { NetlinkMessage } from './message.js';
import { decodeFdbEntry, neighFamily, type FdbEntry } from './neigh.js';
import { decodeNexthop, type Nexthop } from './nexthop.js';
import {
  addVniFilterRequest,
  deleteFdbEntryRequest,
  deleteNexthopRequest,
  deleteVniFilterRequest,
  dumpFdbRequest,
  dumpNexthopsRequest,
  dumpVniFiltersRequest,
  fdbEntryRequest,
  fdbGroupRequest,
  fdbNexthopRequest,
  getFdbEntryRequest,
  getNexthopRequest,
  newNexthopRequest,
  type FdbLookup,
  type FdbEntryKey,
  type FdbEntrySpec,
  type FdbGroupSpec,
  type FdbNexthopSpec,
} from './requests.js';
import { RtnetlinkSubscription, type SubscriptionGroup, type SubscriptionOptions } from './subscription.js';
import { NetlinkTransport, type TransportOptions } from './transport.js';
import { decodeVniFilter, type VniFilterMessage } from './vnifilter.js';

/** What happens to a device right after the kernel created it (before it is returned). */
interface NewLinkSetup {
  /** Bring the device up (default true). */
  up?: boolean;
  /** No IPv6 link-local address, so the device never emits router solicitations (default true). */
  addrGenModeNone?: boolean;
  /** IFLA_IFALIAS, e.g. an ownership marker (Linux ignores it in a create request, so it is set right after). */
  alias?: string;
  /** Enslave the device to this bridge before it comes up. */
  master?: number;
}

export interface CreateVxlanSpec extends VxlanSpec, NewLinkSetup {}
export interface CreateBridgeSpec extends BridgeSpec, NewLinkSetup {}
export interface CreateVethSpec extends VethSpec, NewLinkSetup {
  /** Alias of the peer end. */
  peerAlias?: string;
  /** Bridge for the peer end. */
  peerMaster?: number;
}

/** Both ends of a veth, as the kernel reports them after setup. */
export interface VethPair {
  link: Link;
  peer: Link;
}

/** `setLink`: attribute changes plus the admin state. */
export interface LinkChanges extends LinkAttributeChanges {
  up?: boolean;
}

/** One bridge port's (or bridge's own) VLANs and VLAN→tunnel id mappings, ranges expanded. */
export interface BridgePortVlans {
  ifindex: number;
  name: string;
  /** The bridge (absent for the bridge's own entry). */
  master?: number;
  vlans: PortVlan[];
  tunnels: PortVlanTunnel[];
}

/** One VNI (or range vni..vniEnd, as the kernel merges consecutive VNIs) in a vnifilter device's filter. */
export interface VniFilter {
  ifindex: number;
  vni: number;
  vniEnd?: number;
  group?: string;
  group6?: string;
}

export type RtnetlinkClientOptions = TransportOptions;

/** Collects batches into one array, redoing the dump while the kernel flags it interrupted. */
async function collect<T>(dump: () => AsyncIterable<T[]>, attempts = 5): Promise<T[]> {
  for (let i = 1; ; i++) {
    const out: T[] = [];
    try {
      for await (const batch of dump()) for (const v of batch) out.push(v);
      return out;
    } catch (err) {
      if (!(err instanceof ResyncNeededError) || i >= attempts) throw err;
    }
  }
}

async function* flatten<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

const decodeBridgeFdb = (m: NetlinkMessage): FdbEntry | undefined => (neighFamily(m) === AF_BRIDGE ? decodeFdbEntry(m) : undefined);
// ifinfomsg.ifi_family sits where ndmsg.ndm_family does.
const decodeBridgePort = (m: NetlinkMessage): Link | undefined => (neighFamily(m) === AF_BRIDGE ? decodeLink(m) : undefined);

function portVlans(link: Link): BridgePortVlans {
  const spec = link.bridgeAfSpec;
  return {
    ifindex: link.ifindex,
    name: link.name,
    ...(link.master !== undefined && link.master !== link.ifindex ? { master: link.master } : {}),
    vlans: expandBridgeVlans(spec?.vlans ?? []),
    tunnels: expandBridgeVlanTunnels(spec?.tunnels ?? []),
  };
}

function vniFilters(m: VniFilterMessage): VniFilter[] {
  return m.entries
    .filter((e) => e.vni !== undefined)
    .map((e) => ({
      ifindex: m.ifindex,
      vni: e.vni!,
      ...(e.vniEnd !== undefined && e.vniEnd !== e.vni ? { vniEnd: e.vniEnd } : {}),
      ...(e.group !== undefined ? { group: e.group } : {}),
      ...(e.group6 !== undefined ? { group6: e.group6 } : {}),
    }));
}

export class RtnetlinkClient {
  private readonly transport: NetlinkTransport;

  constructor(private readonly options: RtnetlinkClientOptions = {}) {
    this.transport = new NetlinkTransport(options);
  }

  /** Why kernel error texts are unavailable (undefined when they are available). */
  get extendedAckUnavailable(): string | undefined {
    return this.transport.extendedAckUnavailable;
  }

  /** This socket's netlink port id: notifications caused by our writes carry it as `pid`. */
  get portId(): number {
    return this.transport.portId;
  }

  close(): void {
    this.transport.close();
  }

  // --- dumps: batches (one array per datagram), streams, complete lists ---

  nexthopBatches(): AsyncGenerator<Nexthop[]> {
    return this.transport.dump(dumpNexthopsRequest(), 'dump nexthops', decodeNexthop);
  }
  /** AF_BRIDGE FDB entries; of one device when `ifindex` is given. */
  fdbBatches(ifindex?: number): AsyncGenerator<FdbEntry[]> {
    return this.transport.dump(dumpFdbRequest(ifindex), `dump fdb${ifindex === undefined ? '' : ` of ifindex ${ifindex}`}`, decodeBridgeFdb);
  }
  linkBatches(): AsyncGenerator<Link[]> {
    return this.transport.dump(dumpLinksRequest(), 'dump links', decodeLink);
  }
  /** AF_BRIDGE link messages (`family` 7): one per bridge port, with its IFLA_BRPORT_* settings; with VLANs when `withVlans`. */
  bridgePortBatches(withVlans = false): AsyncGenerator<Link[]> {
    return this.transport.dump(dumpBridgePortsRequest(withVlans), withVlans ? 'dump bridge vlans' : 'dump bridge ports', decodeBridgePort);
  }
  vniFilterBatches(ifindex?: number): AsyncGenerator<VniFilterMessage[]> {
    return this.transport.dump(dumpVniFiltersRequest(ifindex), `dump vni filters${ifindex === undefined ? '' : ` of ifindex ${ifindex}`}`, decodeVniFilter);
  }

  /** Streams; each throws ResyncNeededError at the end if the kernel flagged the dump interrupted. */
  dumpNexthops(): AsyncGenerator<Nexthop> {
    return flatten(this.nexthopBatches());
  }
  dumpFdb(ifindex?: number): AsyncGenerator<FdbEntry> {
    return flatten(this.fdbBatches(ifindex));
  }
  dumpLinks(): AsyncGenerator<Link> {
    return flatten(this.linkBatches());
  }

  /** Complete, consistent lists (an interrupted dump is redone, up to 5 times). */
  listNexthops(): Promise<Nexthop[]> {
    return collect(() => this.nexthopBatches());
  }
  listFdb(ifindex?: number): Promise<FdbEntry[]> {
    return collect(() => this.fdbBatches(ifindex));
  }
  listLinks(): Promise<Link[]> {
    return collect(() => this.linkBatches());
  }
  /** `bridge link show`: every bridge port as an AF_BRIDGE message (`link.bridgePort` holds learning, vlan_tunnel, neigh_suppress...). */
  listBridgePorts(): Promise<Link[]> {
    return collect(() => this.bridgePortBatches(false));
  }
  /**
   * `bridge vlan show` and `bridge vlan tunnelshow` in one dump: every port
   * (and every bridge with VLANs of its own) with its VLANs and VLAN→tunnel
   * id mappings; a port without VLANs has empty lists.
   */
  async listBridgeVlans(): Promise<BridgePortVlans[]> {
    const byIndex = new Map<number, BridgePortVlans>();
    for (const link of await collect(() => this.bridgePortBatches(true))) {
      const entry = portVlans(link);
      const seen = byIndex.get(entry.ifindex);
      if (seen) {
        seen.vlans.push(...entry.vlans);
        seen.tunnels.push(...entry.tunnels);
      } else {
        byIndex.set(entry.ifindex, entry);
      }
    }
    return [...byIndex.values()];
  }
  /** `bridge vni show [dev DEV]`: the VNI filter of every `external vnifilter` device, or of one (ENODEV / EINVAL for others). */
  async listVniFilters(ifindex?: number): Promise<VniFilter[]> {
    return (await collect(() => this.vniFilterBatches(ifindex))).flatMap(vniFilters);
  }

  // --- lookups -----------------------------------------------------------

  /** One nexthop by id, or undefined (ENOENT). */
  /** `bridge fdb get`: the entry, or undefined when the kernel has none (ENOENT). */
  async getFdbEntry(lookup: FdbLookup): Promise<FdbEntry | undefined> {
    try {
      const replies = await this.transport.request(getFdbEntryRequest(lookup), `get fdb ${lookup.mac} on ifindex ${lookup.ifindex}`);
      return replies.map(decodeBridgeFdb).find((e) => e !== undefined);
    } catch (err) {
      if (err instanceof KernelError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async getNexthop(id: number): Promise<Nexthop | undefined> {
    try {
      const [reply] = await this.transport.request(getNexthopRequest(id), `get nexthop ${id}`);
      return reply ? decodeNexthop(reply) : undefined;
    } catch (err) {
      if (err instanceof KernelError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** A link by name, or undefined (ENODEV). */
  getLinkByName(name: string): Promise<Link | undefined> {
    return this.getOneLink(getLinkRequest({ name }), `get link ${name}`);
  }

  /** A link by ifindex, or undefined (ENODEV). */
  getLink(ifindex: number): Promise<Link | undefined> {
    return this.getOneLink(getLinkRequest({ ifindex }), `get link ${ifindex}`);
  }

  private async getOneLink(msg: Buffer, what: string): Promise<Link | undefined> {
    try {
      const [reply] = await this.transport.request(msg, what);
      return reply ? decodeLink(reply) : undefined;
    } catch (err) {
      if (err instanceof KernelError && err.code === 'ENODEV') return undefined;
      throw err;
    }
  }

  // --- nexthops ----------------------------------------------------------

  /** `ip nexthop add|replace id ID via GATEWAY fdb [proto P]` */
  async addFdbNexthop(spec: FdbNexthopSpec): Promise<void> {
    await this.transport.request(fdbNexthopRequest(spec), `${spec.replace ? 'replace' : 'add'} fdb nexthop ${spec.id}`);
  }

  /** `ip nexthop add|replace id ID group A,WA/B,WB fdb [proto P]` */
  async addFdbGroup(spec: FdbGroupSpec): Promise<void> {
    await this.transport.request(fdbGroupRequest(spec), `${spec.replace ? 'replace' : 'add'} fdb nexthop group ${spec.id}`);
  }

  /** Any RTM_NEWNEXTHOP, for callers that need more than fdb objects (`flags`: NLM_F_CREATE|EXCL etc.). */
  async writeNexthop(flags: number, nh: Partial<Nexthop>): Promise<void> {
    await this.transport.request(newNexthopRequest(flags, nh), `write nexthop ${nh.id ?? '(kernel-chosen id)'}`);
  }

  /** `ip nexthop del id ID`. Deleting a group silently removes the FDB entries that use it. */
  async deleteNexthop(id: number): Promise<void> {
    await this.transport.request(deleteNexthopRequest(id), `delete nexthop ${id}`);
  }

  // --- FDB entries -------------------------------------------------------

  /**
   * `bridge fdb add|replace|append MAC dev DEV self static nhid G [src_vni S]`,
   * `... dst IP [vni V]`, or with flags NTF_MASTER `bridge fdb add MAC dev
   * PORT master static [vlan V]` (a static entry in the bridge's FDB).
   */
  async addFdbEntry(spec: FdbEntrySpec): Promise<void> {
    const verb = spec.replace ? 'replace' : spec.append ? 'append' : 'add';
    await this.transport.request(fdbEntryRequest(spec), `${verb} fdb ${spec.mac} on ifindex ${spec.ifindex}`);
  }

  /** `bridge fdb del MAC dev DEV self [dst IP] [vni V] [src_vni S]` or `bridge fdb del MAC dev PORT master [vlan V]` */
  async deleteFdbEntry(key: FdbEntryKey): Promise<void> {
    await this.transport.request(deleteFdbEntryRequest(key), `delete fdb ${key.mac} on ifindex ${key.ifindex}`);
  }

  // --- links -------------------------------------------------------------

  /**
   * `ip link add NAME type vxlan ...`, then (see NewLinkSetup) alias, master
   * and addrgenmode none, then up. If a step after the create fails, the new
   * device is deleted again (it would carry no ownership alias) and the
   * step's error is thrown.
   */
  async createVxlan(spec: CreateVxlanSpec): Promise<Link> {
    await this.transport.request(createVxlanRequest(spec), `create vxlan ${spec.name}`);
    return this.setUpNewLink(spec.name, spec);
  }

  /** `ip link add NAME type bridge [vlan_filtering 0|1] [vlan_default_pvid N]`, then setup as createVxlan. */
  async createBridge(spec: CreateBridgeSpec): Promise<Link> {
    await this.transport.request(createBridgeRequest(spec), `create bridge ${spec.name}`);
    return this.setUpNewLink(spec.name, spec);
  }

  /**
   * `ip link add NAME type veth peer name PEER`, then setup of both ends as
   * createVxlan (alias/master for the first end, peerAlias/peerMaster for the
   * peer; `up` and `addrGenModeNone` for both: a veth is oper-up only while
   * both ends are up).
   */
  async createVeth(spec: CreateVethSpec): Promise<VethPair> {
    await this.transport.request(createVethRequest(spec), `create veth ${spec.name} peer ${spec.peerName}`);
    const peerSetup: NewLinkSetup = { up: spec.up, addrGenModeNone: spec.addrGenModeNone, alias: spec.peerAlias, master: spec.peerMaster };
    let link: Link | undefined;
    try {
      // Both ends get their attributes before either comes up.
      link = await this.setUpNewLink(spec.name, { ...spec, up: false });
      const peer = await this.setUpNewLink(spec.peerName, { ...peerSetup, up: false });
      if (spec.up ?? true) {
        await this.setLinkUp(link.ifindex, true);
        await this.setLinkUp(peer.ifindex, true);
      }
      return { link: (await this.getLink(link.ifindex)) ?? link, peer: (await this.getLink(peer.ifindex)) ?? peer };
    } catch (err) {
      // Deleting either end deletes both.
      if (link) await this.deleteLink(link.ifindex).catch(() => undefined);
      throw err;
    }
  }

  /** Alias/master/addrgenmode, then up, for a device this client just created; deletes it if that fails. */
  private async setUpNewLink(name: string, setup: NewLinkSetup): Promise<Link> {
    const link = await this.getLinkByName(name);
    if (!link) throw new Error(`${name} vanished right after creation`);
    try {
      await this.setLink(link.ifindex, { alias: setup.alias, master: setup.master, addrGenModeNone: setup.addrGenModeNone ?? true, ...((setup.up ?? true) ? { up: true } : {}) });
    } catch (err) {
      await this.deleteLink(link.ifindex).catch(() => undefined);
      throw err;
    }
    return (await this.getLink(link.ifindex)) ?? link;
  }

  /**
   * `ip link set dev DEV [alias A] [master M | nomaster] [addrgenmode none]`,
   * then `ip link set dev DEV up|down`. Two requests on purpose: the kernel
   * applies ifi_flags before IFLA_MASTER and IFLA_AF_SPEC (do_setlink in
   * net/core/rtnetlink.c), so `addrgenmode none up` in one message still
   * gives a VXLAN device an IPv6 link-local address (checked on 6.18).
   */
  async setLink(ifindex: number, changes: LinkChanges): Promise<void> {
    if (hasLinkAttributeChanges(changes)) await this.transport.request(setLinkRequest(ifindex, changes), `set ${describeChanges(changes)} on ifindex ${ifindex}`);
    if (changes.up !== undefined) await this.setLinkUp(ifindex, changes.up);
  }

  /** `ip link set dev DEV up|down` */
  async setLinkUp(ifindex: number, up: boolean): Promise<void> {
    await this.transport.request(setLinkUpRequest(ifindex, up), `set ifindex ${ifindex} ${up ? 'up' : 'down'}`);
  }

  /** `bridge link set dev DEV [learning on|off] [neigh_suppress on|off] [vlan_tunnel on|off]` (the device must be a bridge port). */
  async setBridgePort(ifindex: number, settings: BridgePortSettings): Promise<void> {
    await this.transport.request(setBridgePortRequest(ifindex, settings), `set bridge port ifindex ${ifindex}`);
  }

  /**
   * `bridge vlan add dev DEV vid V [pvid] [untagged] [self]`, or with
   * `tunnelId` `bridge vlan add dev DEV vid V tunnel_info id VNI` (the VLAN
   * must be on the port already). Needs a VLAN-filtering bridge.
   */
  async addBridgeVlan(ifindex: number, spec: BridgeVlanSpec): Promise<void> {
    await this.transport.request(addBridgeVlanRequest(ifindex, spec), `add vlan ${spec.vid}${spec.tunnelId === undefined ? '' : ` tunnel id ${spec.tunnelId}`} on ifindex ${ifindex}`);
  }

  /** `bridge vlan del dev DEV vid V [self]` or `... vid V tunnel_info id VNI` (only the mapping). */
  async deleteBridgeVlan(ifindex: number, spec: Omit<BridgeVlanSpec, 'pvid' | 'untagged'>): Promise<void> {
    await this.transport.request(deleteBridgeVlanRequest(ifindex, spec), `delete vlan ${spec.vid}${spec.tunnelId === undefined ? '' : ` tunnel id ${spec.tunnelId}`} on ifindex ${ifindex}`);
  }

  // --- VNI filter (external vnifilter VXLAN devices) ------------------------

  /** `bridge vni add dev DEV vni V[-END]` (idempotent). */
  async addVniFilter(ifindex: number, vni: number, vniEnd?: number): Promise<void> {
    await this.transport.request(addVniFilterRequest(ifindex, vni, vniEnd), `add vni ${vni}${vniEnd === undefined ? '' : `-${vniEnd}`} to the filter of ifindex ${ifindex}`);
  }

  /** `bridge vni delete dev DEV vni V[-END]` (ENOENT when not in the filter). */
  async deleteVniFilter(ifindex: number, vni: number, vniEnd?: number): Promise<void> {
    await this.transport.request(deleteVniFilterRequest(ifindex, vni, vniEnd), `delete vni ${vni}${vniEnd === undefined ? '' : `-${vniEnd}`} from the filter of ifindex ${ifindex}`);
  }

  /** `ip link del DEV` */
  async deleteLink(ifindex: number): Promise<void> {
    await this.transport.request(deleteLinkRequest(ifindex), `delete link ${ifindex}`);
  }

  // --- notifications -----------------------------------------------------

  /** Opens a separate socket subscribed to `groups` (see RtnetlinkSubscription). */
  subscribe(groups: readonly (SubscriptionGroup | number)[] = ['link', 'neigh', 'nexthop'], opts: SubscriptionOptions = {}): RtnetlinkSubscription {
    return new RtnetlinkSubscription(groups, { receiveBufferSize: this.options.receiveBufferSize, ...opts });
  }
}

function describeChanges(c: LinkAttributeChanges): string {
  const parts: string[] = [];
  if (c.alias !== undefined) parts.push(c.alias === '' ? 'no alias' : `alias "${c.alias}"`);
  if (c.master !== undefined) parts.push(c.master === 0 ? 'nomaster' : `master ${c.master}`);
  if (c.addrGenModeNone) parts.push('addrgenmode none');
  return parts.join(', ');
}
