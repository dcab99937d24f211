import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import type { FdbEntry, Link, Nexthop } from '../../../src/lib/rtnetlink/index.js';
import { fdbFromIproute, fdbFromLibrary, nexthopsFromIproute, nexthopsFromLibrary, type BridgeFdb, type IpNexthop } from './compare.js';
import { LibraryChild } from './library-child.js';

const skip = missingPrerequisites(KERNEL_TOOLS);

const mac = (i: number) => `02:00:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

describe.skipIf(skip)('rtnetlink: subscription overflow', () => {
  let ns: Netns;
  let lib: LibraryChild;
  let dir: string;
  beforeEach(async () => {
    ns = await Netns.create();
    dir = mkdtempSync(join(tmpdir(), 'rtnl-overflow-'));
    await ns.addVxlan('vx100', 100, { local: '192.0.2.1' });
  });
  afterEach(async () => {
    await lib?.stop();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signals resync when the kernel drops notifications of a burst into a tiny receive buffer; the process survives and a re-dump matches the kernel exactly', async () => {
    lib = await LibraryChild.start(ns);
    const sub = await lib.call<{ receiveBufferSize: number; overflowDetection: string }>('subscribe', ['nexthop', 'neigh'], { receiveBufferSize: 1024 });
    expect(sub.receiveBufferSize).toBeLessThan(8192);
    // Loss is read from the kernel's drop counter: a pending ENOBUFS would make netlink@0.3.0 abort the process.
    expect(sub.overflowDetection).toBe('drops');

    const nexthops: string[] = [];
    for (let i = 1; i <= 1000; i++) nexthops.push(`nexthop add id ${i} via 198.51.${100 + (i >> 8)}.${i & 0xff} fdb`);
    for (let g = 0; g < 100; g++) nexthops.push(`nexthop add id ${10_000 + g} group ${g * 10 + 1},${g + 1}/${g * 10 + 2}/${g * 10 + 3},256 fdb`);
    const fdb: string[] = [];
    for (let i = 0; i < 3000; i++) fdb.push(`fdb add ${mac(i)} dev vx100 self static nhid ${10_000 + (i % 100)}`);
    writeFileSync(join(dir, 'nh.batch'), nexthops.join('\n') + '\n');
    writeFileSync(join(dir, 'fdb.batch'), fdb.join('\n') + '\n');
    await ns.ip('-batch', join(dir, 'nh.batch'));
    await ns.bridge('-batch', join(dir, 'fdb.batch'));
    // Some deletes and replaces too, so the re-dump is not just "everything added".
    await ns.ip('nexthop', 'del', 'id', '10099');
    await ns.ip('nexthop', 'replace', 'id', '10000', 'group', '1,9/2', 'fdb');

    await lib.waitFor((evs) => evs.some((e) => e.kind === 'resync'), 20_000);
    const resync = lib.events.find((e) => e.kind === 'resync')!;
    expect(resync).toMatchObject({ kind: 'resync', reason: 'overflow' });
    expect(resync.error).toMatch(/ENOBUFS/);

    // The caller's recovery: dump again and reconcile. The dump must equal iproute2's view.
    const [libNexthops, libFdb, links] = await Promise.all([lib.call<Nexthop[]>('listNexthops'), lib.call<FdbEntry[]>('listFdb'), lib.call<Link[]>('listLinks')]);
    const ipNexthops = await ns.ipJson<IpNexthop>('nexthop', 'show');
    const bridgeFdb = await ns.bridgeJson<BridgeFdb>('fdb', 'show');
    expect(libNexthops).toHaveLength(1099);
    // Group 10099's 30 entries were removed with it.
    expect(libFdb).toHaveLength(2970);
    expect(nexthopsFromLibrary(libNexthops)).toEqual(nexthopsFromIproute(ipNexthops));
    expect(fdbFromLibrary(libFdb, links)).toEqual(fdbFromIproute(bridgeFdb));

    // The subscription keeps working after the overflow.
    await ns.ip('nexthop', 'add', 'id', '77777', 'via', '198.51.100.77', 'fdb');
    await lib.waitFor((evs) => evs.some((e) => e.kind === 'nexthop' && e.nexthop.id === 77777));
  });

  it('replaces a queue that outgrows its bound with one resync while the consumer is busy; a re-dump then matches the kernel', async () => {
    lib = await LibraryChild.start(ns);
    // A receive buffer large enough that the kernel drops nothing: the bound hit is our own queue's.
    const sub = await lib.call<{ receiveBufferSize: number }>('subscribeUnread', ['nexthop'], { receiveBufferSize: 4 * 1024 * 1024, maxQueuedEvents: 500 });
    const batch: string[] = [];
    for (let i = 1; i <= 2000; i++) batch.push(`nexthop add id ${i} via 198.51.${100 + (i >> 8)}.${i & 0xff} fdb`);
    writeFileSync(join(dir, 'nh.batch'), batch.join('\n') + '\n');
    await ns.ip('-batch', join(dir, 'nh.batch'));
    // The child reads the socket while its consumer is "busy": give it a moment to take in all 2,000.
    await lib.call('portId');
    await new Promise((r) => setTimeout(r, 1000));
    await lib.call('readEvents');
    await ns.ip('nexthop', 'add', 'id', '77777', 'via', '198.51.100.77', 'fdb');
    await lib.waitFor((evs) => evs.some((e) => e.kind === 'nexthop' && e.nexthop.id === 77777));
    const events = lib.take();
    expect(events[0]).toMatchObject({ kind: 'resync', reason: 'overflow', error: 'more than 500 unread events' });
    expect(events.filter((e) => e.kind === 'resync')).toHaveLength(1);
    // What was queued before the bound was hit is gone, not delivered late.
    expect(events.length).toBeLessThan(2000);
    expect(sub.receiveBufferSize).toBeGreaterThan(1024 * 1024);
    const nexthops = await lib.call<Nexthop[]>('listNexthops');
    expect(nexthopsFromLibrary(nexthops)).toEqual(nexthopsFromIproute(await ns.ipJson<IpNexthop>('nexthop', 'show')));
    expect(nexthops).toHaveLength(2001);
  });
});
