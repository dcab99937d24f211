/**
 * A small OVSDB client (RFC 7047 JSON-RPC over the unix socket) for the
 * three things the agent asks of the Open_vSwitch database: ensure the
 * flow-based VXLAN tunnel port, list the bridge's interfaces (ofport,
 * external_ids:evpn-vni), and hear when they change (monitor).
 *
 * Untrusted input: a reply that is not JSON, or lacks the columns asked
 * for, rejects the request with an OvsdbProtocolError naming the offset or
 * field; the session is then closed (the agent reconnects).
 */
import { connect, type Socket } from 'node:net';
import type { OvsInterface } from '../model.js';
import type { OvsdbSession } from './ovs.js';

export class OvsdbProtocolError extends Error {
  override name = 'OvsdbProtocolError';
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Splits a byte stream of concatenated JSON texts (RFC 7047 §3 framing). */
export class JsonStreamSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;
  private consumed = 0;

  push(chunk: string): Json[] {
    this.buf += chunk;
    const out: Json[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth < 0) throw new OvsdbProtocolError(`unbalanced JSON at stream offset ${this.consumed + i}`);
        if (this.depth === 0) {
          const text = this.buf.slice(start, i + 1);
          try {
            out.push(JSON.parse(text) as Json);
          } catch (err) {
            throw new OvsdbProtocolError(`invalid JSON at stream offset ${this.consumed + start}: ${(err as Error).message}`);
          }
          start = i + 1;
        }
      }
    }
    this.consumed += start;
    this.buf = this.buf.slice(start);
    this.scanned = this.buf.length;
    return out;
  }
}

interface Pending {
  resolve(v: Json): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class OvsdbUnixSession implements OvsdbSession {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private closeListeners: Array<(reason: string) => void> = [];
  private updateListener: (() => void) | undefined;
  private closed = false;
  private readonly splitter = new JsonStreamSplitter();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      try {
        for (const msg of this.splitter.push(chunk)) this.onMessage(msg);
      } catch (err) {
        this.fail((err as Error).message);
      }
    });
    socket.on('error', (err) => this.fail(err.message));
    socket.on('close', () => this.fail('connection closed'));
  }

  static open(path: string, timeoutMs = 10_000): Promise<OvsdbUnixSession> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`OVSDB ${path}: no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new OvsdbUnixSession(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`OVSDB ${path}: ${err.message}`));
      });
    });
  }

  onClose(cb: (reason: string) => void): void {
    this.closeListeners.push(cb);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('OVSDB session closed'));
    }
    this.pending.clear();
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.close();
    for (const cb of this.closeListeners) cb(reason);
  }

  private onMessage(msg: Json): void {
    if (!isObject(msg)) throw new OvsdbProtocolError('JSON-RPC message is not an object');
    if (msg['method'] === 'echo') {
      this.write({ id: msg['id'] ?? null, result: msg['params'] ?? [], error: null });
      return;
    }
    if (msg['method'] === 'update') {
      this.updateListener?.();
      return;
    }
    const id = msg['id'];
    if (typeof id !== 'number') return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (msg['error'] !== null && msg['error'] !== undefined) p.reject(new Error(`OVSDB error: ${JSON.stringify(msg['error'])}`));
    else p.resolve(msg['result'] ?? null);
  }

  private write(obj: Json): void {
    this.socket.write(JSON.stringify(obj));
  }

  private request(method: string, params: Json[], timeoutMs = 20_000): Promise<Json> {
    if (this.closed) return Promise.reject(new Error('OVSDB session closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`OVSDB ${method}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.write({ id, method, params });
    });
  }

  private async transact(ops: Json[]): Promise<Json[]> {
    const result = await this.request('transact', ['Open_vSwitch', ...ops]);
    if (!Array.isArray(result)) throw new OvsdbProtocolError('transact result is not an array');
    for (const [i, r] of result.entries()) {
      if (isObject(r) && typeof r['error'] === 'string') throw new Error(`OVSDB operation ${i} failed: ${r['error']}${typeof r['details'] === 'string' ? ` (${r['details']})` : ''}`);
    }
    return result;
  }

  async ensureTunnelPort(bridge: string, name: string, dstPort: number): Promise<void> {
    const options: Json = ['map', [['dst_port', String(dstPort)], ['key', 'flow'], ['remote_ip', 'flow']]];
    const [bridges, ifaces] = await this.transact([
      { op: 'select', table: 'Bridge', where: [['name', '==', bridge]], columns: ['_uuid'] },
      { op: 'select', table: 'Interface', where: [['name', '==', name]], columns: ['_uuid', 'type', 'options'] },
    ]);
    if (rows(bridges, 'Bridge').length === 0) throw new Error(`bridge ${bridge} does not exist in OVSDB`);
    const existing = rows(ifaces, 'Interface')[0];
    if (existing) {
      const have = mapOf(existing['options'], 'Interface.options');
      // No options:local_ip: the source comes from OVS's tunnel routing (a
      // fixed local_ip breaks native tunnelling on OVS 3.1's dummy datapath).
      if (existing['type'] === 'vxlan' && have.get('remote_ip') === 'flow' && have.get('key') === 'flow' && (have.get('dst_port') ?? '4789') === String(dstPort)) return;
      await this.transact([{ op: 'update', table: 'Interface', where: [['name', '==', name]], row: { type: 'vxlan', options } }]);
      return;
    }
    await this.transact([
      { op: 'insert', table: 'Interface', row: { name, type: 'vxlan', options }, 'uuid-name': 'tunnel_iface' },
      { op: 'insert', table: 'Port', row: { name, interfaces: ['named-uuid', 'tunnel_iface'] }, 'uuid-name': 'tunnel_port' },
      { op: 'mutate', table: 'Bridge', where: [['name', '==', bridge]], mutations: [['ports', 'insert', ['set', [['named-uuid', 'tunnel_port']]]]] },
    ]);
  }

  async interfaces(bridge: string): Promise<OvsInterface[]> {
    const [bridges, ports, ifaces] = await this.transact([
      { op: 'select', table: 'Bridge', where: [['name', '==', bridge]], columns: ['ports'] },
      { op: 'select', table: 'Port', where: [], columns: ['_uuid', 'interfaces'] },
      { op: 'select', table: 'Interface', where: [], columns: ['_uuid', 'name', 'ofport', 'external_ids', 'error'] },
    ]);
    const b = rows(bridges, 'Bridge')[0];
    if (!b) return [];
    const portIds = new Set(uuidsOf(b['ports'], 'Bridge.ports'));
    const ifaceIds = new Set<string>();
    for (const p of rows(ports, 'Port')) {
      if (portIds.has(uuidsOf(p['_uuid'], 'Port._uuid')[0]!)) for (const id of uuidsOf(p['interfaces'], 'Port.interfaces')) ifaceIds.add(id);
    }
    const out: OvsInterface[] = [];
    for (const i of rows(ifaces, 'Interface')) {
      if (!ifaceIds.has(uuidsOf(i['_uuid'], 'Interface._uuid')[0]!)) continue;
      const name = i['name'];
      if (typeof name !== 'string') throw new OvsdbProtocolError('Interface.name is not a string');
      const ofport = typeof i['ofport'] === 'number' ? i['ofport'] : -1;
      const vniText = mapOf(i['external_ids'], 'Interface.external_ids').get('evpn-vni');
      const vni = vniText !== undefined && /^\d+$/.test(vniText) ? Number(vniText) : undefined;
      const error = typeof i['error'] === 'string' ? i['error'] : undefined;
      out.push({ name, ofport, ...(vni !== undefined && vni >= 1 && vni <= 16777215 ? { vni } : {}), ...(error ? { error } : {}) });
    }
    return out.sort((a, b2) => (a.name < b2.name ? -1 : 1));
  }

  async monitorInterfaces(bridge: string, cb: (interfaces: OvsInterface[]) => void): Promise<void> {
    let running = false;
    let again = false;
    // Any update: re-read the (small) set of tables and report the whole list.
    this.updateListener = () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      void (async () => {
        do {
          again = false;
          try {
            cb(await this.interfaces(bridge));
          } catch {
            // the session is failing; onClose tells the agent
          }
        } while (again && !this.closed);
        running = false;
      })();
    };
    await this.request('monitor', [
      'Open_vSwitch',
      'evpn-ecmp-interfaces',
      { Bridge: { columns: ['name', 'ports'] }, Port: { columns: ['name', 'interfaces'] }, Interface: { columns: ['name', 'ofport', 'external_ids', 'error'] } },
    ]);
  }
}

export const connectOvsdb = (path: string): Promise<OvsdbSession> => OvsdbUnixSession.open(path);

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rows(result: Json | undefined, table: string): Array<{ [k: string]: Json }> {
  if (!isObject(result) || !Array.isArray(result['rows'])) throw new OvsdbProtocolError(`select on ${table}: no rows in the reply`);
  return result['rows'].filter(isObject);
}

function uuidsOf(v: Json | undefined, field: string): string[] {
  if (Array.isArray(v) && v[0] === 'uuid' && typeof v[1] === 'string') return [v[1]];
  if (Array.isArray(v) && v[0] === 'set' && Array.isArray(v[1])) return v[1].flatMap((x) => uuidsOf(x, field));
  throw new OvsdbProtocolError(`${field}: expected a uuid or a set of uuids`);
}

function mapOf(v: Json | undefined, field: string): Map<string, string> {
  if (Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1])) {
    const m = new Map<string, string>();
    for (const pair of v[1]) if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') m.set(pair[0], pair[1]);
    return m;
  }
  throw new OvsdbProtocolError(`${field}: expected a map`);
}
