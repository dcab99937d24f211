import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InterfaceMonitor, OvsdbClient, OvsdbError } from '../../../src/lib/ovsdb/index.js';
import { JsonValueSplitter } from '../../../src/lib/ovsdb/json-stream.js';

/** A scripted OVSDB server: answers requests with a handler, can push arbitrary bytes. */
class ScriptedServer {
  readonly path: string;
  private server: Server;
  private dir = mkdtempSync(join(tmpdir(), 'ovsdb-peer-'));
  socket: Socket | undefined;
  received: { method: string; params: unknown[]; id: unknown; result?: unknown }[] = [];
  handler: (req: { method: string; params: unknown[]; id: unknown }) => unknown = () => ({});

  constructor() {
    this.path = join(this.dir, 'db.sock');
    this.server = createServer((socket) => {
      this.socket = socket;
      socket.setEncoding('utf8');
      const splitter = new JsonValueSplitter();
      socket.on('error', () => undefined);
      socket.on('data', (chunk: string) => {
        for (const text of splitter.push(chunk)) {
          const req = JSON.parse(text) as { method: string; params: unknown[]; id: unknown };
          this.received.push(req);
          if (req.method) socket.write(JSON.stringify({ id: req.id, result: this.handler(req), error: null }));
        }
      });
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise((r) => this.server.close(r));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('OVSDB client protocol handling', () => {
  let server: ScriptedServer;
  let db: OvsdbClient | undefined;
  afterEach(async () => {
    db?.close();
    await server.close();
  });

  it('answers the server\'s echo and survives malformed and misshapen input', async () => {
    server = new ScriptedServer();
    server.handler = (req) => (req.method === 'monitor' ? { Interface: { u1: { new: { name: 'p1', ofport: 3, external_ids: ['map', [['evpn-vni', '100']]] } } } } : ['Open_vSwitch']);
    await server.listen();
    db = await OvsdbClient.connect(`unix:${server.path}`);
    const errors: Error[] = [];
    db.on('protocolError', (e) => errors.push(e));
    const monitor = await InterfaceMonitor.start(db);
    expect(monitor.interfaces().get('p1')).toMatchObject({ ofport: 3, externalIds: { 'evpn-vni': '100' } });

    server.socket!.write('{"id":"echo","method":"echo","params":["x"]}');
    server.socket!.write('{"oops": tru}');
    server.socket!.write('[1,2]');
    // Updates with garbage shapes are ignored, a good one still applies.
    for (const params of [[null, null], [(monitor as unknown as { monitorId: string }).monitorId, { Interface: 5 }], [(monitor as unknown as { monitorId: string }).monitorId, { Interface: { u1: 'x', u2: { new: 7 } } }]]) {
      server.socket!.write(JSON.stringify({ id: null, method: 'update', params }));
    }
    server.socket!.write(JSON.stringify({ id: null, method: 'update', params: [(monitor as unknown as { monitorId: string }).monitorId, { Interface: { u1: { new: { ofport: ['set', []] } } } }] }));
    expect(await db.listDbs()).toEqual(['Open_vSwitch']);
    expect(server.received.find((r) => r.id === 'echo')).toMatchObject({ result: ['x'] });
    expect(errors.map((e) => e.constructor)).toEqual([OvsdbError, OvsdbError]);
    expect(monitor.interfaces().get('p1')?.ofport).toBeUndefined();
    expect(monitor.interfaces().get('p1')?.externalIds).toEqual({ 'evpn-vni': '100' });
  });

  it('rejects outstanding requests when the server goes away', async () => {
    server = new ScriptedServer();
    server.handler = () => {
      server.socket!.destroy();
      return null;
    };
    await server.listen();
    db = await OvsdbClient.connect(`unix:${server.path}`);
    await expect(db.listDbs()).rejects.toThrow(OvsdbError);
    expect(db.isOpen).toBe(false);
  });
});
