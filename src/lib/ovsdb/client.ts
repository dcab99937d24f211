import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { JsonValueSplitter } from './json-stream.js';

/**
 * A small OVSDB client (RFC 7047): JSON-RPC over `unix:<rundir>/db.sock`
 * (or tcp:HOST:PORT), with `transact`, `monitor` and the server's `echo`
 * keepalive answered. Enough to manage a bridge's ports and watch
 * Interface rows; no schema-driven code generation.
 */

/** OVSDB atoms and the wire forms of sets, maps and uuids (RFC 7047 §5.1). */
export type OvsdbAtom = string | number | boolean | ['uuid', string] | ['named-uuid', string];
export type OvsdbValue = OvsdbAtom | ['set', OvsdbAtom[]] | ['map', [OvsdbAtom, OvsdbAtom][]];
export type OvsdbRow = Record<string, OvsdbValue>;
export type OvsdbCondition = [string, '==' | '!=' | 'includes' | 'excludes' | '<' | '<=' | '>' | '>=', OvsdbValue];

export type OvsdbOperation =
  | { op: 'insert'; table: string; row: OvsdbRow; 'uuid-name'?: string }
  | { op: 'select'; table: string; where: OvsdbCondition[]; columns?: string[] }
  | { op: 'update'; table: string; where: OvsdbCondition[]; row: OvsdbRow }
  | { op: 'mutate'; table: string; where: OvsdbCondition[]; mutations: [string, string, OvsdbValue][] }
  | { op: 'delete'; table: string; where: OvsdbCondition[] }
  | { op: 'wait'; table: string; where: OvsdbCondition[]; columns: string[]; until: '==' | '!='; rows: OvsdbRow[]; timeout?: number }
  | { op: 'comment'; comment: string };

export interface OvsdbOperationResult {
  uuid?: ['uuid', string];
  rows?: OvsdbRow[];
  count?: number;
  error?: string;
  details?: string;
}

export interface MonitorRequest {
  columns?: string[];
  select?: { initial?: boolean; insert?: boolean; delete?: boolean; modify?: boolean };
}

/** table → row uuid → {old?, new?} (RFC 7047 §4.1.6). */
export type TableUpdates = Record<string, Record<string, { old?: OvsdbRow; new?: OvsdbRow }>>;

/** The server refused a request, or one operation of a transaction failed. */
export class OvsdbError extends Error {
  override name = 'OvsdbError';
  constructor(
    message: string,
    readonly error?: string,
    readonly details?: string,
    /** Index of the failing operation in a transaction. */
    readonly operationIndex?: number,
  ) {
    super(message);
  }
}

export interface OvsdbClientEvents {
  /** A monitor's changes: [monitor id, updates]. */
  update: [unknown, TableUpdates];
  disconnected: [Error | undefined];
  /** A malformed message from the server; it is dropped. */
  protocolError: [Error];
}

interface Pending {
  method: string;
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private splitter = new JsonValueSplitter({
    // Skipped bytes between messages are reported; the messages after them still arrive.
    onGarbage: (err) => this.emit('protocolError', err),
  });
  private closed = false;
  private lastError: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly target: string,
    private readonly timeoutMs: number,
  ) {
    super();
    // Bytes, not strings: the splitter counts its cap in bytes and never
    // builds a string before a message is whole.
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.lastError = err;
    });
    socket.on('close', () => this.onClose());
  }

  /** Connects to `unix:PATH`, a bare path, or `tcp:HOST:PORT`. */
  static connect(target: string, opts: { timeoutMs?: number } = {}): Promise<OvsdbClient> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const tcp = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
    const path = target.startsWith('unix:') ? target.slice(5) : target.startsWith('/') ? target : undefined;
    if (!tcp && !path) return Promise.reject(new Error(`bad OVSDB target "${target}": expected unix:PATH or tcp:HOST:PORT`));
    return new Promise((resolve, reject) => {
      const socket = path ? netConnect({ path }) : netConnect({ host: (tcp![1] ?? tcp![2])!, port: Number(tcp![3]) });
      const fail = (err: Error) => reject(new OvsdbError(`cannot connect to OVSDB at ${target}: ${err.message}`));
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        resolve(new OvsdbClient(socket, target, timeoutMs));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
  }

  /** Sends a JSON-RPC request and resolves with its `result`. */
  request(method: string, params: unknown[], timeoutMs = this.timeoutMs): Promise<unknown> {
    if (this.closed) return Promise.reject(new OvsdbError(`OVSDB connection to ${this.target} is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new OvsdbError(`OVSDB ${method} got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.socket.write(JSON.stringify({ method, params, id }));
    });
  }

  async listDbs(): Promise<string[]> {
    return (await this.request('list_dbs', [])) as string[];
  }

  /**
   * Runs operations as one transaction. Resolves with one result per
   * operation; rejects with OvsdbError naming the failing operation if any
   * failed (the server then applied nothing).
   */
  async transact(db: string, ...ops: OvsdbOperation[]): Promise<OvsdbOperationResult[]> {
    const results = (await this.request('transact', [db, ...ops])) as (OvsdbOperationResult | null)[];
    if (!Array.isArray(results)) throw new OvsdbError('transact: malformed reply (not an array)');
    results.forEach((r, i) => {
      if (r && typeof r.error === 'string') {
        const what = i < ops.length ? `operation ${i} (${ops[i]!.op}${'table' in ops[i]! ? ` ${(ops[i] as { table: string }).table}` : ''})` : 'commit';
        throw new OvsdbError(`transaction failed at ${what}: ${r.error}${r.details ? `: ${r.details}` : ''}`, r.error, r.details, i);
      }
    });
    return results.map((r) => r ?? {});
  }

  /** Starts a monitor; resolves with the initial contents; later changes arrive as `update` events. */
  async monitor(db: string, monitorId: unknown, requests: Record<string, MonitorRequest>): Promise<TableUpdates> {
    return (await this.request('monitor', [db, monitorId, requests])) as TableUpdates;
  }

  async monitorCancel(monitorId: unknown): Promise<void> {
    await this.request('monitor_cancel', [monitorId]);
  }

  private onData(chunk: Buffer): void {
    let texts: string[];
    try {
      texts = this.splitter.push(chunk);
    } catch (err) {
      this.lastError = err as Error;
      this.emit('protocolError', err as Error);
      this.socket.destroy();
      return;
    }
    for (const text of texts) {
      let msg: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
      try {
        msg = JSON.parse(text) as typeof msg;
      } catch (err) {
        this.emit('protocolError', new OvsdbError(`malformed JSON-RPC message: ${(err as Error).message}`));
        continue;
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
        this.emit('protocolError', new OvsdbError(`JSON-RPC message is not an object: ${text.slice(0, 80)}`));
        continue;
      }
      this.dispatch(msg);
    }
  }

  private dispatch(msg: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown }): void {
    if (typeof msg.method === 'string') {
      if (msg.method === 'echo') {
        // The server probes idle clients with echo and drops those that do not answer (RFC 7047 §4.1.11).
        this.socket.write(JSON.stringify({ result: msg.params ?? [], error: null, id: msg.id ?? null }));
      } else if (msg.method === 'update' && Array.isArray(msg.params) && msg.params.length >= 2) {
        this.emit('update', msg.params[0], msg.params[1] as TableUpdates);
      }
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error !== null && msg.error !== undefined) {
      const e = msg.error as { error?: string; details?: string } | string;
      const name = typeof e === 'string' ? e : (e.error ?? JSON.stringify(e));
      const details = typeof e === 'string' ? undefined : e.details;
      p.reject(new OvsdbError(`OVSDB ${p.method} failed: ${name}${details ? `: ${details}` : ''}`, name, details));
    } else {
      p.resolve(msg.result);
    }
  }

  private onClose(): void {
    this.closed = true;
    const err = new OvsdbError(`OVSDB connection to ${this.target} lost${this.lastError ? `: ${this.lastError.message}` : ''}`);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
    this.emit('disconnected', this.lastError);
  }
}

// ---- value helpers ----------------------------------------------------------

export function ovsdbMap(entries: Record<string, string>): OvsdbValue {
  return ['map', Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))];
}

/** Reads a map column into a plain object. */
export function fromOvsdbMap(v: OvsdbValue | undefined): Record<string, string> {
  if (!Array.isArray(v) || v[0] !== 'map' || !Array.isArray(v[1])) return {};
  const out: Record<string, string> = {};
  for (const pair of v[1] as unknown[]) {
    if (Array.isArray(pair) && pair.length === 2) out[String(pair[0])] = String(pair[1]);
  }
  return out;
}

/** Reads an optional scalar column (a set of 0 or 1 element) or a plain atom. */
export function fromOvsdbOptional<T extends OvsdbAtom>(v: OvsdbValue | undefined): T | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v) && v[0] === 'set') return Array.isArray(v[1]) ? (v[1] as T[])[0] : undefined;
  return v as T;
}

/** Reads a set column (or a single atom) into an array. */
export function fromOvsdbSet(v: OvsdbValue | undefined): OvsdbAtom[] {
  if (v === undefined) return [];
  if (Array.isArray(v) && v[0] === 'set') return v[1];
  return [v as OvsdbAtom];
}
