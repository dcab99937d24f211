import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_MAX_QUEUED_EVENTS, decodeFdbEntry, forEachMessage, NetlinkWriter, NDA_CACHEINFO, NDA_LLADDR, NDA_NH_ID, NDA_VNI, RTM_NEWNEIGH, parseMac } from '../../../src/lib/rtnetlink/index.js';

/** Bytes of a Kubernetes quantity such as `384Mi`. */
function quantityBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) throw new Error(`cannot read quantity ${q}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** An RTM_NEWNEIGH as vxlan_fdb_notify sends it for an ECMP entry. */
function fdbNotification(i: number): Buffer {
  const w = new NetlinkWriter(128);
  w.header(RTM_NEWNEIGH, 0, 0, 0);
  w.u8(7).u8(0).u16(0).s32(5).u16(0x80).u8(2).u8(0);
  w.attrBytes(NDA_LLADDR, parseMac(`02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`));
  w.attrU32(NDA_NH_ID, 3959422977 + (i % 1000));
  w.attrU32(NDA_VNI, 100);
  w.attrBytes(NDA_CACHEINFO, Buffer.alloc(16, 1));
  return w.finish();
}

describe('rtnetlink notification queue', () => {
  it('holds at most an eighth of the agent pod memory limit at its default bound', { timeout: 30_000 }, () => {
    // Exact heap accounting needs a full GC before and after; V8 allows
    // exposing it at run time.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = 20_000;
    const events: unknown[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) {
      // What the subscription queues per notification.
      forEachMessage(fdbNotification(i), (msg) => {
        events.push({ kind: 'neigh', op: 'new', entry: decodeFdbEntry(msg), pid: msg.pid, seq: msg.seq });
      });
    }
    gc();
    const perEvent = (process.memoryUsage().heapUsed - before) / n;
    expect(events).toHaveLength(n);
    expect(perEvent).toBeGreaterThan(100);

    const values = parseYaml(readFileSync(new URL('../../../charts/evpn-ecmp-operator/values.yaml', import.meta.url), 'utf8')) as { agent: { resources: { limits: { memory: string } } } };
    const limit = quantityBytes(values.agent.resources.limits.memory);
    // A full queue must leave the agent room for its own state (~200 MiB at bench scale).
    expect(DEFAULT_MAX_QUEUED_EVENTS * perEvent).toBeLessThan(limit / 8);
  });
});
