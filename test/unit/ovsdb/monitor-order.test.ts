import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InterfaceMonitor, OvsdbClient } from '../../../src/lib/ovsdb/index.js';
import { JsonValueSplitter } from '../../../src/lib/ovsdb/json-stream.js';

/**
 * The monitor reply and the first update often reach the client in one read
 * (ovs-vswitchd assigns a new port's ofport right after the monitor starts).
 * The update must not be undone by the (older) initial contents.
 */
describe('InterfaceMonitor: an update in the same read as the monitor reply', () => {
  let server: Server | undefined;
  let db: OvsdbClient | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ovsdb-order-'));
  afterEach(async () => {
    db?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies the update after the initial contents', async () => {
    const path = join(dir, 'db.sock');
    const sockets: Socket[] = [];
    server = createServer((socket) => {
      sockets.push(socket);
      socket.setEncoding('utf8');
      const splitter = new JsonValueSplitter();
      socket.on('error', () => undefined);
      socket.on('data', (chunk: string) => {
        for (const text of splitter.push(chunk)) {
          const req = JSON.parse(text) as { method: string; params: unknown[]; id: unknown };
          if (req.method !== 'monitor') {
            socket.write(JSON.stringify({ id: req.id, result: ['Open_vSwitch'], error: null }));
            continue;
          }
          const monitorId = req.params[1];
          const reply = {
            id: req.id,
            error: null,
            result: {
              Bridge: { b1: { new: { name: 'br-evpn', ports: ['uuid', 'p1'] } } },
              Port: { p1: { new: { interfaces: ['uuid', 'i1'] } } },
              Interface: { i1: { new: { name: 'evpn-vxlan', ofport: ['set', []], external_ids: ['map', []], error: ['set', []] } } },
            },
          };
          const update = { id: null, method: 'update', params: [monitorId, { Interface: { i1: { old: { ofport: ['set', []] }, new: { name: 'evpn-vxlan', ofport: 5 } } } }] };
          socket.write(JSON.stringify(reply) + JSON.stringify(update));
        }
      });
    });
    await new Promise<void>((r) => server!.listen(path, r));
    db = await OvsdbClient.connect(`unix:${path}`);
    const monitor = await InterfaceMonitor.start(db, { bridge: 'br-evpn' });
    expect(monitor.interfaces().get('evpn-vxlan')?.ofport).toBe(5);
    for (const s of sockets) s.destroy();
  });
});
