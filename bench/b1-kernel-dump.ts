/**
 * B1 — kernel dump: the library's full dump + decode of every nexthop and of
 * the VXLAN device's FDB, against `ip -j nexthop show` + `bridge -j fdb show
 * dev <vxlan>` on the same kernel state. Goal: ratio ≤ 1.2.
 */
import { RtnetlinkClient } from '../src/lib/rtnetlink/index.js';
import type { Figure } from './lib/report.js';
import { median, sample } from './lib/stats.js';
import { runPeer } from './lib/peers.js';
import { VXLAN_DEV, type Scale } from './lib/scale.js';

export async function benchKernelDump(scale: Scale): Promise<Figure[]> {
  const client = new RtnetlinkClient();
  try {
    const link = await client.getLinkByName(VXLAN_DEV);
    if (!link) throw new Error(`${VXLAN_DEV} not found`);
    let counted = { nexthops: 0, fdb: 0 };
    const ours = await sample(scale.runs, async () => {
      const nexthops = await client.listNexthops();
      const fdb = await client.listFdb(link.ifindex);
      counted = { nexthops: nexthops.length, fdb: fdb.length };
    });
    const expectedNexthops = scale.vteps + scale.groups;
    if (counted.nexthops !== expectedNexthops || counted.fdb < scale.macs) {
      throw new Error(`B1 decoded ${counted.nexthops} nexthops and ${counted.fdb} FDB entries, expected ${expectedNexthops} and ≥ ${scale.macs}`);
    }
    const peer = await sample(scale.runs, async () => {
      await runPeer('ip', ['-j', 'nexthop', 'show']);
      await runPeer('bridge', ['-j', 'fdb', 'show', 'dev', VXLAN_DEV]);
    });
    return [{
      bench: 'B1',
      what: `dump+decode ${expectedNexthops} nexthops, ${scale.macs} FDB entries`,
      ours: median(ours),
      peer: median(peer),
      peerName: 'ip -j nexthop + bridge -j fdb',
      unit: 'ms',
      goal: { on: 'ratio', max: 1.2 },
      runs: scale.runs,
    }];
  } finally {
    client.close();
  }
}
