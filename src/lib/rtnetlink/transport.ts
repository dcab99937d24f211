/**
 * Request/reply over one NETLINK_ROUTE socket: sequence numbers, ACK and
 * error mapping, and streaming dumps. Requests are serialized (one kernel
 * operation in flight per socket): a netlink socket can run only one dump at
 * a time (the kernel answers EBUSY otherwise), and strict ordering keeps
 * "write then read back" free of surprises.
 *
 * This socket never joins multicast groups; notifications go to a separate
 * socket (subscription.ts). On Linux 6.18 notifications echo the requester's
 * seq and flags, so sharing one socket would make events and replies
 * ambiguous.
 */
import { RawNetlinkSocket } from 'netlink';
import { NETLINK_EXT_ACK, NETLINK_NO_ENOBUFS, NETLINK_ROUTE, NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN } from './constants.js';
import { KernelError, NetlinkDecodeError, ResyncNeededError, SocketClosedError } from './errors.js';
import { decodeDone, decodeError, forEachMessage, type NetlinkMessage } from './message.js';
import { enableNetlinkOptions } from './sockopt.js';

export interface TransportOptions {
  /** SO_RCVBUF in bytes (the kernel doubles it and enforces rmem_max unless root). */
  receiveBufferSize?: number;
  /** Ask the kernel for extended-ack text on errors (default true). */
  extendedAck?: boolean;
  /** Fail a request when the kernel has been silent this long (default 30 s). */
  requestTimeoutMs?: number;
}

/** The socket reported a failure of its own (not a kernel reply), e.g. ENOBUFS. */
export class NetlinkSocketError extends Error {
  override name = 'NetlinkSocketError';
  constructor(
    readonly errno: number,
    readonly code: string,
    readonly syscall: string,
  ) {
    super(`netlink socket ${syscall}: ${code}`);
  }
}

interface Pending {
  seq: number;
  what: string;
  /** Messages of this exchange, grouped by datagram; consumed by the waiter. */
  batches: NetlinkMessage[][];
  done: boolean;
  interrupted: boolean;
  error?: Error;
  wake?: () => void;
  timer?: NodeJS.Timeout;
  release: () => void;
}

const RECEIVE_BUFFER = 64 * 1024;

/** Decodes one reply message; returning undefined skips it. */
export type Decoder<T> = (msg: NetlinkMessage) => T | undefined;

export class NetlinkTransport {
  private readonly sock: RawNetlinkSocket;
  private seq: number;
  private tail: Promise<void> = Promise.resolve();
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private readonly timeoutMs: number;
  /** Why extended acks are unavailable, when they are. */
  readonly extendedAckUnavailable: string | undefined;

  constructor(opts: TransportOptions = {}) {
    // Receive into a fixed 64 KiB buffer instead of peeking each datagram's
    // size: the kernel sizes dump datagrams by the largest recvmsg() buffer it
    // has seen (nlk->max_recvmsg_len, capped near 32 KiB; af_netlink.c), and
    // a peek-sized buffer keeps that at ~4 KiB. Small datagrams make big
    // dumps quadratic, because the VXLAN FDB dump re-walks its hash table
    // from the start for every datagram (100,000 entries: ~5 s instead of
    // well under 1 s, as iproute2 gets with its 32 KiB buffer).
    this.sock = new RawNetlinkSocket(NETLINK_ROUTE, {
      messagePeeking: false,
      msgBufferSize: RECEIVE_BUFFER,
      ...(opts.receiveBufferSize ? { recvBufferSize: opts.receiveBufferSize } : {}),
    } as ConstructorParameters<typeof RawNetlinkSocket>[1]);
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.seq = (Math.random() * 0x7fffffff) >>> 0;
    // Always listen: an unhandled 'error' event would crash the process.
    this.sock.on('error', (err) => this.onSocketError(err));
    this.sock.on('message', (buf) => this.onDatagram(buf));
    // Only a single message larger than the buffer (never seen for these
    // families) could be cut; fail loudly rather than decode half of it.
    this.sock.on('truncatedMessage', (_buf, info) => {
      const e = new NetlinkDecodeError('datagram', 0, `truncated to ${RECEIVE_BUFFER} of ${info.truncated ?? '?'} bytes`);
      for (const p of this.pending.values()) this.fail(p, e);
    });
    // NETLINK_NO_ENOBUFS as on subscriptions (see subscription.ts): an
    // overrun must not leave ENOBUFS in sk_err, whose POLLERR makes the
    // `netlink` package abort the process. Replies to our serialized requests
    // cannot realistically overrun (dumps are flow-controlled); if one ever
    // did, the request times out instead.
    const port = this.sock.address().port;
    if (opts.extendedAck === false) {
      enableNetlinkOptions(port, [NETLINK_NO_ENOBUFS]);
      this.extendedAckUnavailable = 'disabled by option';
    } else {
      this.extendedAckUnavailable = enableNetlinkOptions(port, [NETLINK_NO_ENOBUFS, NETLINK_EXT_ACK]);
    }
  }

  /** The netlink port id the kernel knows this socket by (nlmsg_pid of its notifications' origin). */
  get portId(): number {
    return this.sock.address().port;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    for (const p of this.pending.values()) this.fail(p, new SocketClosedError());
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private async acquire(): Promise<() => void> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    return release;
  }

  private onSocketError(err: { errno?: number; code?: string; syscall?: string }): void {
    const e = new NetlinkSocketError(err.errno ?? 0, err.code ?? 'EIO', err.syscall ?? 'recvmsg');
    // A lost datagram may have been the reply we wait for: fail what is in flight.
    for (const p of this.pending.values()) this.fail(p, e);
  }

  private onDatagram(buf: Buffer): void {
    let batch: NetlinkMessage[] | undefined;
    let owner: Pending | undefined;
    const flush = () => {
      if (owner && batch) owner.batches.push(batch);
      batch = undefined;
    };
    try {
      forEachMessage(buf, (msg) => {
        const p = this.pending.get(msg.seq);
        if (!p || p.done) return; // late reply of an abandoned request
        if (owner !== p) {
          flush();
          owner = p;
        }
        if (msg.flags & NLM_F_DUMP_INTR) p.interrupted = true;
        if (msg.type === NLMSG_ERROR) {
          const ack = decodeError(msg);
          flush();
          if (ack.errno === 0) this.finish(p);
          else this.fail(p, new KernelError(ack.errno, ack.message, ack.offset, p.what));
          return;
        }
        if (msg.type === NLMSG_DONE) {
          flush();
          const status = decodeDone(msg);
          if (status !== 0) this.fail(p, new KernelError(status, undefined, undefined, p.what));
          else this.finish(p);
          return;
        }
        if (msg.type === NLMSG_NOOP || msg.type === NLMSG_OVERRUN) return;
        (batch ??= []).push(msg);
      });
      flush();
    } catch (err) {
      // Framing is broken: nothing in this datagram can be trusted.
      const e = err instanceof NetlinkDecodeError ? err : new NetlinkDecodeError('datagram', 0, String(err));
      for (const p of this.pending.values()) this.fail(p, e);
    }
    for (const p of this.pending.values()) {
      this.armTimer(p);
      p.wake?.();
    }
  }

  private armTimer(p: Pending): void {
    if (p.done) return;
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.fail(p, new Error(`${p.what}: no answer from the kernel in ${this.timeoutMs} ms`)), this.timeoutMs);
  }

  private finish(p: Pending): void {
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    this.pending.delete(p.seq);
    p.release();
    p.wake?.();
  }

  private fail(p: Pending, err: Error): void {
    if (p.done) return;
    p.error = err;
    this.finish(p);
  }

  /**
   * Sends one message (its seq is assigned here) and returns an async
   * iterator over batches of the reply messages, one batch per datagram.
   */
  private async *exchange(msg: Buffer, what: string): AsyncGenerator<NetlinkMessage[]> {
    if (this.closed) throw new SocketClosedError();
    const release = await this.acquire();
    if (this.closed) {
      release();
      throw new SocketClosedError();
    }
    const seq = this.nextSeq();
    msg.writeUInt32LE(seq, 8);
    const p: Pending = { seq, what, batches: [], done: false, interrupted: false, release };
    this.pending.set(seq, p);
    this.armTimer(p);
    this.sock.send(msg, {}, (err) => {
      if (err) this.fail(p, new NetlinkSocketError(err.errno, err.code, 'sendmsg'));
    });
    try {
      for (;;) {
        while (p.batches.length > 0) yield p.batches.shift()!;
        if (p.done) break;
        await new Promise<void>((resolve) => (p.wake = resolve));
        p.wake = undefined;
      }
      if (p.error) throw p.error;
      if (p.interrupted) throw new ResyncNeededError('dump-interrupted');
    } finally {
      // Consumer stopped early: keep the lock until the kernel finishes this
      // exchange (finish() releases it), but stop buffering its messages.
      p.batches.length = 0;
      p.wake = undefined;
    }
  }

  /**
   * Sends a request (NLM_F_ACK is added) and resolves with the reply
   * messages once the kernel's ACK arrives; rejects with KernelError.
   */
  async request(msg: Buffer, what: string): Promise<NetlinkMessage[]> {
    msg.writeUInt16LE(msg.readUInt16LE(6) | NLM_F_REQUEST | NLM_F_ACK, 6);
    const replies: NetlinkMessage[] = [];
    for await (const batch of this.exchange(msg, what)) replies.push(...batch);
    return replies;
  }

  /**
   * Sends a dump request and yields decoded entries, one array per datagram
   * (so a large dump streams without per-entry promise overhead). Throws
   * ResyncNeededError('dump-interrupted') after the last batch when the kernel
   * flagged NLM_F_DUMP_INTR: the result is inconsistent and must be redone.
   */
  async *dump<T>(msg: Buffer, what: string, decode: Decoder<T>): AsyncGenerator<T[]> {
    msg.writeUInt16LE(msg.readUInt16LE(6) | NLM_F_REQUEST, 6);
    for await (const batch of this.exchange(msg, what)) {
      const out: T[] = [];
      for (const m of batch) {
        const v = decode(m);
        if (v !== undefined) out.push(v);
      }
      if (out.length) yield out;
    }
  }
}

