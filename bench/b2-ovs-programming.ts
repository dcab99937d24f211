/**
 * B2 — OVS programming: the B1 content as select groups + flows, installed by
 * the OpenFlow client in one atomic ordered bundle, against `ovs-ofctl -O
 * OpenFlow15 --bundle add-groups` + `add-flows` from files. The bridge is
 * emptied (untimed) before every run. Goal: ratio ≤ 1.25.
 *
 * Both sides install what the agent writes for these groups: by default
 * (bucketLayout=slots) each group's weights 1:2:3:4 become equal buckets,
 * one per hash slot (32 with hash-slots' 1.5-point tolerance); with
 * `weights`, 4 weighted buckets. The note gives the total.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFlowClient } from '../src/lib/openflow/index.js';
import type { OvsSandbox } from '../test/harness/ovs.js';
import type { Figure } from './lib/report.js';
import { median, timeMs } from './lib/stats.js';
import { runPeer } from './lib/peers.js';
import { bucketTotal, bundleMessages, ofctlText, type BucketLayout } from './lib/ovs-content.js';
import type { Scale } from './lib/scale.js';

const BRIDGE = 'br-evpn';

async function emptyBridge(ovs: OvsSandbox): Promise<void> {
  await ovs.ofctl('del-flows', BRIDGE);
  await ovs.ofctl('del-groups', BRIDGE);
}

async function countInstalled(ovs: OvsSandbox): Promise<{ groups: number; flows: number }> {
  const { stdout: groups } = await ovs.ofctl('dump-groups', BRIDGE);
  const { stdout: flows } = await ovs.ofctl('dump-aggregate', BRIDGE);
  return {
    groups: groups.split('\n').filter((l) => l.includes('group_id=')).length,
    flows: Number(/flow_count=(\d+)/.exec(flows)?.[1] ?? -1),
  };
}

export async function benchOvsProgramming(scale: Scale, ovs: OvsSandbox, layout: BucketLayout = 'slots'): Promise<Figure[]> {
  await ovs.addBridge(BRIDGE);
  await ovs.vsctl('add-port', BRIDGE, 'evpn-vxlan', '--', 'set', 'Interface', 'evpn-vxlan', 'type=vxlan',
    'options:remote_ip=flow', 'options:key=flow', 'ofport_request=100');
  const tunnelPort = await ovs.ofport('evpn-vxlan');
  const messages = bundleMessages(scale, tunnelPort, layout);
  const dir = mkdtempSync(join(tmpdir(), 'evpn-bench-ofctl-'));
  const text = ofctlText(scale, tunnelPort, layout);
  writeFileSync(join(dir, 'groups'), text.groups);
  writeFileSync(join(dir, 'flows'), text.flows);
  const client = await OpenFlowClient.connect(`unix:${ovs.mgmtSocket(BRIDGE)}`);
  try {
    const ours: number[] = [];
    const peer: number[] = [];
    for (let run = 0; run < scale.runs; run++) {
      await emptyBridge(ovs);
      ours.push(await timeMs(() => client.applyBundle(messages)));
      const installed = await countInstalled(ovs);
      if (installed.groups !== scale.groups || installed.flows !== scale.macs) {
        throw new Error(`B2: the client installed ${installed.groups} groups and ${installed.flows} flows, expected ${scale.groups} and ${scale.macs}`);
      }
      await emptyBridge(ovs);
      peer.push(await timeMs(async () => {
        await runPeer('ovs-ofctl', ['-O', 'OpenFlow15', '--bundle', 'add-groups', `unix:${ovs.mgmtSocket(BRIDGE)}`, join(dir, 'groups')]);
        await runPeer('ovs-ofctl', ['-O', 'OpenFlow15', '--bundle', 'add-flows', `unix:${ovs.mgmtSocket(BRIDGE)}`, join(dir, 'flows')]);
      }));
    }
    return [{
      bench: 'B2',
      what: `install ${scale.groups} select groups + ${scale.macs} flows`,
      ours: median(ours),
      peer: median(peer),
      peerName: 'ovs-ofctl --bundle add-groups + add-flows',
      unit: 'ms',
      goal: { on: 'ratio', max: 1.25 },
      runs: scale.runs,
      note: `${bucketTotal(scale, layout)} buckets in all (bucketLayout=${layout}, as the agent writes them)`,
    }];
  } finally {
    client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
