/**
 * Is OVS equal to the kernel? Every ECMP FDB entry of the VXLAN device must
 * have exactly one flow in OVS sending its MAC to a select group that splits
 * traffic as the kernel group does, and OVS must hold no such flow for a MAC
 * the kernel does not have. Read with the tools an operator trusts: our
 * rtnetlink dump is cross-checked by B1, OVS is read with `ovs-ofctl
 * dump-groups/dump-flows`.
 *
 * "Splits traffic as the kernel group does" is about shares, not bucket
 * lists (hash slots: see test/harness/slots.ts, shared with the tests).
 */
import { execFileSync } from 'node:child_process';
import { RtnetlinkClient } from '../../src/lib/rtnetlink/index.js';
import { bucketsOfLine, pct, shareMismatch as shareMismatchOf, vtepShares, type BucketLike } from '../../test/harness/slots.js';

/** A path of a kernel group (member gateway, weight) or a bucket of an OVS group (tun_dst, weight). */
export interface Path {
  ip: string;
  weight: number;
}

function ofctl(mgmt: string, ...args: string[]): string {
  return execFileSync('ovs-ofctl', ['-O', 'OpenFlow15', ...args.slice(0, 1), `unix:${mgmt}`, ...args.slice(1)], { encoding: 'utf8', maxBuffer: 1 << 30 });
}

/** The buckets of one `dump-groups` line as paths (see test/harness/slots.ts). */
export function bucketPaths(line: string): Path[] {
  return bucketsOfLine(line).map((b) => ({ ip: b.tunDst, weight: b.weight }));
}

/**
 * Why these buckets do not split traffic as the kernel group's paths do, or
 * undefined when they do (test/harness/slots.ts says how close is equal).
 */
export function shareMismatch(kernel: readonly Path[], buckets: readonly Path[]): string | undefined {
  return shareMismatchOf(asBuckets(buckets), kernel.map((p) => ({ vtep: p.ip, weight: p.weight })));
}

function asBuckets(paths: readonly Path[]): BucketLike[] {
  return paths.map((p) => ({ tunDst: p.ip, weight: p.weight }));
}

function describePaths(paths: readonly Path[]): string {
  return [...vtepShares(asBuckets(paths))].map(([ip, s]) => `${ip} ${pct(s)}`).sort().join(', ');
}

/** The OVS group the flow of `mac` names (one `dump-flows` filtered on the MAC), or undefined. */
export function ovsGroupOfMac(mgmtSocket: string, mac: string): number | undefined {
  const line = ofctl(mgmtSocket, 'dump-flows', `dl_dst=${mac}`).split('\n').find((l) => /group:\d+/.test(l));
  const group = line === undefined ? undefined : /group:(\d+)/.exec(line)?.[1];
  return group === undefined ? undefined : Number(group);
}

/** The buckets of one OVS group as `dump-groups` shows it now, or undefined when OVS has no such group. */
export function ovsGroupPaths(mgmtSocket: string, groupId: number): Path[] | undefined {
  const line = ofctl(mgmtSocket, 'dump-groups', String(groupId)).split('\n').find((l) => l.includes(`group_id=${groupId},`));
  return line === undefined ? undefined : bucketPaths(line);
}

export interface Comparison {
  kernelEntries: number;
  ovsFlows: number;
  /** Kernel entries whose flow is missing or splits differently from the kernel group, plus OVS flows for MACs the kernel lacks. */
  mismatches: number;
  examples: string[];
}

export async function compareOvsWithKernel(device: string, mgmtSocket: string): Promise<Comparison> {
  const client = new RtnetlinkClient();
  /** MAC → the kernel group it names. */
  const expected = new Map<string, number>();
  /** Kernel group id → its paths. */
  const kernelGroups = new Map<number, Path[]>();
  try {
    const link = await client.getLinkByName(device);
    if (!link) throw new Error(`${device} not found`);
    const nexthops = new Map((await client.listNexthops()).map((n) => [n.id, n]));
    for (const e of await client.listFdb(link.ifindex)) {
      if (e.nhid === undefined) continue;
      expected.set(e.mac, e.nhid);
      if (!kernelGroups.has(e.nhid)) {
        const members = nexthops.get(e.nhid)?.group ?? [];
        kernelGroups.set(e.nhid, members.map((m) => ({ ip: nexthops.get(m.id)?.gateway ?? '?', weight: m.weight })));
      }
    }
  } finally {
    client.close();
  }
  const ovsGroups = new Map<number, Path[]>();
  for (const line of ofctl(mgmtSocket, 'dump-groups').split('\n')) {
    const id = /group_id=(\d+)/.exec(line)?.[1];
    if (id) ovsGroups.set(Number(id), bucketPaths(line));
  }
  const actual = new Map<string, number>();
  for (const line of ofctl(mgmtSocket, 'dump-flows').split('\n')) {
    const mac = /dl_dst=([0-9a-f:]{17})/.exec(line)?.[1];
    const group = /group:(\d+)/.exec(line)?.[1];
    if (mac && group) actual.set(mac, Number(group));
  }
  // Many MACs share a (kernel group, OVS group) pair: judge each pair once.
  const verdicts = new Map<string, string | undefined>();
  const examples: string[] = [];
  let mismatches = 0;
  const mismatch = (example: string) => {
    mismatches += 1;
    if (examples.length < 5) examples.push(example);
  };
  for (const [mac, nhid] of expected) {
    const kernel = kernelGroups.get(nhid)!;
    const group = actual.get(mac);
    if (group === undefined) {
      mismatch(`${mac}: kernel ${describePaths(kernel)}, no flow in OVS`);
      continue;
    }
    const buckets = ovsGroups.get(group);
    if (!buckets) {
      mismatch(`${mac}: its flow names group ${group}, which OVS does not hold`);
      continue;
    }
    const pair = `${nhid}/${group}`;
    if (!verdicts.has(pair)) verdicts.set(pair, shareMismatch(kernel, buckets));
    const why = verdicts.get(pair);
    if (why !== undefined) mismatch(`${mac}: kernel ${describePaths(kernel)}, OVS group ${group}: ${why}`);
  }
  for (const mac of actual.keys()) {
    if (!expected.has(mac)) mismatch(`${mac}: in OVS only`);
  }
  return { kernelEntries: expected.size, ovsFlows: actual.size, mismatches, examples };
}
