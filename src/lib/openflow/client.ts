import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { OpenFlowBundleError, type BundleFailure, type BundleMessage, type BundleSource } from './bundle.js';
import { OFP13, OFP15, OFPG, OFPT, type OfVersion } from './constants.js';
import {
  OpenFlowDecodeError,
  OpenFlowDisconnectedError,
  OpenFlowNegotiationError,
  OpenFlowReplyTooLargeError,
  OpenFlowRequestError,
  OpenFlowTimeoutError,
} from './errors.js';
import type { FlowStats, FlowStatsRequest } from './flow.js';
import { MessageFramer } from './framer.js';
import type { GroupDesc, GroupStats } from './group.js';
import {
  decodeMessage,
  encodeMessage,
  messageKind,
  OFPBF,
  OFPMPF_MORE,
  writeMessage,
  type BundleControlType,
  type DecodedMessage,
  type MultipartReply,
  type MultipartRequest,
  type OfMessage,
} from './message.js';
import type { PortDesc } from './port.js';
import { formatTarget, parseTarget, type StreamTarget } from './target.js';
import { Writer } from './wire.js';

export interface OpenFlowClientOptions {
  /** Versions offered in HELLO; the highest common one is used. Default 1.3 and 1.5. */
  versions?: OfVersion[];
  /**
   * Send an ECHO_REQUEST after this long without hearing from the switch, and
   * drop the connection after twice as long. Open vSwitch probes us every
   * 60 s on its side (wire.md A1); default 15 s.
   */
  probeIntervalMs?: number;
  /** Default time limit of a request; default 60 s (large dumps and bundles take a while). */
  requestTimeoutMs?: number;
  /** Reconnect by itself after losing the connection. Default true. */
  reconnect?: boolean;
  /** First reconnect delay; doubles up to `backoffMaxMs`. Defaults 100 ms and 5 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Time allowed from socket open to a negotiated, answering switch. Default 10 s. */
  handshakeTimeoutMs?: number;
  /**
   * Largest multipart reply gathered for one request, in bytes on the wire
   * (default 64 MiB). Past it the request fails with
   * OpenFlowReplyTooLargeError and the reply's remaining parts are dropped
   * unread. For scale: 100,000 flows and 10,000 select groups of 16 buckets
   * dump as ~12 MiB and ~8 MiB.
   */
  maxReplyBytes?: number;
}

export interface ConnectedEvent {
  version: OfVersion;
  datapathId: bigint;
  nTables: number;
  target: string;
}

export interface DisconnectedEvent {
  target: string;
  /** What ended the connection, when known. */
  error?: Error;
  /** Delay before the next attempt; absent when the client will not reconnect. */
  reconnectInMs?: number;
}

export interface OpenFlowClientEvents {
  connected: [ConnectedEvent];
  disconnected: [DisconnectedEvent];
  /** Messages nobody asked for: PORT_STATUS, FLOW_REMOVED, unsolicited errors… */
  message: [DecodedMessage];
  /** A malformed message (or stream) from the switch; the message is dropped. */
  protocolError: [OpenFlowDecodeError | OpenFlowNegotiationError];
}

/** A group as the switch holds it, with its counters when asked for. */
export interface GroupEntry extends GroupDesc {
  stats?: GroupStats;
}

export interface BundleOptions {
  /** Default ATOMIC|ORDERED: all or nothing, in the given order. */
  flags?: number;
  timeoutMs?: number;
}

interface Pending {
  kind: string;
  multipart: boolean;
  replies: DecodedMessage[];
  /** Wire bytes of `replies`. */
  replyBytes: number;
  resolve(replies: DecodedMessage[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface BundleTrack {
  messages: BundleSource;
  failures: BundleFailure[];
}

const DEFAULTS = {
  versions: [OFP13, OFP15] as OfVersion[],
  probeIntervalMs: 15_000,
  requestTimeoutMs: 60_000,
  reconnect: true,
  backoffInitialMs: 100,
  backoffMaxMs: 5_000,
  handshakeTimeoutMs: 10_000,
  maxReplyBytes: 64 * 1024 * 1024,
};

/** Socket writes are batched up to this size when many messages go out at once. */
const WRITE_CHUNK = 256 * 1024;

/**
 * An OpenFlow controller-side connection to one switch (e.g. an Open vSwitch
 * bridge's `unix:<rundir>/<bridge>.mgmt`). It negotiates the version, keeps
 * xids and matches replies (including multipart sequences) to requests,
 * answers and sends echoes, reconnects with backoff, and applies batches of
 * group and flow changes as atomic bundles.
 *
 * Usage: `const c = await OpenFlowClient.connect('unix:/run/openvswitch/br0.mgmt')`
 * (resolves once connected; rejects if the first attempt fails), or
 * `new OpenFlowClient(target).start()` and listen for `connected`.
 */
export class OpenFlowClient extends EventEmitter<OpenFlowClientEvents> {
  readonly target: StreamTarget;
  private readonly opts: typeof DEFAULTS;
  private socket: Socket | undefined;
  private framer = new MessageFramer();
  private state: 'idle' | 'handshake' | 'connected' | 'closed' = 'idle';
  private negotiated: OfVersion | undefined;
  private info: ConnectedEvent | undefined;
  private nextXid = 1;
  private nextBundleId = 1;
  private pending = new Map<number, Pending>();
  private bundleAdds = new Map<number, { track: BundleTrack; index: number }>();
  /** xids of multipart replies that outgrew maxReplyBytes: their remaining parts are dropped. */
  private droppedReplies = new Set<number>();
  private sent = new Map<string, number>();
  private lastRx = 0;
  private echoOutstanding = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private lastError: Error | undefined;
  private waiters: { resolve(): void; reject(e: Error): void }[] = [];
  /** Connection attempts made and connections established, for tests and metrics. */
  readonly stats = { attempts: 0, connections: 0 };

  constructor(target: string | StreamTarget, options: OpenFlowClientOptions = {}) {
    super();
    this.target = typeof target === 'string' ? parseTarget(target) : target;
    this.opts = { ...DEFAULTS, ...stripUndefined(options) };
    this.backoff = this.opts.backoffInitialMs;
  }

  /** Connects and resolves once the switch answered; rejects if that first attempt fails. */
  static async connect(target: string | StreamTarget, options: OpenFlowClientOptions = {}): Promise<OpenFlowClient> {
    const client = new OpenFlowClient(target, { ...options, reconnect: false });
    client.start();
    try {
      await client.waitConnected(options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs);
    } catch (err) {
      client.close();
      throw err;
    }
    // From here on, losing the switch means reconnecting (unless the caller said otherwise).
    client.opts.reconnect = options.reconnect ?? DEFAULTS.reconnect;
    return client;
  }

  /** Starts connecting (and reconnecting, if enabled). */
  start(): this {
    if (this.state === 'idle') this.attempt();
    return this;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** The negotiated version (throws when not connected). */
  get version(): OfVersion {
    if (!this.negotiated) throw new OpenFlowDisconnectedError(`not connected to ${formatTarget(this.target)}`);
    return this.negotiated;
  }

  /** The current connection (version, datapath id); undefined while disconnected. */
  get connection(): ConnectedEvent | undefined {
    return this.info;
  }

  /** Resolves when connected (now or later); rejects after `timeoutMs` or if the client is closed. */
  waitConnected(timeoutMs = this.opts.handshakeTimeoutMs): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new OpenFlowDisconnectedError('client closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const cause = this.lastError ? `: ${this.lastError.message}` : '';
        reject(new OpenFlowTimeoutError(`no OpenFlow connection to ${formatTarget(this.target)} within ${timeoutMs} ms${cause}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Messages sent since the last reset, by kind (`groupMod.modify`, `bundleControl.commitRequest`…). Bundled messages count under their own kind too. */
  counters(): Record<string, number> {
    return Object.fromEntries(this.sent);
  }

  resetCounters(): void {
    this.sent.clear();
  }

  /** Stops for good: rejects what is outstanding, closes the socket, no reconnect. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.teardown(new OpenFlowDisconnectedError('client closed'));
    socket?.destroy();
    for (const w of this.waiters.splice(0)) w.reject(new OpenFlowDisconnectedError('client closed'));
  }

  // ---- requests ----------------------------------------------------------

  /** Sends a message that has no reply (unless it fails). Returns its xid. */
  send(message: OfMessage): number {
    const socket = this.requireSocket();
    const xid = this.allocXid();
    socket.write(encodeMessage(this.version, xid, message));
    this.count(message);
    return xid;
  }

  /** Sends a request and resolves with its reply; multipart replies are gathered until the last part. */
  request(message: OfMessage, timeoutMs = this.opts.requestTimeoutMs): Promise<DecodedMessage[]> {
    let socket: Socket;
    let xid: number;
    let bytes: Buffer;
    try {
      socket = this.requireSocket(message.type === 'featuresRequest');
      xid = this.allocXid();
      // An unencodable message (OpenFlowEncodeError) rejects instead of throwing.
      bytes = encodeMessage(this.negotiated ?? OFP15, xid, message);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const promise = this.expect(xid, messageKind(message), message.type === 'multipartRequest', timeoutMs);
    socket.write(bytes);
    this.count(message);
    return promise;
  }

  /** Waits until the switch has processed everything sent before. */
  async barrier(timeoutMs?: number): Promise<void> {
    await this.request({ type: 'barrierRequest' }, timeoutMs);
  }

  /** Round trip with ECHO_REQUEST; resolves with the time it took in ms. */
  async echo(timeoutMs?: number): Promise<number> {
    const t0 = performance.now();
    await this.request({ type: 'echoRequest', data: Buffer.alloc(0) }, timeoutMs);
    return performance.now() - t0;
  }

  async multipart(request: MultipartRequest, timeoutMs?: number): Promise<MultipartReply[]> {
    const replies = await this.request({ type: 'multipartRequest', flags: 0, request }, timeoutMs);
    return replies.flatMap((r) => (r.message.type === 'multipartReply' ? [r.message.reply] : []));
  }

  async dumpGroupDescs(groupId: number = OFPG.ALL): Promise<GroupDesc[]> {
    // 1.3 can only describe all groups: filter here.
    const all = this.version === OFP13;
    const parts = await this.multipart(all ? { kind: 'groupDesc' } : { kind: 'groupDesc', groupId });
    const groups = parts.flatMap((p) => (p.kind === 'groupDesc' ? p.groups : []));
    return all && groupId !== OFPG.ALL ? groups.filter((g) => g.groupId === groupId) : groups;
  }

  async dumpGroupStats(groupId: number = OFPG.ALL): Promise<GroupStats[]> {
    const parts = await this.multipart({ kind: 'groupStats', groupId });
    return parts.flatMap((p) => (p.kind === 'groupStats' ? p.stats : []));
  }

  /**
   * The switch's groups (GROUP_DESC), each joined with its GROUP stats when
   * `stats` is set. Bucket counters are positional (wire.md A5): the n-th
   * counter belongs to the n-th bucket of the description.
   */
  async dumpGroups(opts: { groupId?: number; stats?: boolean } = {}): Promise<GroupEntry[]> {
    const groupId = opts.groupId ?? OFPG.ALL;
    const [descs, stats] = await Promise.all([this.dumpGroupDescs(groupId), opts.stats ? this.dumpGroupStats(groupId) : Promise.resolve([])]);
    const byId = new Map(stats.map((s) => [s.groupId, s]));
    return descs.map((d) => {
      const s = byId.get(d.groupId);
      return s ? { ...d, stats: s } : d;
    });
  }

  /** Flows matching the filter (all tables, all cookies by default). */
  async dumpFlows(filter: FlowStatsRequest = {}): Promise<FlowStats[]> {
    const parts = await this.multipart({ kind: 'flowStats', ...filter });
    return parts.flatMap((p) => (p.kind === 'flowStats' ? p.flows : []));
  }

  async dumpPorts(): Promise<PortDesc[]> {
    const parts = await this.multipart({ kind: 'portDesc' });
    return parts.flatMap((p) => (p.kind === 'portDesc' ? p.ports : []));
  }

  /**
   * Applies group and flow changes as one bundle: OPEN, one ADD per message,
   * BARRIER, then COMMIT — or DISCARD if any ADD was refused. With the default
   * ATOMIC|ORDERED flags either everything is applied in order or nothing is.
   *
   * A successful ADD has no reply, so the barrier collects ADD errors before
   * committing; a failed COMMIT reports the failing inner message's error
   * (with that ADD's xid) and then MSG_FAILED (wire.md A6). Either way the
   * promise rejects with an OpenFlowBundleError naming the message.
   * All messages are written in large batches without waiting on each.
   */
  async applyBundle(messages: readonly BundleMessage[] | BundleSource, opts: BundleOptions = {}): Promise<{ bundleId: number; messages: number }> {
    const flags = opts.flags ?? OFPBF.ATOMIC | OFPBF.ORDERED;
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
    const socket = this.requireSocket();
    const version = this.version;
    if (messages.length === 0) return { bundleId: 0, messages: 0 };
    const bundleId = this.allocBundleId();
    const track: BundleTrack = { messages, failures: [] };
    const addXids: number[] = [];
    try {
      // Encode everything first, so a message that cannot be encoded fails the
      // call before anything reaches the switch.
      let w = new Writer(WRITE_CHUNK + 4096);
      const chunks: Buffer[] = [];
      const counted = new Map<string, number>();
      for (let i = 0; i < messages.length; i++) {
        const xid = this.allocXid();
        addXids.push(xid);
        const message = messages.at(i)!;
        const add: OfMessage = { type: 'bundleAdd', bundleId, flags, message };
        writeMessage(w, version, xid, add);
        for (const kind of [messageKind(add), messageKind(message)]) counted.set(kind, (counted.get(kind) ?? 0) + 1);
        if (w.length >= WRITE_CHUNK) {
          chunks.push(w.finish());
          w = new Writer(WRITE_CHUNK + 4096);
        }
      }
      const barrierXid = this.allocXid();
      writeMessage(w, version, barrierXid, { type: 'barrierRequest' });
      chunks.push(w.finish());
      addXids.forEach((xid, index) => this.bundleAdds.set(xid, { track, index }));

      // OPEN is not awaited: the ADD batch follows it at once and OVS handles them in order.
      const open = settle(this.control(socket, version, bundleId, 'openRequest', flags, timeoutMs));
      // Settled wrappers: if the connection drops while writing, these
      // promises reject later and must not surface as unhandled rejections.
      const barrier = settle(this.expect(barrierXid, 'barrierRequest', false, timeoutMs));
      for (const [kind, n] of counted) this.sent.set(kind, (this.sent.get(kind) ?? 0) + n);
      this.count({ type: 'barrierRequest' });
      await this.writeChunks(socket, chunks);

      const openResult = await open;
      const barrierResult = await barrier;
      if (openResult instanceof OpenFlowRequestError) {
        await settle(this.control(socket, version, bundleId, 'discardRequest', flags, timeoutMs));
        throw new OpenFlowBundleError(bundleId, 'open', track.failures, openResult.error);
      }
      if (openResult instanceof Error) throw openResult;
      if (barrierResult instanceof Error) throw barrierResult;
      if (track.failures.length > 0) {
        // Best effort: OVS may already have dropped the bundle (e.g. after BAD_FLAGS).
        await settle(this.control(socket, version, bundleId, 'discardRequest', flags, timeoutMs));
        throw new OpenFlowBundleError(bundleId, 'add', track.failures);
      }
      const commit = await settle(this.control(socket, version, bundleId, 'commitRequest', flags, timeoutMs));
      if (commit instanceof OpenFlowRequestError) {
        throw new OpenFlowBundleError(bundleId, 'commit', track.failures, commit.error);
      }
      if (commit instanceof Error) throw commit;
      return { bundleId, messages: messages.length };
    } finally {
      for (const xid of addXids) this.bundleAdds.delete(xid);
    }
  }

  // ---- internals ---------------------------------------------------------

  private control(socket: Socket, version: OfVersion, bundleId: number, controlType: BundleControlType, flags: number, timeoutMs: number): Promise<DecodedMessage[]> {
    const xid = this.allocXid();
    const message: OfMessage = { type: 'bundleControl', bundleId, controlType, flags };
    const promise = this.expect(xid, messageKind(message), false, timeoutMs);
    socket.write(encodeMessage(version, xid, message));
    this.count(message);
    return promise;
  }

  private async writeChunks(socket: Socket, chunks: Buffer[]): Promise<void> {
    for (const chunk of chunks) {
      if (socket.destroyed) throw new OpenFlowDisconnectedError(`connection to ${formatTarget(this.target)} lost while sending a bundle`);
      if (!socket.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
          };
          socket.on('drain', done);
          socket.on('close', done);
        });
      }
    }
  }

  private expect(xid: number, kind: string, multipart: boolean, timeoutMs: number): Promise<DecodedMessage[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new OpenFlowTimeoutError(`${kind} (xid ${xid}): no reply from ${formatTarget(this.target)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(xid, { kind, multipart, replies: [], replyBytes: 0, resolve, reject, timer });
    });
  }

  private requireSocket(duringHandshake = false): Socket {
    const ok = this.state === 'connected' || (duringHandshake && this.state === 'handshake');
    if (!ok || !this.socket) throw new OpenFlowDisconnectedError(`not connected to ${formatTarget(this.target)}`);
    return this.socket;
  }

  private allocXid(): number {
    const xid = this.nextXid;
    this.nextXid = this.nextXid >= 0xffffffff ? 1 : this.nextXid + 1;
    return xid;
  }

  private allocBundleId(): number {
    const id = this.nextBundleId;
    this.nextBundleId = this.nextBundleId >= 0xffffffff ? 1 : this.nextBundleId + 1;
    return id;
  }

  private count(m: OfMessage): void {
    const kind = messageKind(m);
    this.sent.set(kind, (this.sent.get(kind) ?? 0) + 1);
  }

  private attempt(): void {
    if (this.state === 'closed') return;
    this.stats.attempts++;
    this.state = 'handshake';
    this.negotiated = undefined;
    this.framer.reset();
    this.lastError = undefined;
    const socket = this.target.kind === 'unix' ? netConnect({ path: this.target.path }) : netConnect({ host: this.target.host, port: this.target.port });
    this.socket = socket;
    socket.on('connect', () => {
      const versions = [...new Set(this.opts.versions)].sort((a, b) => a - b);
      // HELLO carries our highest version in the header plus the full bitmap.
      socket.write(encodeMessage(versions[versions.length - 1]!, this.allocXid(), { type: 'hello', versions }));
      this.count({ type: 'hello', versions });
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err) => {
      this.lastError = err;
    });
    socket.on('close', () => this.onClose(socket));
    this.handshakeTimer = setTimeout(() => {
      this.lastError = new OpenFlowTimeoutError(`OpenFlow handshake with ${formatTarget(this.target)} took longer than ${this.opts.handshakeTimeoutMs} ms`);
      socket.destroy();
    }, this.opts.handshakeTimeoutMs);
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    this.lastRx = Date.now();
    this.echoOutstanding = false;
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      // The stream cannot be re-synchronised: report and start over.
      this.lastError = err as Error;
      this.emit('protocolError', err as OpenFlowDecodeError);
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (this.dropsFrame(frame)) continue;
      let decoded: DecodedMessage;
      try {
        decoded = decodeMessage(frame);
      } catch (err) {
        const error = err instanceof OpenFlowDecodeError ? err : new OpenFlowDecodeError('message', 0, String(err));
        this.emit('protocolError', error);
        const xid = frame.readUInt32BE(4);
        const p = this.pending.get(xid);
        if (p) this.settlePending(xid, p, error);
        continue;
      }
      this.dispatch(socket, decoded, frame.length);
      if (socket !== this.socket) return;
    }
  }

  /**
   * Whether `frame` is a further part of a multipart reply already given up
   * (too large): read from its header, not decoded. The last part (no
   * OFPMPF_REPLY_MORE) ends the dropping.
   */
  private dropsFrame(frame: Buffer): boolean {
    if (this.droppedReplies.size === 0 || frame.length < 12 || frame[1] !== OFPT.MULTIPART_REPLY) return false;
    const xid = frame.readUInt32BE(4);
    if (!this.droppedReplies.has(xid)) return false;
    if ((frame.readUInt16BE(10) & OFPMPF_MORE) === 0) this.droppedReplies.delete(xid);
    return true;
  }

  private dispatch(socket: Socket, d: DecodedMessage, length: number): void {
    const m = d.message;
    if (m.type === 'hello') {
      if (this.state === 'handshake' && !this.negotiated) this.negotiate(socket, d.version, m.versions);
      return;
    }
    if (m.type === 'echoRequest') {
      // Open vSwitch drops a controller that does not answer its probe (wire.md A1).
      if (this.negotiated) socket.write(encodeMessage(this.negotiated, d.xid, { type: 'echoReply', data: m.data }));
      return;
    }
    if (m.type === 'error' && m.errType === 0 && this.state === 'handshake') {
      const err = new OpenFlowNegotiationError(`${formatTarget(this.target)} refused the OpenFlow handshake: ${m.name} ${m.data.toString('latin1').replace(/[^\x20-\x7e]/g, '')}`);
      this.lastError = err;
      this.emit('protocolError', err);
      socket.destroy();
      return;
    }
    const pending = this.pending.get(d.xid);
    if (pending) {
      if (m.type === 'error') {
        this.settlePending(d.xid, pending, new OpenFlowRequestError(pending.kind, d.xid, m));
        return;
      }
      const more = pending.multipart && m.type === 'multipartReply' && (m.flags & OFPMPF_MORE) !== 0;
      pending.replyBytes += length;
      if (more && pending.replyBytes > this.opts.maxReplyBytes) {
        this.droppedReplies.add(d.xid);
        this.settlePending(d.xid, pending, new OpenFlowReplyTooLargeError(pending.kind, d.xid, this.opts.maxReplyBytes));
        return;
      }
      pending.replies.push(d);
      if (!more) this.settlePending(d.xid, pending);
      return;
    }
    if (m.type === 'error') {
      const add = this.bundleAdds.get(d.xid);
      if (add) {
        add.track.failures.push({ index: add.index, message: add.track.messages.at(add.index)!, error: m });
        return;
      }
    }
    if (m.type === 'echoReply') return;
    this.emit('message', d);
  }

  private settlePending(xid: number, p: Pending, error?: Error): void {
    this.pending.delete(xid);
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(p.replies);
  }

  private negotiate(socket: Socket, peerVersion: number, peerVersions: number[]): void {
    const common = this.opts.versions.filter((v) => peerVersions.includes(v)).sort((a, b) => b - a);
    const version = common[0];
    if (version === undefined) {
      const err = new OpenFlowNegotiationError(`${formatTarget(this.target)} speaks OpenFlow versions [${peerVersions.join(', ')}] (header 0x${peerVersion.toString(16)}); we offer [${this.opts.versions.join(', ')}]`);
      this.lastError = err;
      this.emit('protocolError', err);
      socket.destroy();
      return;
    }
    this.negotiated = version;
    this.request({ type: 'featuresRequest' }, this.opts.handshakeTimeoutMs).then(
      (replies) => {
        const f = replies[0]?.message;
        if (socket !== this.socket || f?.type !== 'featuresReply') return;
        clearTimeout(this.handshakeTimer);
        this.state = 'connected';
        this.stats.connections++;
        this.backoff = this.opts.backoffInitialMs;
        this.lastRx = Date.now();
        this.startProbe(socket);
        this.info = { version, datapathId: f.datapathId, nTables: f.nTables, target: formatTarget(this.target) };
        for (const w of this.waiters.splice(0)) w.resolve();
        this.emit('connected', this.info);
      },
      (err: Error) => {
        this.lastError = err;
        if (socket === this.socket) socket.destroy();
      },
    );
  }

  private startProbe(socket: Socket): void {
    const interval = this.opts.probeIntervalMs;
    this.probeTimer = setInterval(() => {
      const idle = Date.now() - this.lastRx;
      if (idle >= 2 * interval) {
        this.lastError = new OpenFlowTimeoutError(`${formatTarget(this.target)} silent for ${idle} ms (echo unanswered)`);
        socket.destroy();
      } else if (idle >= interval && !this.echoOutstanding && this.negotiated) {
        this.echoOutstanding = true;
        socket.write(encodeMessage(this.negotiated, this.allocXid(), { type: 'echoRequest', data: Buffer.alloc(0) }));
        this.count({ type: 'echoRequest', data: Buffer.alloc(0) });
      }
    }, Math.max(10, Math.floor(interval / 4)));
    this.probeTimer.unref();
  }

  /** Rejects everything outstanding and forgets the socket. */
  private teardown(error: Error): void {
    clearTimeout(this.handshakeTimer);
    clearInterval(this.probeTimer);
    this.socket = undefined;
    this.negotiated = undefined;
    this.info = undefined;
    for (const [xid, p] of this.pending) this.settlePending(xid, p, error);
    this.bundleAdds.clear();
    this.droppedReplies.clear();
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    const wasConnected = this.state === 'connected';
    const cause = this.lastError;
    this.teardown(new OpenFlowDisconnectedError(`connection to ${formatTarget(this.target)} lost${cause ? `: ${cause.message}` : ''}`));
    if (this.state === 'closed') return;
    this.state = 'idle';
    const reconnectInMs = this.opts.reconnect ? this.backoff : undefined;
    if (wasConnected) this.emit('disconnected', { target: formatTarget(this.target), ...(cause ? { error: cause } : {}), ...(reconnectInMs !== undefined ? { reconnectInMs } : {}) });
    if (reconnectInMs === undefined) {
      const err = cause ?? new OpenFlowDisconnectedError(`connection to ${formatTarget(this.target)} closed`);
      for (const w of this.waiters.splice(0)) w.reject(err);
      this.state = 'closed';
      return;
    }
    this.backoff = Math.min(this.backoff * 2, this.opts.backoffMaxMs);
    this.reconnectTimer = setTimeout(() => this.attempt(), reconnectInMs);
  }
}

async function settle<T>(p: Promise<T>): Promise<T | Error> {
  try {
    return await p;
  } catch (err) {
    return err as Error;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
