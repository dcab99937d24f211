/**
 * Is OVS equal to the kernel? Every ECMP FDB entry of the VXLAN device must
 * have exactly one flow in OVS sending its MAC to a select group whose
 * buckets are the kernel group's members (VTEP IP and weight), and OVS must
 * hold no such flow for a MAC the kernel does not have. Read with the tools
 * an operator trusts: our rtnetlink dump is cross-checked by B1, OVS is read
 * with `ovs-ofctl dump-groups/dump-flows`.
 */
import { execFileSync } from 'node:child_process';
import { RtnetlinkClient } from '../../src/lib/rtnetlink/index.js';

function ofctl(mgmt: string, ...args: string[]): string {
  return execFileSync('ovs-ofctl', ['-O', 'OpenFlow15', ...args.slice(0, 1), `unix:${mgmt}`, ...args.slice(1)], { encoding: 'utf8', maxBuffer: 1 << 30 });
}

/**
 * The buckets of one `dump-groups` line as paths. ovs-ofctl prints a
 * bucket's weight only when it is not 1 (`bucket=bucket_id:1,actions=...`).
 */
export function bucketPaths(line: string): Array<{ ip: string; weight: number }> {
  return [...line.matchAll(/bucket=bucket_id:\d+(?:,weight:(\d+))?,actions=set_field:([0-9a-f.:]+)->tun_dst/g)].map((m) => ({ ip: m[2]!, weight: Number(m[1] ?? 1) }));
}

export function pathKey(paths: Array<{ ip: string; weight: number }>): string {
  return paths.map((p) => `${p.ip}*${p.weight}`).sort().join(',');
}

export interface Comparison {
  kernelEntries: number;
  ovsFlows: number;
  /** Kernel entries whose flow is missing or points at the wrong paths, plus OVS flows for MACs the kernel lacks. */
  mismatches: number;
  examples: string[];
}

export async function compareOvsWithKernel(device: string, mgmtSocket: string): Promise<Comparison> {
  const client = new RtnetlinkClient();
  let expected: Map<string, string>;
  try {
    const link = await client.getLinkByName(device);
    if (!link) throw new Error(`${device} not found`);
    const nexthops = new Map((await client.listNexthops()).map((n) => [n.id, n]));
    expected = new Map();
    for (const e of await client.listFdb(link.ifindex)) {
      if (e.nhid === undefined) continue;
      const members = nexthops.get(e.nhid)?.group ?? [];
      expected.set(e.mac, pathKey(members.map((m) => ({ ip: nexthops.get(m.id)?.gateway ?? '?', weight: m.weight }))));
    }
  } finally {
    client.close();
  }
  const groups = new Map<number, string>();
  for (const line of ofctl(mgmtSocket, 'dump-groups').split('\n')) {
    const id = /group_id=(\d+)/.exec(line)?.[1];
    if (!id) continue;
    const paths = bucketPaths(line);
    groups.set(Number(id), pathKey(paths));
  }
  const actual = new Map<string, string>();
  for (const line of ofctl(mgmtSocket, 'dump-flows').split('\n')) {
    const mac = /dl_dst=([0-9a-f:]{17})/.exec(line)?.[1];
    const group = /group:(\d+)/.exec(line)?.[1];
    if (!mac || !group) continue;
    actual.set(mac, groups.get(Number(group)) ?? `missing group ${group}`);
  }
  const examples: string[] = [];
  let mismatches = 0;
  for (const [mac, paths] of expected) {
    const got = actual.get(mac);
    if (got === paths) continue;
    mismatches += 1;
    if (examples.length < 5) examples.push(`${mac}: kernel ${paths}, ovs ${got ?? 'no flow'}`);
  }
  for (const mac of actual.keys()) {
    if (expected.has(mac)) continue;
    mismatches += 1;
    if (examples.length < 5) examples.push(`${mac}: in OVS only`);
  }
  return { kernelEntries: expected.size, ovsFlows: actual.size, mismatches, examples };
}
