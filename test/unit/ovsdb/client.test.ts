import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InterfaceMonitor, OvsdbClient, OvsdbError, type InterfaceInfo } from '../../../src/lib/ovsdb/index.js';
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

  it('narrows the Interface monitor to one bridge: membership changes are reported, Interface:error is kept', async () => {
    server = new ScriptedServer();
    const uuid = (u: string) => ['uuid', u];
    server.handler = (req) =>
      req.method === 'monitor'
        ? {
            Bridge: { b1: { new: { name: 'br-evpn', ports: ['set', [uuid('p1'), uuid('p2')]] } }, b2: { new: { name: 'br-underlay', ports: uuid('p3') } } },
            Port: { p1: { new: { interfaces: uuid('i1') } }, p2: { new: { interfaces: ['set', [uuid('i2')]] } }, p3: { new: { interfaces: uuid('i3') } } },
            Interface: {
              i1: { new: { name: 'evpn-vxlan', ofport: ['set', []], external_ids: ['map', []], error: 'could not open network device evpn-vxlan (File exists)' } },
              i2: { new: { name: 'p1', ofport: 3, external_ids: ['map', [['evpn-vni', '100']]], error: ['set', []] } },
              i3: { new: { name: 'nic0', ofport: 1, external_ids: ['map', []], error: ['set', []] } },
            },
          }
        : {};
    await server.listen();
    db = await OvsdbClient.connect(`unix:${server.path}`);
    const monitor = await InterfaceMonitor.start(db, { bridge: 'br-evpn' });
    const request = server.received.find((r) => r.method === 'monitor')!;
    expect(Object.keys(request.params[2] as object).sort()).toEqual(['Bridge', 'Interface', 'Port']);
    expect([...monitor.interfaces().keys()].sort()).toEqual(['evpn-vxlan', 'p1']);
    expect(monitor.interfaces().get('evpn-vxlan')).toMatchObject({ error: 'could not open network device evpn-vxlan (File exists)' });
    expect(monitor.interfaces().get('evpn-vxlan')?.ofport).toBeUndefined();

    const id = (monitor as unknown as { monitorId: string }).monitorId;
    const reports: unknown[] = [];
    monitor.on('change', (c) => reports.push(c));
    const push = async (updates: unknown) => {
      const seen = new Promise<{ upserted: InterfaceInfo[]; removed: InterfaceInfo[] }>((resolve) => monitor.once('change', resolve));
      server.socket!.write(JSON.stringify({ id: null, method: 'update', params: [id, updates] }));
      return seen;
    };
    // The port comes up: ofport assigned, error cleared.
    const up = await push({ Interface: { i1: { old: { ofport: ['set', []] }, new: { name: 'evpn-vxlan', ofport: 5, external_ids: ['map', []], error: ['set', []] } } } });
    expect(up.upserted.map((r) => [r.name, r.ofport, r.error])).toEqual([['evpn-vxlan', 5, undefined]]);
    // A port of another bridge changes: nothing to report. Misshapen references are ignored.
    server.socket!.write(JSON.stringify({ id: null, method: 'update', params: [id, { Interface: { i3: { new: { name: 'nic0', ofport: 2, external_ids: ['map', []] } } }, Port: { p3: { new: { interfaces: 'x' } } } }] }));
    // nic0 moves into the bridge (port row fixed in the same update): reported although its row did not change.
    const joined = await push({ Port: { p3: { new: { interfaces: uuid('i3') } } }, Bridge: { b1: { new: { name: 'br-evpn', ports: ['set', [uuid('p1'), uuid('p2'), uuid('p3')]] } } } });
    expect(joined.upserted.map((r) => [r.name, r.ofport])).toEqual([['nic0', 2]]);
    // p1 is deleted with its port: removed, with its last state.
    const left = await push({ Bridge: { b1: { new: { name: 'br-evpn', ports: ['set', [uuid('p1'), uuid('p3')]] } } }, Port: { p2: { old: {} } }, Interface: { i2: { old: {} } } });
    expect(left).toEqual({ upserted: [], removed: [expect.objectContaining({ name: 'p1', externalIds: { 'evpn-vni': '100' } })] });
    expect([...monitor.interfaces().keys()].sort()).toEqual(['evpn-vxlan', 'nic0']);
    expect(reports).toHaveLength(3);
    await monitor.stop();
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
