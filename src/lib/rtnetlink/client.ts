/**
 * The rtnetlink client: dumps, lookups and the writes the agent makes (fdb
 * nexthops, fdb nexthop groups, VXLAN FDB entries, VXLAN devices). Every
 * write asks for an ACK, so a resolved promise means the kernel applied it
 * and a rejection is a KernelError with errno and the kernel's reason text.
 */
import { AF_BRIDGE } from './constants.js';
import { KernelError, ResyncNeededError } from './errors.js';
import { decodeLink, type Link, type VxlanSpec } from './link.js';
import type { NetlinkMessage } from './message.js';
import { decodeFdbEntry, neighFamily, type FdbEntry } from './neigh.js';
import { decodeNexthop, type Nexthop } from './nexthop.js';
import {
  addrGenModeNoneRequest,
  createVxlanRequest,
  deleteFdbEntryRequest,
  deleteLinkRequest,
  deleteNexthopRequest,
  dumpFdbRequest,
  dumpLinksRequest,
  dumpNexthopsRequest,
  fdbEntryRequest,
  fdbGroupRequest,
  fdbNexthopRequest,
  getLinkRequest,
  getNexthopRequest,
  newNexthopRequest,
  setLinkUpRequest,
  type FdbEntryKey,
  type FdbEntrySpec,
  type FdbGroupSpec,
  type FdbNexthopSpec,
} from './requests.js';
import { RtnetlinkSubscription, type SubscriptionGroup, type SubscriptionOptions } from './subscription.js';
import { NetlinkTransport, type TransportOptions } from './transport.js';

export interface CreateVxlanSpec extends VxlanSpec {
  /** Bring the device up (default true). */
  up?: boolean;
  /** No IPv6 link-local address, so the device never emits router solicitations (default true). */
  addrGenModeNone?: boolean;
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

  // --- lookups -----------------------------------------------------------

  /** One nexthop by id, or undefined (ENOENT). */
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

  /** `bridge fdb add|replace|append MAC dev DEV self static nhid G` or `... dst IP [vni V]` */
  async addFdbEntry(spec: FdbEntrySpec): Promise<void> {
    const verb = spec.replace ? 'replace' : spec.append ? 'append' : 'add';
    await this.transport.request(fdbEntryRequest(spec), `${verb} fdb ${spec.mac} on ifindex ${spec.ifindex}`);
  }

  /** `bridge fdb del MAC dev DEV self [dst IP] [vni V]` */
  async deleteFdbEntry(key: FdbEntryKey): Promise<void> {
    await this.transport.request(deleteFdbEntryRequest(key), `delete fdb ${key.mac} on ifindex ${key.ifindex}`);
  }

  // --- links -------------------------------------------------------------

  /** Creates a VXLAN device, then (by default) sets addrgenmode none and brings it up. */
  async createVxlan(spec: CreateVxlanSpec): Promise<Link> {
    await this.transport.request(createVxlanRequest(spec), `create vxlan ${spec.name}`);
    const link = await this.getLinkByName(spec.name);
    if (!link) throw new Error(`vxlan ${spec.name} vanished right after creation`);
    if (spec.addrGenModeNone ?? true) await this.transport.request(addrGenModeNoneRequest(link.ifindex), `set addrgenmode none on ${spec.name}`);
    if (spec.up ?? true) await this.setLinkUp(link.ifindex, true);
    return (await this.getLink(link.ifindex)) ?? link;
  }

  /** `ip link set dev DEV up|down` */
  async setLinkUp(ifindex: number, up: boolean): Promise<void> {
    await this.transport.request(setLinkUpRequest(ifindex, up), `set ifindex ${ifindex} ${up ? 'up' : 'down'}`);
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
