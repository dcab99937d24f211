/**
 * Test-only child process that runs the rtnetlink library inside a network
 * namespace (a Node process cannot setns itself; the test starts this with
 * `ns.spawn(process.execPath, ['--import', 'tsx', thisFile])`).
 *
 * Protocol, one JSON object per line:
 *   in:  {"id": 1, "method": "listNexthops", "args": [], "options"?: {...}}
 *   out: {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": {...}}
 *   in:  {"id": 2, "method": "subscribe", "args": [["nexthop"], {"receiveBufferSize": 4096}]}
 *   out: {"event": {...}} for every notification afterwards
 *   `subscribeUnread` subscribes without reading (events queue up) until `readEvents`.
 * `options` on the first line's client: the child reads RTNL_CLIENT_OPTIONS (JSON) from its environment.
 * Bytes are sent as hex strings, bigints as decimal strings.
 */
import { createInterface } from 'node:readline';
import { RtnetlinkClient, type RtnetlinkSubscription } from '../../../src/lib/rtnetlink/index.js';

const client = new RtnetlinkClient(JSON.parse(process.env.RTNL_CLIENT_OPTIONS ?? '{}'));
const subscriptions: RtnetlinkSubscription[] = [];

function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') return Buffer.from((v as { data: number[] }).data).toString('hex');
    return v;
  });
}

function send(obj: unknown): void {
  process.stdout.write(toJson(obj) + '\n');
}

async function pump(sub: RtnetlinkSubscription): Promise<void> {
  for await (const event of sub) {
    if (event.kind === 'resync') send({ event: { kind: 'resync', reason: event.reason, error: event.error?.message } });
    else send({ event });
  }
}

async function handle(req: { id: number; method: string; args?: unknown[] }): Promise<unknown> {
  const args = req.args ?? [];
  if (req.method === 'subscribe' || req.method === 'subscribeUnread') {
    const sub = client.subscribe(...(args as Parameters<RtnetlinkClient['subscribe']>));
    subscriptions.push(sub);
    // subscribeUnread: a consumer that is busy elsewhere; `readEvents` starts reading.
    if (req.method === 'subscribe') void pump(sub);
    return { receiveBufferSize: sub.receiveBufferSize, overflowDetection: sub.overflowDetection };
  }
  if (req.method === 'readEvents') {
    for (const sub of subscriptions) void pump(sub);
    return null;
  }
  if (req.method === 'extendedAckUnavailable') return client.extendedAckUnavailable ?? null;
  if (req.method === 'portId') return client.portId;
  if (req.method === 'probeDump') {
    // One dump without the retry of list*(): reports whether the kernel flagged it interrupted.
    const batches = { nexthop: () => client.nexthopBatches(), fdb: () => client.fdbBatches(), link: () => client.linkBatches() }[args[0] as 'nexthop' | 'fdb' | 'link'];
    let count = 0;
    try {
      for await (const b of batches()) count += b.length;
      return { count, error: null };
    } catch (err) {
      return { count, error: (err as Error).name, reason: (err as { reason?: string }).reason };
    }
  }
  const fn = (client as unknown as Record<string, unknown>)[req.method];
  if (typeof fn !== 'function') throw new Error(`no method ${req.method}`);
  return (await (fn as (...a: unknown[]) => Promise<unknown>).apply(client, args)) ?? null;
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  const req = JSON.parse(line) as { id: number; method: string; args?: unknown[] };
  handle(req).then(
    (result) => send({ id: req.id, ok: true, result }),
    (err: Error & Record<string, unknown>) => send({ id: req.id, ok: false, error: { name: err.name, message: err.message, errno: err.errno, code: err.code, extack: err.extack } }),
  );
});
lines.on('close', () => {
  for (const s of subscriptions) s.close();
  client.close();
});
send({ ready: true });
