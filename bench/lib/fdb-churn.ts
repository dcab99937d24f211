/**
 * B5's load: FDB entries added and deleted through rtnetlink at a steady
 * rate, the way an EVPN control plane's zebra would write them, fast enough
 * to find the agent's limit rather than the writer's.
 *
 * Each tick sends every operation that is due as one datagram of several
 * netlink messages (RTM_NEWNEIGH / RTM_DELNEIGH, the library's own request
 * encoders). The kernel runs the messages of a datagram one after the other
 * inside the sendmsg() call (netlink_rcv_skb), multicasting each change's
 * notification as it goes, and reports an error for any message that
 * fails; only the last message asks for an ACK. So when the send returns,
 * every operation in it is in the kernel: that moment is each operation's
 * write time, from which B5 measures the way to OVS.
 */
import { RawNetlinkSocket } from 'netlink';
import {
  decodeError,
  deleteFdbEntryRequest,
  fdbEntryRequest,
  forEachMessage,
  NETLINK_NO_ENOBUFS,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  NTF_EXT_LEARNED,
  NTF_SELF,
} from '../../src/lib/rtnetlink/index.js';
import { enableNetlinkOptions } from '../../src/lib/rtnetlink/sockopt.js';

/** One write: which MAC, add or delete, and when the kernel had it (performance.now(), ms). */
export interface ChurnOp {
  mac: string;
  kind: 'add' | 'del';
  at: number;
}

export interface ChurnPlan {
  ifindex: number;
  /** Operations per second (adds and deletes together). */
  rate: number;
  seconds: number;
  /** Entries alive at once: adds until there are this many, then the oldest deleted and a new one added, alternately. */
  window: number;
  /** The MAC of the k-th entry added (k from 0). */
  macOf: (k: number) => string;
  /** The nexthop group the k-th entry names. */
  nhidOf: (k: number) => number;
  /** Called about once a second while the churn runs (e.g. to sample the agent's RSS). */
  everySecond?: () => void;
}

export interface ChurnResult {
  ops: ChurnOp[];
  /** Seconds from the first write to the last. */
  elapsed: number;
  /** MACs still alive at the end (the window). */
  live: string[];
  /** Entries added in all (the next plan can go on from here). */
  added: number;
}

/** Largest number of messages in one datagram (about 60 bytes each). */
const MAX_BATCH = 256;

export class FdbChurnWriter {
  private readonly sock: RawNetlinkSocket;
  private seq = 1;
  private readonly errors: string[] = [];

  constructor() {
    this.sock = new RawNetlinkSocket(NETLINK_ROUTE, { messagePeeking: false, msgBufferSize: 64 * 1024 } as ConstructorParameters<typeof RawNetlinkSocket>[1]);
    // An exception thrown back into the `netlink` binding aborts the process: none may leave these handlers.
    this.sock.on('message', (buf: Buffer) => {
      try {
        forEachMessage(buf, (msg) => {
          if (msg.type !== NLMSG_ERROR) return;
          const ack = decodeError(msg);
          if (ack.errno !== 0 && this.errors.length < 10) this.errors.push(`errno ${ack.errno}${ack.message ? ` (${ack.message})` : ''}`);
        });
      } catch (err) {
        this.errors.push(`undecodable reply: ${String(err)}`);
      }
    });
    this.sock.on('error', (err: { code?: string }) => this.errors.push(`socket: ${err.code ?? 'error'}`));
    // As the library's sockets do (transport.ts): an overrun must not leave ENOBUFS in sk_err, whose POLLERR makes the binding abort the process.
    const note = enableNetlinkOptions(this.sock.address().port, [NETLINK_NO_ENOBUFS]);
    if (note !== undefined) throw new Error(`churn writer: ${note}`);
  }

  /**
   * Runs the plan: writes at `rate` for `seconds`, starting with `added`
   * entries already written (and `live` of them alive) by an earlier plan.
   */
  async run(plan: ChurnPlan, from: { added: number; live: string[] } = { added: 0, live: [] }): Promise<ChurnResult> {
    const total = Math.round(plan.rate * plan.seconds);
    const ops: ChurnOp[] = [];
    const live = [...from.live];
    let head = 0;
    let added = from.added;
    const started = performance.now();
    let nextSecond = started + 1000;
    while (ops.length < total) {
      const now = performance.now();
      if (now >= nextSecond) {
        nextSecond += 1000;
        plan.everySecond?.();
      }
      const due = Math.min(total, Math.floor(((now - started) / 1000) * plan.rate) + 1);
      if (ops.length >= due) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const batch: Buffer[] = [];
      const kinds: Array<{ mac: string; kind: 'add' | 'del' }> = [];
      while (ops.length + batch.length < due && batch.length < MAX_BATCH) {
        if (live.length - head >= plan.window) {
          const mac = live[head++]!;
          batch.push(deleteFdbEntryRequest({ ifindex: plan.ifindex, mac }));
          kinds.push({ mac, kind: 'del' });
        } else {
          const mac = plan.macOf(added);
          batch.push(fdbEntryRequest({ ifindex: plan.ifindex, mac, nhid: plan.nhidOf(added), flags: NTF_SELF | NTF_EXT_LEARNED }));
          kinds.push({ mac, kind: 'add' });
          live.push(mac);
          added += 1;
        }
      }
      const sent = this.send(batch);
      const at = performance.now();
      for (const k of kinds) ops.push({ mac: k.mac, kind: k.kind, at });
      // The completion comes back on a later turn of the event loop: the
      // other side of the bench (the OVS monitor) runs meanwhile, and the
      // next send again finds the queue empty, so it is synchronous too.
      await sent;
      if (this.errors.length > 0) throw new Error(`FDB write refused by the kernel: ${this.errors.join('; ')}`);
    }
    const elapsed = ops.length > 0 ? (ops[ops.length - 1]!.at - started) / 1000 : 0;
    // Errors of the last datagram arrive with its ACK.
    await new Promise((r) => setTimeout(r, 20));
    if (this.errors.length > 0) throw new Error(`FDB write refused by the kernel: ${this.errors.join('; ')}`);
    return { ops, elapsed, live: live.slice(head), added };
  }

  /**
   * One datagram: every message a request, only the last asking for an ACK
   * (failures are reported anyway). With nothing queued the binding calls
   * sendmsg() before returning; the promise settles with its completion.
   */
  private send(messages: Buffer[]): Promise<void> {
    messages.forEach((m, i) => {
      m.writeUInt16LE(m.readUInt16LE(6) | NLM_F_REQUEST | (i === messages.length - 1 ? NLM_F_ACK : 0), 6);
      m.writeUInt32LE(this.seq++, 8);
    });
    // Sent at once when nothing is queued (the binding calls sendmsg() synchronously).
    return new Promise((resolve) => {
      this.sock.send(messages.length === 1 ? messages[0]! : Buffer.concat(messages), {}, (err) => {
        if (err) this.errors.push(`sendmsg: ${(err as { code?: string }).code ?? String(err)}`);
        resolve();
      });
    });
  }

  close(): void {
    this.sock.close();
  }
}
