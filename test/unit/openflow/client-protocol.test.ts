import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFlowClient } from '../../../src/lib/openflow/client.js';
import { decodeMessage, encodeMessage, type DecodedMessage, type OfMessage } from '../../../src/lib/openflow/message.js';
import { MessageFramer } from '../../../src/lib/openflow/framer.js';
import { OFP13, OFP15 } from '../../../src/lib/openflow/constants.js';
import { OpenFlowDecodeError, OpenFlowDisconnectedError, OpenFlowNegotiationError, OpenFlowReplyTooLargeError } from '../../../src/lib/openflow/errors.js';

/**
 * A scripted OpenFlow peer on a unix socket, to exercise the client's
 * protocol handling (echo, multipart, malformed input, negotiation) where a
 * real switch cannot be made to misbehave on demand.
 */
class ScriptedSwitch {
  readonly path: string;
  private server: Server;
  private dir: string;
  socket: Socket | undefined;
  received: DecodedMessage[] = [];
  onMessage: (d: DecodedMessage, s: ScriptedSwitch) => void = (d, s) => s.defaultReply(d);
  helloVersions = [OFP13, OFP15];

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'of-peer-'));
    this.path = join(this.dir, 'br.mgmt');
    this.server = createServer((socket) => {
      this.socket = socket;
      const framer = new MessageFramer();
      socket.on('error', () => undefined);
      socket.write(encodeMessage(OFP15, 1, { type: 'hello', versions: this.helloVersions }));
      socket.on('data', (chunk) => {
        for (const frame of framer.push(chunk)) {
          const d = decodeMessage(frame);
          this.received.push(d);
          this.onMessage(d, this);
        }
      });
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }

  send(version: 4 | 6, xid: number, m: OfMessage): void {
    this.socket?.write(encodeMessage(version, xid, m));
  }

  defaultReply(d: DecodedMessage): void {
    const v = d.version as 4 | 6;
    if (d.message.type === 'featuresRequest') this.send(v, d.xid, { type: 'featuresReply', datapathId: 0xabn, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 });
    else if (d.message.type === 'barrierRequest') this.send(v, d.xid, { type: 'barrierReply' });
    else if (d.message.type === 'echoRequest') this.send(v, d.xid, { type: 'echoReply', data: d.message.data });
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise((r) => this.server.close(r));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('OpenFlow client protocol handling', () => {
  let peer: ScriptedSwitch;
  let client: OpenFlowClient | undefined;
  afterEach(async () => {
    client?.close();
    client = undefined;
    await peer.close();
  });

  it('answers the switch\'s ECHO_REQUEST with the same xid and payload', async () => {
    peer = new ScriptedSwitch();
    await peer.listen();
    client = await OpenFlowClient.connect(`unix:${peer.path}`);
    expect(client.connection?.datapathId).toBe(0xabn);
    peer.send(OFP15, 0x1234, { type: 'echoRequest', data: Buffer.from('probe') });
    await client.barrier();
    const reply = peer.received.find((d) => d.message.type === 'echoReply');
    expect(reply?.xid).toBe(0x1234);
    expect(reply?.message).toEqual({ type: 'echoReply', data: Buffer.from('probe') });
  });

  it('gathers a multipart reply until the last part', async () => {
    peer = new ScriptedSwitch();
    peer.onMessage = (d, s) => {
      if (d.message.type !== 'multipartRequest') return s.defaultReply(d);
      const stats = (id: number) => ({ groupId: id, refCount: 0, packetCount: 0n, byteCount: 0n, durationSec: 0, durationNsec: 0, buckets: [] });
      s.send(OFP15, d.xid, { type: 'multipartReply', flags: 1, reply: { kind: 'groupStats', stats: [stats(1), stats(2)] } });
      s.send(OFP15, 999, { type: 'barrierReply' }); // unrelated xid in between
      s.send(OFP15, d.xid, { type: 'multipartReply', flags: 0, reply: { kind: 'groupStats', stats: [stats(3)] } });
    };
    await peer.listen();
    client = await OpenFlowClient.connect(`unix:${peer.path}`);
    const unsolicited: DecodedMessage[] = [];
    client.on('message', (m) => unsolicited.push(m));
    expect((await client.dumpGroupStats()).map((s) => s.groupId)).toEqual([1, 2, 3]);
    expect(unsolicited.map((m) => m.xid)).toEqual([999]);
  });

  it('fails a multipart reply that outgrows maxReplyBytes, drops its remaining parts unread, and keeps the connection', { timeout: 30_000 }, async () => {
    peer = new ScriptedSwitch();
    let flood: NodeJS.Timeout | undefined;
    let partsSent = 0;
    peer.onMessage = (d, s) => {
      if (d.message.type !== 'multipartRequest') return s.defaultReply(d);
      // A switch that never sends the last part: ~60 KiB parts, all with OFPMPF_REPLY_MORE,
      // then (once the client has given up) a last one.
      const stats = Array.from({ length: 700 }, (_, i) => ({ groupId: i, refCount: 0, packetCount: 0n, byteCount: 0n, durationSec: 0, durationNsec: 0, buckets: [{ packetCount: 0n, byteCount: 0n }] }));
      const part = encodeMessage(OFP15, d.xid, { type: 'multipartReply', flags: 1, reply: { kind: 'groupStats', stats } });
      const last = encodeMessage(OFP15, d.xid, { type: 'multipartReply', flags: 0, reply: { kind: 'groupStats', stats: [] } });
      flood = setInterval(() => {
        for (let i = 0; i < 8; i++, partsSent++) s.socket?.write(partsSent < 200 ? part : last);
        if (partsSent >= 200) clearInterval(flood);
      }, 1);
    };
    await peer.listen();
    client = await OpenFlowClient.connect(`unix:${peer.path}`, { maxReplyBytes: 1024 * 1024, requestTimeoutMs: 20_000 });
    const unsolicited: DecodedMessage[] = [];
    client.on('message', (m) => unsolicited.push(m));
    const err = await client.dumpGroupStats().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowReplyTooLargeError);
    expect((err as Error).message).toMatch(/exceeds 1048576 bytes/);
    // The rest of the flood, last part included, is dropped without being reported as unsolicited.
    await new Promise<void>((resolve) => {
      const wait = setInterval(() => {
        if (partsSent >= 200) {
          clearInterval(wait);
          resolve();
        }
      }, 5);
    });
    await client.barrier();
    expect(unsolicited).toEqual([]);
    expect(client.connected).toBe(true);
    // A later dump of the same kind works.
    peer.onMessage = (d, s) => {
      if (d.message.type !== 'multipartRequest') return s.defaultReply(d);
      s.send(OFP15, d.xid, { type: 'multipartReply', flags: 0, reply: { kind: 'groupStats', stats: [] } });
    };
    expect(await client.dumpGroupStats()).toEqual([]);
    clearInterval(flood);
  });

  it('drops a malformed message with a typed report, rejects its request, and keeps going', async () => {
    peer = new ScriptedSwitch();
    peer.onMessage = (d, s) => {
      if (d.message.type !== 'multipartRequest') return s.defaultReply(d);
      // A GROUP_DESC reply whose entry claims more bytes than it has.
      const bad = Buffer.from('0613001800000000000700000000000000ff0100000000010000000000000000', 'hex');
      bad.writeUInt32BE(d.xid, 4);
      bad.writeUInt16BE(bad.length, 2);
      s.socket?.write(bad);
    };
    await peer.listen();
    client = await OpenFlowClient.connect(`unix:${peer.path}`);
    const reports: Error[] = [];
    client.on('protocolError', (e) => reports.push(e));
    const err = await client.dumpGroupDescs().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowDecodeError);
    expect((err as OpenFlowDecodeError).message).toMatch(/groupDesc\[0\]/);
    expect(reports).toHaveLength(1);
    expect(client.connected).toBe(true);
    await client.barrier();
  });

  it('resets the connection when the stream is out of sync, then reconnects', async () => {
    peer = new ScriptedSwitch();
    await peer.listen();
    client = new OpenFlowClient(`unix:${peer.path}`, { backoffInitialMs: 20 });
    const reports: Error[] = [];
    client.on('protocolError', (e) => reports.push(e));
    client.start();
    await client.waitConnected();
    const down = new Promise((r) => client!.once('disconnected', r));
    peer.socket?.write(Buffer.from('0600000200000001', 'hex'));
    await down;
    expect(reports[0]).toBeInstanceOf(OpenFlowDecodeError);
    await new Promise((r) => client!.once('connected', r));
    expect(client.stats.connections).toBe(2);
  });

  it('drops a silent switch after two probe intervals', async () => {
    peer = new ScriptedSwitch();
    peer.onMessage = (d, s) => {
      if (d.message.type !== 'echoRequest') s.defaultReply(d);
    };
    await peer.listen();
    client = await OpenFlowClient.connect(`unix:${peer.path}`, { probeIntervalMs: 100, reconnect: false });
    const t0 = Date.now();
    const info = await new Promise<{ error?: Error }>((r) => client!.once('disconnected', r));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(info.error?.message).toMatch(/silent/);
    expect(peer.received.some((d) => d.message.type === 'echoRequest')).toBe(true);
  });

  it('rejects a bundle cleanly when the switch goes away in the middle of it', async () => {
    peer = new ScriptedSwitch();
    peer.onMessage = (d, s) => {
      if (d.message.type === 'bundleAdd') s.socket?.destroy();
      else s.defaultReply(d);
    };
    await peer.listen();
    client = await OpenFlowClient.connect(`unix:${peer.path}`, { reconnect: false });
    const messages = Array.from({ length: 5000 }, (_, i) => ({
      type: 'flowMod' as const,
      flowMod: { command: 'add' as const, tableId: 0, priority: 1, cookie: BigInt(i), match: { inPort: 1 }, instructions: [] },
    }));
    const err = await client.applyBundle(messages).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowDisconnectedError);
    expect(client.connected).toBe(false);
  });

  it('fails negotiation cleanly when there is no common version', async () => {
    peer = new ScriptedSwitch();
    peer.helloVersions = [1];
    await peer.listen();
    const err = await OpenFlowClient.connect(`unix:${peer.path}`).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowNegotiationError);
  });
});
