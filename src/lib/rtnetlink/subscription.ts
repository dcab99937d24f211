/**
 * Multicast notifications (RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_NEXTHOP) on a
 * socket of their own, decoded into events, with loss surfaced as a distinct
 * `resync` event.
 *
 * Loss happens when the kernel cannot queue a notification on our socket
 * (netlink_overrun): it counts the drop in sk_drops and, unless
 * NETLINK_NO_ENOBUFS is set, puts ENOBUFS in sk_err (shared/reference/wire.md
 * B5). A pending sk_err makes poll() report POLLERR, which libuv turns into
 * UV_EBADF for the `netlink` package's poll handle, and that package's
 * handler then throws from native code and aborts the process (checked with
 * netlink@0.3.0 on Linux 6.18: "terminate called after throwing an instance
 * of 'Napi::Error'"). So the subscription sets NETLINK_NO_ENOBUFS, which
 * keeps sk_err clear, and detects loss from sk_drops instead, read from
 * /proc/self/net/netlink (checked every `dropCheckIntervalMs`, and at most every
 * 25 ms while datagrams arrive). If the option cannot be set, the
 * socket falls back to the ENOBUFS path (`overflowDetection` says which).
 *
 * The consumer's remedy for a `resync` event is to keep reading this
 * subscription (events that arrive during the re-dump stay queued here), dump
 * everything again and reconcile, then apply the queued events.
 *
 * Kernel behaviours a consumer must honour (Linux 6.18, DESIGN.md §4):
 * replacing a member nexthop notifies only the member, not the groups that
 * contain it; deleting a group removes the FDB entries that use it without a
 * RTM_DELNEIGH; deleting a member sends RTM_DELNEXTHOP for the member, then
 * RTM_NEWNEXTHOP for each group it was in. VXLAN FDB notifications carry
 * port id 0 and seq 0 (vxlan_fdb_notify), nexthop notifications the
 * requester's port id and seq.
 */
import { RawNetlinkSocket } from 'netlink';
import {
  AF_BRIDGE,
  NETLINK_NO_ENOBUFS,
  NETLINK_ROUTE,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELNEXTHOP,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWNEXTHOP,
  RTNLGRP_LINK,
  RTNLGRP_NEIGH,
  RTNLGRP_NEXTHOP,
} from './constants.js';
import { NetlinkDecodeError } from './errors.js';
import { decodeLink, type Link } from './link.js';
import { forEachMessage } from './message.js';
import { decodeFdbEntry, neighFamily, type FdbEntry } from './neigh.js';
import { decodeNexthop, type Nexthop } from './nexthop.js';
import { enableNetlinkOptions, netlinkSocketDrops, setSocketOptions, SO_RCVBUFFORCE, SOL_SOCKET } from './sockopt.js';

export type EventOp = 'new' | 'del';

/** Where a notification came from: the requester's port id and sequence number (0 for kernel-originated changes). */
interface Origin {
  pid: number;
  seq: number;
}

export type RtnetlinkEvent =
  | ({ kind: 'nexthop'; op: EventOp; nexthop: Nexthop } & Origin)
  | ({ kind: 'neigh'; op: EventOp; entry: FdbEntry } & Origin)
  | ({ kind: 'link'; op: EventOp; link: Link } & Origin)
  /**
   * Events were lost (`overflow`: ENOBUFS, or more than maxQueuedEvents
   * unread) or could not be decoded (`malformed`): dump again.
   */
  | { kind: 'resync'; reason: 'overflow' | 'malformed'; error?: Error };

export type SubscriptionGroup = 'link' | 'neigh' | 'nexthop';

/**
 * Events held for a consumer that reads too slowly before the queue is
 * replaced by one `resync` (the consumer then dumps again). A decoded FDB
 * notification (NDA_LLADDR, NDA_NH_ID, NDA_VNI, NDA_CACHEINFO) takes ~0.4 KiB
 * of heap (test/unit/rtnetlink/queue-budget.test.ts measures it), so the queue
 * stays near 20 MiB, well inside an agent's memory limit (the chart's is
 * 384 MiB); a million events, the earlier bound, was ~390 MiB. A burst larger
 * than this costs one re-dump instead.
 */
export const DEFAULT_MAX_QUEUED_EVENTS = 50_000;

const GROUP_NUMBERS: Record<SubscriptionGroup, number> = {
  link: RTNLGRP_LINK,
  neigh: RTNLGRP_NEIGH,
  nexthop: RTNLGRP_NEXTHOP,
};

export interface SubscriptionOptions {
  /**
   * SO_RCVBUF in bytes: how much the kernel holds for a consumer that is
   * busy elsewhere (Linux doubles it for bookkeeping). Above
   * net.core.rmem_max it is set with SO_RCVBUFFORCE, which needs
   * CAP_NET_ADMIN; without it the socket keeps what SO_RCVBUF granted
   * (`receiveBufferNote` says why).
   */
  receiveBufferSize?: number;
  /**
   * Events held for a consumer that reads too slowly; beyond this the queue
   * is dropped and replaced by one `resync` event (default
   * DEFAULT_MAX_QUEUED_EVENTS).
   */
  maxQueuedEvents?: number;
  /** Also deliver neighbour events of families other than AF_BRIDGE (ARP/ND). Default false. */
  allNeighbourFamilies?: boolean;
  /**
   * Also deliver the bridge's per-port link messages (family AF_BRIDGE). Off
   * by default: the bridge sends RTM_DELLINK with family AF_BRIDGE when a port
   * merely leaves the bridge (br_ifinfo_notify in net/bridge/br_netlink.c),
   * which a consumer would mistake for the device being deleted.
   */
  bridgePortLinkEvents?: boolean;
  /** How often to compare the socket's kernel drop counter (default 200 ms). */
  dropCheckIntervalMs?: number;
}

export class RtnetlinkSubscription implements AsyncIterable<RtnetlinkEvent> {
  private readonly sock: RawNetlinkSocket;
  private queue: RtnetlinkEvent[] = [];
  private head = 0;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly maxQueued: number;
  private readonly allFamilies: boolean;
  private readonly bridgePortLinks: boolean;
  /** Count of resync events produced, for metrics. */
  resyncs = 0;
  /**
   * `drops`: loss is detected from the kernel's drop counter (NETLINK_NO_ENOBUFS
   * set). `enobufs`: the option could not be set (see `overflowDetectionNote`);
   * an overflow then reaches the `netlink` package's ENOBUFS path.
   */
  readonly overflowDetection: 'drops' | 'enobufs';
  readonly overflowDetectionNote: string | undefined;
  /** Why the receive buffer asked for could not be had, if it could not. */
  readonly receiveBufferNote: string | undefined;
  private readonly port: number;
  private drops = 0;
  private readonly dropTimer: NodeJS.Timeout | undefined;
  private lastDropCheck = 0;

  constructor(groups: readonly (SubscriptionGroup | number)[], opts: SubscriptionOptions = {}) {
    this.maxQueued = opts.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
    this.allFamilies = opts.allNeighbourFamilies ?? false;
    this.bridgePortLinks = opts.bridgePortLinkEvents ?? false;
    this.sock = new RawNetlinkSocket(NETLINK_ROUTE, {
      ...(opts.receiveBufferSize ? { recvBufferSize: opts.receiveBufferSize } : {}),
    } as ConstructorParameters<typeof RawNetlinkSocket>[1]);
    this.sock.on('error', (err: { code?: string }) => {
      // ENOBUFS: the kernel dropped notifications for us. Anything else on a
      // receive-only socket also means we can no longer trust what we saw.
      this.pushResync('overflow', new Error(`netlink subscription: ${err.code ?? 'error'}`));
    });
    this.sock.on('message', (buf) => this.onDatagram(buf));
    this.port = this.sock.address().port;
    this.overflowDetectionNote = enableNetlinkOptions(this.port, [NETLINK_NO_ENOBUFS]);
    this.overflowDetection = this.overflowDetectionNote === undefined ? 'drops' : 'enobufs';
    const wanted = opts.receiveBufferSize;
    // SO_RCVBUF stops at net.core.rmem_max (and the kernel doubles what it grants).
    if (wanted !== undefined && this.sock.getRecvBufferSize() < 2 * wanted) {
      this.receiveBufferNote = setSocketOptions(this.port, [{ level: SOL_SOCKET, name: SO_RCVBUFFORCE, value: wanted }]);
    }
    if (this.overflowDetection === 'drops') {
      this.drops = netlinkSocketDrops(this.port) ?? 0;
      this.dropTimer = setInterval(() => this.checkDrops(), opts.dropCheckIntervalMs ?? 200);
      this.dropTimer.unref();
    }
    // setsockopt(NETLINK_ADD_MEMBERSHIP) works for groups above 32 too
    // (RTNLGRP_NEXTHOP = 32 does not fit the legacy bind() mask's low bits).
    for (const g of groups) this.sock.addMembership(typeof g === 'number' ? g : GROUP_NUMBERS[g]);
  }

  /** Receive buffer the kernel actually granted (it doubles the request). */
  get receiveBufferSize(): number {
    return this.sock.getRecvBufferSize();
  }

  private push(ev: RtnetlinkEvent): void {
    if (this.queue.length - this.head >= this.maxQueued) {
      this.pushResync('overflow', new Error(`more than ${this.maxQueued} unread events`));
      return;
    }
    this.queue.push(ev);
  }

  private pushResync(reason: 'overflow' | 'malformed', error: Error): void {
    if (this.closed) return;
    // Everything queued is superseded by the re-dump the consumer will do.
    this.queue = [{ kind: 'resync', reason, error }];
    this.head = 0;
    this.resyncs++;
    this.wake();
  }

  /** Emits `resync` when the kernel's drop counter for this socket moved. */
  checkDrops(): void {
    if (this.closed || this.overflowDetection !== 'drops') return;
    this.lastDropCheck = Date.now();
    let now: number | undefined;
    try {
      now = netlinkSocketDrops(this.port);
    } catch {
      return; // /proc unreadable for a moment: the next check decides
    }
    if (now !== undefined && now !== this.drops) {
      const lost = now - this.drops;
      this.drops = now;
      this.pushResync('overflow', new Error(`netlink subscription: ENOBUFS, the kernel dropped ${lost} notification(s)`));
    }
  }

  private onDatagram(buf: Buffer): void {
    // During a burst, look at the drop counter every 25 ms as well, so a
    // resync is signalled close to the loss, not only on the next tick.
    if (this.overflowDetection === 'drops' && Date.now() - this.lastDropCheck > 25) this.checkDrops();
    try {
      forEachMessage(buf, (msg) => {
        const origin = { pid: msg.pid, seq: msg.seq };
        switch (msg.type) {
          case RTM_NEWNEXTHOP:
          case RTM_DELNEXTHOP:
            this.push({ kind: 'nexthop', op: msg.type === RTM_NEWNEXTHOP ? 'new' : 'del', nexthop: decodeNexthop(msg), ...origin });
            break;
          case RTM_NEWNEIGH:
          case RTM_DELNEIGH:
            if (!this.allFamilies && neighFamily(msg) !== AF_BRIDGE) break;
            this.push({ kind: 'neigh', op: msg.type === RTM_NEWNEIGH ? 'new' : 'del', entry: decodeFdbEntry(msg), ...origin });
            break;
          case RTM_NEWLINK:
          case RTM_DELLINK:
            // ifinfomsg.ifi_family sits where ndmsg.ndm_family does.
            if (!this.bridgePortLinks && neighFamily(msg) === AF_BRIDGE) break;
            this.push({ kind: 'link', op: msg.type === RTM_NEWLINK ? 'new' : 'del', link: decodeLink(msg), ...origin });
            break;
          default:
            break; // other families we did not ask for (e.g. RTM_NEWROUTE on shared groups)
        }
      });
    } catch (err) {
      this.pushResync('malformed', err instanceof NetlinkDecodeError ? err : new Error(String(err)));
    }
    this.wake();
  }

  /** Takes every event queued now, without waiting (for batch processing). */
  drain(): RtnetlinkEvent[] {
    const out = this.head === 0 ? this.queue : this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    return out;
  }

  /** Resolves when at least one event is queued (or the subscription is closed). */
  async waitForEvents(): Promise<void> {
    while (this.queue.length === this.head && !this.closed) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The next event, or undefined once closed. */
  async next(): Promise<RtnetlinkEvent | undefined> {
    await this.waitForEvents();
    if (this.queue.length === this.head) return undefined;
    const ev = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return ev;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RtnetlinkEvent> {
    for (;;) {
      const ev = await this.next();
      if (ev === undefined) return;
      yield ev;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.dropTimer);
    this.sock.close();
    this.wake();
  }
}
