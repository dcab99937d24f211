/**
 * End to end, on the lab a newcomer gets from `evpn-ecmp lab up`: a real
 * control plane, the operator, three simulated nodes (namespaces, their own
 * ovs-vswitchd, agents and FRR) and the fabric switch between them. One lab
 * for the whole file (it is heavy), the EVPN multihoming tests of
 * test/integration/frr included; the tests run in order and each leaves the
 * lab as the next expects it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../../src/lab/lab.js';
import { readConvergence } from '../../../src/lab/convergence.js';
import { pidRunning, pidsUsing } from '../../../src/lab/daemon.js';
import { NetworkNamespace } from '../../../src/lab/netns.js';
import { ANYCAST_SERVICE_MAC, underlayAddress, workloadPorts } from '../../../src/lab/layout.js';
import { controlNetnsName } from '../../../src/lab/control-network.js';
import { AGENT_NAMESPACE, AGENT_SERVICE_ACCOUNT } from '../../../src/lab/manifests.js';
import { CommandError, run } from '../../harness/exec.js';
import { missingControlPlane } from '../../harness/kube.js';
import { LAB_CLI as CLI, startTestLab, type TestLab } from '../../harness/lab.js';
import { multihomingTests } from '../frr/multihoming.js';
import { EVPN_TOOLS, KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { dstMac, flowFrame, flowIndex, inject, pcapFrames, txPackets, vxlanFrames, waitFor } from './traffic.js';
import { ZERO_MAC, agentMetric, bgpMacRoutes, fdb, floodList, nodeNs, txCounts } from './kernel.js';
import { KernelMonitor } from '../frr/observe.js';
import { vtysh } from '../../../src/lab/frr.js';
import { arpReply, arpRequest, macString } from '../../harness/packet.js';
import { bucketsOfLine, vtepShares } from '../../harness/slots.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS, ...EVPN_TOOLS, 'openssl']) ?? missingControlPlane();

const SERVICE_MAC = ANYCAST_SERVICE_MAC;
const CLIENT_MAC = workloadPorts('node-a').find((p) => p.name === 'vm1')!.mac;
const VM1_B = workloadPorts('node-b').find((p) => p.name === 'vm1')!.mac;
const NODES = ['node-a', 'node-b', 'node-c'];
/** The flood list must not churn for this long in a converged lab (issue 17: shared flood entries). */
const QUIET_MS = 60_000;
const REMAP_MAC = '02:00:00:00:02:00';
const FLOWS = 10_000;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(CLI[0]!, [...CLI.slice(1), ...args], { timeoutMs: 120_000 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.skipIf(skip)('the local lab, end to end', () => {
  let t: TestLab | undefined;
  let dir = '';
  let lab: Lab;
  const progress: string[] = [];
  let upMs = 0;
  /** Every neighbour/nexthop change on every node from convergence on, and the agents' flood writes then (the quiet-minute test). */
  const monitors = new Map<string, KernelMonitor>();
  let quietFrom = 0;
  const floodWrites = new Map<string, number>();
  const agentFloodWrites = async (node: string) =>
    (await agentMetric(lab, node, 'evpn_agent_kernel_writes_total', { op: 'appendFlood' })) + (await agentMetric(lab, node, 'evpn_agent_kernel_writes_total', { op: 'delFlood' }));

  beforeAll(async () => {
    const t0 = Date.now();
    t = await startTestLab({ onProgress: (l) => progress.push(l) });
    upMs = Date.now() - t0;
    lab = t.lab;
    dir = t.dir;
    quietFrom = Date.now();
    for (const n of NODES) {
      monitors.set(n, await KernelMonitor.start(lab.netns(n)));
      floodWrites.set(n, await agentFloodWrites(n));
    }
  }, 300_000);

  afterAll(async () => {
    for (const m of monitors.values()) await m.stop();
    // `lab down` is itself under test below; this only catches a failure before it.
    await t?.close();
  }, 120_000);

  it('converges: every node Ready, every group N/N, and `lab status` shows every process running', async () => {
    process.stdout.write(`lab up: converged (cluster, BGP, zebra's routes, the agents' mirrors) in ${(upMs / 1000).toFixed(1)} s\n`);
    const c = await readConvergence(lab.cp, lab.nodes);
    expect(c.nodesReady.sort()).toEqual(['node-a', 'node-b', 'node-c']);
    // One declared group; the way back comes from EVPN (no web-return any more).
    expect(c.groupsReady.sort()).toEqual(['web-ecmp']);
    const { stdout } = await lab.cp.kubectl('get', 'vg', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.ready}{"\\n"}{end}');
    expect(stdout.trim().split('\n').sort()).toEqual(['web-ecmp=1/1']);
    expect(progress.some((l) => /nodes ready 3\/3, groups ready 1\/1/.test(l))).toBe(true);

    const status = await cli('lab', 'status', '--dir', dir);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    for (const name of ['etcd', 'kube-apiserver', 'operator', 'fabric/ovs-vswitchd', 'node-a/agent', 'node-b/ovs-vswitchd', 'node-c/relay', 'node-a/zebra', 'node-c/bgpd', 'node-b/gobgpd']) {
      expect(status.stdout).toMatch(new RegExp(`^${name.replace('/', '\\/')}\\s+\\d+\\s+running`, 'm'));
    }
    expect(status.stdout).toMatch(/^node-a\s+True\s+1\s+2\s+1\s+0\s+True/m);
    expect(status.stdout).toMatch(/^node-b\s+True\s+0\s+0\s+0\s+0\s+True/m);
    // Both worlds per node: what EVPN installed (the multihomed service, the other nodes' exported MACs), what is local.
    expect(status.stdout).toMatch(/^NAME\s+LEARNED-ECMP\s+LEARNED-1PATH\s+VNI\s+LOCAL-MACS\s+EXPORTED$/m);
    expect(status.stdout).toMatch(/^node-a\s+1\s+4\s+100,200\s+1,1\s+1,1$/m);
    expect(status.stdout).toMatch(/^node-b\s+0\s+4\s+100,200\s+1,1\s+1,1$/m);
    expect(status.stdout).toContain(`export KUBECONFIG=${lab.kubeconfigPath}`);
    // The EVPN control plane: every session up, node-a's zebra has the multihomed ES.
    expect(status.stdout).toMatch(/^node-a\/bgpd\s+\d+\s+running, EVPN sessions 4\/4 established/m);
    expect(status.stdout).toMatch(/^node-a\/zebra\s+\d+\s+running, .*ES 00:11:11:11:11:11:11:11:11:11 via 192\.0\.2\.2, 192\.0\.2\.3/m);
    // zebra's VNIs, each with its one local (exported) MAC: node-a's vm1 in 100, db in 200.
    expect(status.stdout).toMatch(/^node-a\/zebra\s+\d+\s+running, VNI 100: 2 remote VTEPs, \d+ MACs \(1 local\); VNI 200: 2 remote VTEPs, \d+ MACs \(1 local\)/m);
    expect(status.stdout).toMatch(/^node-c\/gobgpd\s+\d+\s+running, sessions 1\/1 established, announcing 3 routes/m);
    expect(progress.some((l) => /\] EVPN converged$/.test(l))).toBe(true);
  });

  it("has the chart's security posture: node-a's agent token writes node-a's status, never node-b's", async () => {
    const kubeconfig = join(lab.cp.dir, `${AGENT_NAMESPACE}-${AGENT_SERVICE_ACCOUNT}-node-a.kubeconfig`);
    const asAgentA = (...args: string[]) => run(lab.cp.kubectlPath, ['--kubeconfig', kubeconfig, ...args]);
    const patch = JSON.stringify({ status: { lastSyncTime: new Date().toISOString() } });
    // Its own node: allowed (server-side dry run: admission runs, nothing is stored).
    await asAgentA('patch', 'vns', 'node-a', '--subresource=status', '--type=merge', '--dry-run=server', '-p', patch);
    const denied = await asAgentA('patch', 'vns', 'node-b', '--subresource=status', '--type=merge', '--dry-run=server', '-p', patch).then(
      () => 'allowed',
      (e: unknown) => (e instanceof CommandError ? e.stderr : String(e)),
    );
    expect(denied).toMatch(/the evpn-ecmp agent on node node-a may write only the status of VtepNodeState node-a, not node-b/);
    // And never a spec, not even its own (RBAC: no write on vtepnodestates).
    const spec = await asAgentA('patch', 'vns', 'node-a', '--type=merge', '--dry-run=server', '-p', JSON.stringify({ spec: { groups: [] } })).then(
      () => 'allowed',
      (e: unknown) => (e instanceof CommandError ? e.stderr : String(e)),
    );
    expect(spec).toMatch(/forbidden/i);
  });

  it("makes no kernel device itself: zebra takes every VNI from the agent's devices (VXLAN device, bridge, access port)", async () => {
    for (const node of NODES) {
      const links = await nodeNs(lab, node).ipJson<{ ifname: string; ifalias?: string; linkinfo?: { info_kind?: string; info_data?: { mcast_snooping?: number } } }>('-d', 'link', 'show');
      const evpn = links.filter((l) => /^evp(n|nbr|a|b)-/.test(l.ifname));
      expect(evpn.map((l) => l.ifname).sort(), node).toEqual(['evpa-100', 'evpa-200', 'evpb-100', 'evpb-200', 'evpn-100', 'evpn-200', 'evpnbr-100', 'evpnbr-200']);
      // Every one of them carries the agent's ownership mark: none is the lab's.
      expect(evpn.filter((l) => !l.ifalias?.startsWith('evpn-ecmp:')).map((l) => l.ifname), node).toEqual([]);
      // Bridges that send nothing of their own (no multicast snooping reports).
      expect(evpn.filter((l) => l.linkinfo?.info_kind === 'bridge').map((l) => l.linkinfo?.info_data?.mcast_snooping), node).toEqual([0, 0]);
      for (const vni of [100, 200]) {
        const z = JSON.parse(await vtysh(lab.layout, node, `show evpn vni ${vni} json`)) as { vxlanInterface?: string; sviInterface?: string; vtepIp?: string };
        expect([z.vxlanInterface, z.sviInterface, z.vtepIp], `${node} VNI ${vni}`).toEqual([`evpn-${vni}`, `evpnbr-${vni}`, underlayAddress(node)]);
      }
    }
  });

  it(`carries ${FLOWS} flows across the fabric, split 3:1 by weight within 1.5 points, VNI intact`, async () => {
    const a = lab.nodeOvs('node-a');
    const webB = lab.layout.portPcap('node-b', 'web');
    const webC = lab.layout.portPcap('node-c', 'web');
    const nicA = lab.layout.nicPcap('node-a');
    // Native tunnelling resolves each VTEP's MAC by ARP on first use and drops
    // what it sends meanwhile: warm both paths up, then count from here.
    await inject(a, 'vm1', Array.from({ length: 64 }, (_, i) => flowFrame({ srcMac: CLIENT_MAC, dstMac: SERVICE_MAC, index: 60_000 + i })));
    await waitFor('ARP for both VTEPs', async () => {
      const { stdout } = await a.appctl('tnl/neigh/show');
      return stdout.includes('192.0.2.2') && stdout.includes('192.0.2.3') ? true : undefined;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const dbPorts = ['node-b', 'node-c'].map((n) => lab.layout.portPcap(n, 'db'));
    const base = { b: pcapFrames(webB).length, c: pcapFrames(webC).length, nic: vxlanFrames(nicA).length, db: dbPorts.map((p) => pcapFrames(p).length) };

    const fromNic = () => txPackets(a, 'br-underlay', 'nic0');
    const ctlBefore = await Promise.all(NODES.map(async (n) => (await txCounts(lab, n)).get('ctl0')!.frames));
    await inject(a, 'vm1', Array.from({ length: FLOWS }, (_, i) => flowFrame({ srcMac: CLIENT_MAC, dstMac: SERVICE_MAC, index: i })), { delivered: fromNic });
    const received = await waitFor(
      `${FLOWS} frames on the web ports of node-b and node-c`,
      () => {
        const b = pcapFrames(webB).slice(base.b);
        const c = pcapFrames(webC).slice(base.c);
        return b.length + c.length >= FLOWS ? { b, c } : undefined;
      },
      60_000,
      250,
    ).catch((err: Error) => {
      // Where the frames stopped: sent by node-a, arrived at node-b / node-c.
      const sentA = vxlanFrames(nicA).length - base.nic;
      throw new Error(`${err.message}: node-a's NIC sent ${sentA}, node-b's web got ${pcapFrames(webB).length - base.b}, node-c's ${pcapFrames(webC).length - base.c}`);
    });
    const flowsAt = (frames: Buffer[]) => new Set(frames.map((f) => flowIndex(f)).filter((i): i is number => i !== undefined && i < FLOWS));
    const atB = flowsAt(received.b);
    const atC = flowsAt(received.c);
    // Decapsulated, every frame is one of ours, for the service MAC, exactly once.
    expect(received.b.length + received.c.length).toBe(FLOWS);
    expect(atB.size + atC.size).toBe(FLOWS);
    expect([...atB].filter((i) => atC.has(i))).toEqual([]);
    for (const f of [...received.b, ...received.c]) expect(f.subarray(0, 6).toString('hex')).toBe(SERVICE_MAC.replaceAll(':', ''));

    // VNI 100 traffic never reaches a port of VNI 200.
    expect(dbPorts.map((p) => pcapFrames(p).length)).toEqual(base.db);

    // The kernel carries none of it: its VXLAN devices, bridges and access
    // ports have sent nothing since the agent made them, and the control
    // network saw only BGP (tens of frames, not thousands).
    const ctl: number[] = [];
    for (const [i, n] of NODES.entries()) {
      const tx = await txCounts(lab, n);
      const agentDevices = [...tx].filter(([, v]) => v.alias?.startsWith('evpn-ecmp:'));
      expect(agentDevices.length, n).toBe(8);
      expect(agentDevices.filter(([, v]) => v.frames > 0).map(([name, v]) => `${name}: ${v.frames}`), `${n}: frames the agent's devices sent`).toEqual([]);
      ctl.push(tx.get('ctl0')!.frames - ctlBefore[i]!);
    }
    process.stdout.write(`lab traffic: ${FLOWS} flows through Open vSwitch; the agents' kernel devices sent 0 frames; ctl0 sent ${ctl.join('/')} frames (BGP) on node-a/b/c meanwhile\n`);
    for (const n of ctl) expect(n).toBeLessThan(FLOWS / 20);

    const shareB = atB.size / FLOWS;
    process.stdout.write(`lab traffic: node-b ${atB.size} (${(shareB * 100).toFixed(2)} %), node-c ${atC.size} flows; weights 3:1 (75 %)\n`);
    expect(Math.abs(shareB - 0.75)).toBeLessThanOrEqual(0.015);

    // What left node-a's NIC: VXLAN from 192.0.2.1, VNI 100, to the VTEP
    // that then delivered the flow.
    const sent = vxlanFrames(nicA).slice(base.nic).filter((v) => (flowIndex(v.inner) ?? FLOWS) < FLOWS);
    expect(sent.length).toBe(FLOWS);
    for (const v of sent) {
      expect(v.vni).toBe(100);
      expect(v.outerSrcIp).toBe('192.0.2.1');
      const i = flowIndex(v.inner)!;
      expect(v.outerDstIp).toBe(atB.has(i) ? '192.0.2.2' : '192.0.2.3');
    }
  }, 180_000);

  it("advertises node-a's client MAC: exported by its agent, a type-2 route from node-a's FRR in node-b's and node-c's BGP tables, installed by their zebra as a single-path entry their agents mirror", async () => {
    // node-a: the agent's static entry on its access port, which zebra reads as a local MAC.
    const exported = (await fdb(lab, 'node-a', 'evpa-100')).find((e) => e.mac === CLIENT_MAC);
    expect(exported).toMatchObject({ master: 'evpnbr-100', state: 'static' });
    const local = JSON.parse(await vtysh(lab.layout, 'node-a', `show evpn mac vni 100 mac ${CLIENT_MAC} json`)) as Record<string, { type?: string; intf?: string }>;
    expect(local[CLIENT_MAC]).toMatchObject({ type: 'local', intf: 'evpa-100' });
    const { stdout: localA } = await lab.cp.kubectl('get', 'vns', 'node-a', '-o', 'jsonpath={.status.local}');
    expect(JSON.parse(localA)).toEqual(expect.arrayContaining([expect.objectContaining({ vni: 100, exported: 1 })]));
    // The anycast and the multihomed service MACs are never exported (their ports say evpn-export=false): no node advertises them as its own.
    for (const node of NODES) {
      expect(await bgpMacRoutes(lab, node, SERVICE_MAC), `${node}: type-2 for the anycast MAC`).toEqual([]);
      expect((await fdb(lab, node, 'evpa-100')).map((e) => e.mac)).not.toContain(SERVICE_MAC);
    }

    for (const node of ['node-b', 'node-c']) {
      // BGP: one best type-2 route for the client MAC, nexthop node-a's VTEP.
      expect(await bgpMacRoutes(lab, node, CLIENT_MAC), node).toEqual([{ nexthop: '192.0.2.1', best: true }]);
      // Kernel: zebra's single-path remote entry (no nexthop group).
      const entry = (await fdb(lab, node, 'evpn-100')).find((e) => e.mac === CLIENT_MAC && e.dst !== undefined);
      expect(entry, node).toMatchObject({ dst: '192.0.2.1' });
      expect(entry!.flags).toEqual(expect.arrayContaining(['self', 'extern_learn']));
      expect(entry!.nhid).toBeUndefined();
      // The agent mirrors it (learned.singlePath: vm1 and db of the two other nodes) into a flow to node-a's VTEP.
      const { stdout: learned } = await lab.cp.kubectl('get', 'vns', node, '-o', 'jsonpath={.status.learned.singlePath}');
      expect(Number(learned), node).toBe(4);
      const { stdout: flows } = await lab.nodeOvs(node).ofctl('dump-flows', 'br-evpn', `table=1,dl_dst=${CLIENT_MAC}`);
      expect(flows, node).toMatch(/priority=100,metadata=0x64,dl_dst=02:00:00:00:0a:01 actions=set_field:0x64->tun_id,set_field:192\.0\.2\.1->tun_dst,output:\d+/);
    }
    // Nothing in Kubernetes says where the client is.
    const { stdout: groups } = await lab.cp.kubectl('get', 'vg', '-o', 'jsonpath={.items[*].metadata.name}');
    expect(groups.trim()).toBe('web-ecmp');
  });

  it("carries the replies back through EVPN: node-b reaches the client on node-a by zebra's entry, no VtepGroup", async () => {
    const b = lab.nodeOvs('node-b');
    const vm1A = lab.layout.portPcap('node-a', 'vm1');
    const reply = (index: number) => flowFrame({ srcMac: SERVICE_MAC, dstMac: CLIENT_MAC, index });
    // Warm-up: node-b resolves node-a's underlay MAC by ARP first.
    await inject(b, 'web', [reply(60_000), reply(60_001)]);
    await waitFor('ARP for node-a on node-b', async () => ((await b.appctl('tnl/neigh/show')).stdout.includes('192.0.2.1') ? true : undefined), 10_000);
    const base = pcapFrames(vm1A).length;
    await inject(b, 'web', Array.from({ length: 200 }, (_, i) => reply(i)), { delivered: () => txPackets(b, 'br-underlay', 'nic0') });
    const got = await waitFor('200 replies on node-a vm1', () => {
      const f = pcapFrames(vm1A).slice(base);
      return f.length >= 200 ? f : undefined;
    }, 20_000);
    expect(got.length).toBe(200);
    expect(new Set(got.map((f) => flowIndex(f)))).toEqual(new Set(Array.from({ length: 200 }, (_, i) => i)));
    const sent = vxlanFrames(lab.layout.nicPcap('node-b')).filter((v) => (flowIndex(v.inner) ?? 1e9) < 200 && v.outerDstIp === '192.0.2.1');
    expect(sent.length).toBeGreaterThanOrEqual(200);
    expect(new Set(sent.map((v) => `${v.outerSrcIp} vni ${v.vni}`))).toEqual(new Set(['192.0.2.2 vni 100']));
  }, 60_000);

  it('floods an ARP request once to every port of its VNI on every node, and the unicast reply finds its way back', async () => {
    const isArp = (f: Buffer) => f.length >= 42 && f.readUInt16BE(12) === 0x0806;
    const arpOp = (f: Buffer) => f.readUInt16BE(20);
    const arpCount = (node: string, port: string) => pcapFrames(lab.layout.portPcap(node, port)).filter(isArp).length;
    const vni100 = [['node-a', 'web'], ['node-b', 'vm1'], ['node-b', 'web'], ['node-c', 'vm1'], ['node-c', 'web']] as const;
    const quiet = [['node-a', 'vm1'], ['node-a', 'db'], ['node-b', 'db'], ['node-c', 'db']] as const;
    const count = () => Object.fromEntries([...vni100, ...quiet].map(([n, p]) => [`${n}/${p}`, arpCount(n, p)]));
    const before = count();

    // Who has 10.255.0.1? from the client on node-a: broadcast, so it takes
    // the VNI's flood group (head-end replication to node-b and node-c, and
    // node-a's other VNI 100 port).
    await inject(lab.nodeOvs('node-a'), 'vm1', [arpRequest(CLIENT_MAC, '10.0.0.1', '10.255.0.1')]);
    await waitFor('the ARP request on every VNI 100 port of every node', () => {
      const now = count();
      return vni100.every(([n, p]) => now[`${n}/${p}`]! > before[`${n}/${p}`]!) ? true : undefined;
    }, 10_000);
    // Let any duplicate or loop show itself before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    const after = count();
    for (const [n, p] of vni100) expect(after[`${n}/${p}`]! - before[`${n}/${p}`]!, `${n}/${p}`).toBe(1);
    // Never back out of the port it came in on, never into VNI 200.
    for (const [n, p] of quiet) expect(after[`${n}/${p}`]! - before[`${n}/${p}`]!, `${n}/${p}`).toBe(0);
    const atB = pcapFrames(lab.layout.portPcap('node-b', 'web')).filter(isArp).at(-1)!;
    expect(arpOp(atB)).toBe(1);
    expect(macString(atB, 6)).toBe(CLIENT_MAC);

    // The service on node-b answers with a unicast ARP reply: it reaches the
    // client on node-a exactly once, by the single-path entry node-b's zebra
    // installed from node-a's type-2 route.
    await inject(lab.nodeOvs('node-b'), 'web', [arpReply(SERVICE_MAC, '10.255.0.1', CLIENT_MAC, '10.0.0.1')]);
    const reply = await waitFor('the ARP reply on node-a vm1', () => {
      const got = pcapFrames(lab.layout.portPcap('node-a', 'vm1')).filter(isArp).slice(before['node-a/vm1']);
      return got.length > 0 ? got : undefined;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const replies = pcapFrames(lab.layout.portPcap('node-a', 'vm1')).filter(isArp).slice(before['node-a/vm1']);
    expect(replies).toHaveLength(1);
    expect(arpOp(reply[0]!)).toBe(2);
    expect(macString(reply[0]!, 0)).toBe(CLIENT_MAC);
    // A unicast reply is not flooded: node-c's ports saw nothing more.
    expect(arpCount('node-c', 'vm1')).toBe(after['node-c/vm1']);
  }, 60_000);

  it('switches locally: a frame between two local ports of one VNI reaches exactly that port and never the underlay; one from the tunnel to a local MAC reaches only that port', async () => {
    const b = lab.nodeOvs('node-b');
    const ports = ['vm1', 'web', 'mh', 'db'];
    const count = (node: string) => Object.fromEntries([...ports.map((p) => [p, pcapFrames(lab.layout.portPcap(node, p)).length]), ['nic0', pcapFrames(lab.layout.nicPcap(node)).length]]);
    const N = 100;
    const settle = () => new Promise((r) => setTimeout(r, 1_000));

    // node-b: web (the service, learned there by now: it answered above) → vm1 (attached): vm1 only, nothing on the NIC.
    let before = count('node-b');
    await inject(b, 'web', Array.from({ length: N }, (_, i) => flowFrame({ srcMac: SERVICE_MAC, dstMac: VM1_B, index: 20_000 + i })));
    await waitFor(`${N} frames on node-b vm1`, () => (pcapFrames(lab.layout.portPcap('node-b', 'vm1')).length - before.vm1! >= N ? true : undefined), 20_000);
    await settle();
    let after = count('node-b');
    expect(Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]))).toEqual({ vm1: N, web: 0, mh: 0, db: 0, nic0: 0 });
    expect(pcapFrames(lab.layout.portPcap('node-b', 'vm1')).slice(before.vm1).every((f) => dstMac(f) === VM1_B)).toBe(true);

    // And back: vm1 → the service MAC, which node-b learned on web (no remote entry for it there): web only.
    before = after;
    await inject(b, 'vm1', Array.from({ length: N }, (_, i) => flowFrame({ srcMac: VM1_B, dstMac: SERVICE_MAC, index: 20_000 + i })));
    await waitFor(`${N} frames on node-b web`, () => (pcapFrames(lab.layout.portPcap('node-b', 'web')).length - before.web! >= N ? true : undefined), 20_000);
    await settle();
    after = count('node-b');
    expect(Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]))).toEqual({ vm1: 0, web: N, mh: 0, db: 0, nic0: 0 });
    const { stdout: localB } = await lab.cp.kubectl('get', 'vns', 'node-b', '-o', 'jsonpath={.status.local}');
    // web's MAC is local on node-b (learned) but not exported: 2 local MACs in VNI 100, 1 exported.
    expect(JSON.parse(localB)).toEqual(expect.arrayContaining([expect.objectContaining({ vni: 100, macs: 2, exported: 1 })]));

    // From the tunnel: node-a's client → node-b's vm1 (node-a knows it from node-b's type-2 route): vm1 only on node-b, nothing on node-c.
    const a = lab.nodeOvs('node-a');
    before = count('node-b');
    const beforeC = count('node-c');
    const nicA = vxlanFrames(lab.layout.nicPcap('node-a')).length;
    await inject(a, 'vm1', Array.from({ length: N }, (_, i) => flowFrame({ srcMac: CLIENT_MAC, dstMac: VM1_B, index: 21_000 + i })), { delivered: () => txPackets(a, 'br-underlay', 'nic0') });
    await waitFor(`${N} frames from node-a on node-b vm1`, () => (pcapFrames(lab.layout.portPcap('node-b', 'vm1')).length - before.vm1! >= N ? true : undefined), 20_000);
    await settle();
    after = count('node-b');
    const afterC = count('node-c');
    expect(Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]))).toEqual({ vm1: N, web: 0, mh: 0, db: 0, nic0: 0 });
    expect(afterC).toEqual(beforeC);
    const sent = vxlanFrames(lab.layout.nicPcap('node-a')).slice(nicA).filter((v) => dstMac(v.inner) === VM1_B);
    expect(sent).toHaveLength(N);
    expect(new Set(sent.map((v) => `${v.outerDstIp} vni ${v.vni}`))).toEqual(new Set(['192.0.2.2 vni 100']));
  }, 120_000);

  it(`shares the flood lists with zebra: a converged lab writes no flood entry for ${QUIET_MS / 1000} s, traffic and all`, async () => {
    // Zebra (type-3 routes) and the agent (the VTEPs of its VtepGroups) want
    // some of the same all-zeros entries; neither may keep rewriting them.
    const wait = quietFrom + QUIET_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const elapsed = Date.now() - quietFrom;
    for (const [node, monitor] of monitors) {
      await monitor.stop();
      monitors.delete(node);
      const flood = monitor.since(quietFrom).filter((e) => e.text.includes(`lladdr ${ZERO_MAC}`));
      expect(flood.map((e) => e.text), `${node}: flood entry changes`).toEqual([]);
      expect(await agentFloodWrites(node), `${node}: the agent's flood writes`).toBe(floodWrites.get(node));
    }
    expect(await floodList(lab, 'node-a', 'evpn-100')).toEqual(['192.0.2.2', '192.0.2.3']);
    process.stdout.write(`lab flood lists: no flood entry written or deleted on ${NODES.length} nodes in ${(elapsed / 1000).toFixed(0)} s of a converged lab\n`);
  }, QUIET_MS + 30_000);

  it("a VTEP the agent no longer wants but zebra still does: the agent deletes its entry once, zebra puts it back, and that is all", async () => {
    const monitor = await KernelMonitor.start(lab.netns('node-a'));
    try {
      const t0 = Date.now();
      // web-ecmp without node-c: the agent retires (evpn-100, 192.0.2.3); node-c's type-3 route still names it.
      await lab.cp.kubectl('patch', 'vg', 'web-ecmp', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/vteps/1' }]));
      const events = await waitFor('the agent\'s delete and zebra\'s re-add', () => {
        const e = monitor.since(t0).filter((x) => x.text.includes(`192.0.2.3 dev evpn-100 lladdr ${ZERO_MAC}`));
        return e.length >= 2 ? e : undefined;
      }, 15_000, 50);
      await new Promise((r) => setTimeout(r, 3_000)); // anything more would show now
      const all = monitor.since(t0).filter((x) => x.text.includes(`lladdr ${ZERO_MAC}`)).map((x) => x.text.replace(/\s+$/, ''));
      expect(all).toEqual([`Deleted 192.0.2.3 dev evpn-100 lladdr ${ZERO_MAC} NOARP PERMANENT`, `192.0.2.3 dev evpn-100 lladdr ${ZERO_MAC} NOARP PERMANENT`]);
      expect(await floodList(lab, 'node-a', 'evpn-100')).toEqual(['192.0.2.2', '192.0.2.3']);
      const readd = events[1]!.at - events[0]!.at; // ip monitor's clock, read to the ms
      process.stdout.write(`lab flood lists: the agent deleted its retired entry, zebra re-added it ${readd < 1 ? 'within 1' : readd} ms (ip monitor), no further change in 3 s\n`);
      // Open vSwitch floods to node-c all along (the flood group follows the kernel's list).
      const { stdout: floodVnis } = await lab.cp.kubectl('get', 'vns', 'node-a', '-o', 'jsonpath={.status.flood[?(@.vni==100)].vteps}');
      expect(Number(floodVnis)).toBe(2);
    } finally {
      await monitor.stop();
      await lab.cp.kubectl('patch', 'vg', 'web-ecmp', '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/vteps/-', value: { ip: '192.0.2.3', weight: 1 } }]));
    }
    await waitFor('web-ecmp back to node-b and node-c on node-a', async () => {
      const { stdout } = await lab.cp.kubectl('get', 'vns', 'node-a', '-o', 'jsonpath={.status.groups[0].paths[*].vtep}');
      return stdout.trim().split(' ').sort().join() === '192.0.2.2,192.0.2.3' && (await readConvergence(lab.cp, lab.nodes)).groupsReady.includes('web-ecmp') ? true : undefined;
    }, 20_000, 200);
  }, 60_000);

  // FRR, GoBGP and the agent on the same lab, while it is fresh (test/integration/frr).
  multihomingTests(() => t!);

  it('makes a weight change from `kubectl patch` live on the node within 2 s (kernel and OVS), re-adding no flow', async () => {
    const a = lab.nodeOvs('node-a');
    const ns = NetworkNamespace.existing(lab.netns('node-a'))!;
    const serviceFlow = async () => {
      const { stdout } = await a.ofctl('dump-flows', 'br-evpn', `table=1,dl_dst=${SERVICE_MAC}`);
      const line = stdout.split('\n').find((l) => l.includes(SERVICE_MAC));
      const m = /duration=([\d.]+)s.*n_packets=(\d+)/.exec(line ?? '');
      if (!m) throw new Error(`no flow for ${SERVICE_MAC}:\n${stdout}`);
      return { duration: Number(m[1]), packets: Number(m[2]) };
    };
    const before = await serviceFlow();
    const t0 = Date.now();
    await lab.cp.kubectl('patch', 'vg', 'web-ecmp', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/vteps/1/weight', value: 3 }]));
    await waitFor(
      'weights 3/3 in the fdb nexthop group, equal shares in the select group',
      async () => {
        const groups = (await a.ofctl('dump-groups', 'br-evpn')).stdout;
        // The select group (the VNI's flood group, type=all, lists the same VTEPs).
        const line = groups.split('\n').find((l) => l.includes('type=select') && l.includes('192.0.2.2->tun_dst') && l.includes('192.0.2.3->tun_dst'));
        // 3:1 → 3:3: half of the hash slots each.
        const shares = line === undefined ? new Map<string, number>() : vtepShares(bucketsOfLine(line));
        const ovsOk = shares.size === 2 && [...shares.values()].every((x) => x === 0.5);
        const nhs = await ns.ipJson<{ id: number; group?: { id: number; weight?: number }[]; fdb?: null }>('nexthop', 'show');
        const kernelOk = nhs.some((n) => n.group?.length === 2 && n.group.every((m) => m.weight === 3));
        return ovsOk && kernelOk ? true : undefined;
      },
      // Wait longer than the bound, so a failure says by how much it missed.
      10_000,
      50,
    );
    const elapsed = Date.now() - t0;
    process.stdout.write(`lab weight change: live in kernel and OVS ${elapsed} ms after kubectl patch started\n`);
    expect(elapsed).toBeLessThanOrEqual(2_000);
    const after = await serviceFlow();
    // A re-added flow restarts its duration and loses its packet count.
    expect(after.duration).toBeGreaterThanOrEqual(before.duration);
    expect(after.packets).toBeGreaterThanOrEqual(before.packets);
    expect(after.packets).toBeGreaterThan(0);
    // And the cluster says so: the group is N/N again at its new generation.
    await waitFor('web-ecmp 1/1 at its new generation', async () => ((await readConvergence(lab.cp, lab.nodes)).groupsReady.includes('web-ecmp') ? true : undefined), 10_000, 200);
  }, 60_000);

  /**
   * Flows that change VTEP when a fifth member joins a group of four equal
   * ones, measured per OpenFlow group layout: the fabric's `ovs` settings
   * are switched with kubectl, the group created, one round of flows sent,
   * a VTEP added with `kubectl patch`, the same flows sent again. Ideal is
   * 1/5 (only the new member's share moves).
   */
  async function remapShare(ovs: { selectionMethod: 'dp_hash' | 'hash'; bucketLayout: 'slots' | 'weights' }): Promise<{ share: number; toNew: number; moved: number }> {
    const a = lab.nodeOvs('node-a');
    const label = ovs.selectionMethod === 'hash' ? 'hash' : `dp_hash, bucketLayout=${ovs.bucketLayout}`;
    await lab.cp.kubectl('patch', 'ef', 'default', '--type=merge', '-p', JSON.stringify({ spec: { ovs } }));
    const vteps = ['192.0.2.2', '192.0.2.3', '192.0.2.201', '192.0.2.202'];
    const group = {
      apiVersion: 'evpn.ecmp.dev/v1alpha1',
      kind: 'VtepGroup',
      metadata: { name: 'remap' },
      spec: { fabric: 'default', vni: 200, vteps: vteps.map((ip) => ({ ip })), macs: [REMAP_MAC], nodeSelector: { matchLabels: { 'lab.evpn.ecmp.dev/role': 'client' } } },
    };
    await lab.cp.kubectlInput(JSON.stringify(group), 'apply', '-f', '-');
    // The remap group on node-a, once it has this method and reaches exactly these VTEPs.
    const groupOnA = async (members: string[]) => {
      const groups = (await a.ofctl('dump-groups', 'br-evpn')).stdout;
      const line = groups.split('\n').find((l) => l.includes('192.0.2.201->tun_dst') && l.includes(`selection_method=${ovs.selectionMethod},`));
      const buckets = line === undefined ? [] : bucketsOfLine(line);
      return JSON.stringify([...vtepShares(buckets).keys()].sort()) === JSON.stringify([...members].sort()) ? buckets : undefined;
    };
    const four = await waitFor(`a ${label} group of 4 VTEPs for remap on node-a`, () => groupOnA(vteps), 15_000);

    const nicA = lab.layout.nicPcap('node-a');
    const K = 4_000;
    const srcMac = workloadPorts('node-a').find((p) => p.name === 'db')!.mac;
    const round = async () => {
      const base = vxlanFrames(nicA).length;
      await inject(a, 'db', Array.from({ length: K }, (_, i) => flowFrame({ srcMac, dstMac: REMAP_MAC, index: i })), { delivered: () => txPackets(a, 'br-underlay', 'nic0') });
      const frames = await waitFor(`${K} VNI 200 frames on node-a's NIC`, () => {
        const f = vxlanFrames(nicA).slice(base).filter((v) => v.vni === 200);
        return f.length >= K ? f : undefined;
      }, 30_000, 200);
      const path = new Map<number, string>();
      for (const v of frames) path.set(flowIndex(v.inner)!, v.outerDstIp);
      return path;
    };
    const before = await round();
    expect(new Set(before.values())).toEqual(new Set(vteps));
    await lab.cp.kubectl('patch', 'vg', 'remap', '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/vteps/-', value: { ip: '192.0.2.203' } }]));
    const five = await waitFor(`a ${label} group of 5 VTEPs for remap on node-a`, () => groupOnA([...vteps, '192.0.2.203']), 15_000);
    const after = await round();
    expect(new Set(after.values())).toEqual(new Set([...vteps, '192.0.2.203']));

    let moved = 0;
    let toNew = 0;
    for (const [i, dst] of before) {
      if (after.get(i) === dst) continue;
      moved += 1;
      if (after.get(i) === '192.0.2.203') toNew += 1;
    }
    await lab.cp.kubectl('delete', 'vg', 'remap', '--wait=true');
    await waitFor('the remap group gone from node-a', async () => ((await a.ofctl('dump-groups', 'br-evpn')).stdout.includes('192.0.2.201') ? undefined : true), 15_000);
    const share = moved / K;
    process.stdout.write(
      `lab membership change 4→5 (${label}; ${four.length} → ${five.length} buckets): ${(share * 100).toFixed(1)} % of ${K} flows changed VTEP (ideal 20 %), ${toNew} of ${moved} to the new VTEP\n`,
    );
    return { share, toNew, moved };
  }

  it('moves about a fifth of the flows, all to the newcomer, when a fifth VTEP joins four (kubectl patch)', async () => {
    const a = lab.nodeOvs('node-a');
    // Two real VTEPs and three that exist only as neighbour entries on
    // node-a: what counts is the bucket each flow takes, read from the outer
    // destination on node-a's NIC.
    for (const [i, ip] of ['192.0.2.201', '192.0.2.202', '192.0.2.203'].entries()) {
      await a.appctl('tnl/neigh/set', 'br-underlay', ip, `aa:55:00:00:00:${(0xc9 + i).toString(16)}`);
    }
    // `hash` picks a bucket by highest random weight per flow: adding a
    // member moves only the flows the newcomer wins.
    const hrw = await remapShare({ selectionMethod: 'hash', bucketLayout: 'slots' });
    expect(hrw.share).toBeLessThan(2 * (1 / 5));
    expect(hrw.toNew).toBe(hrw.moved);
    // dp_hash with one weighted bucket per VTEP: ovs-vswitchd re-deals its
    // hash slots on every group change and most flows move. Reported, and
    // bounded only by what a full reshuffle would move.
    const weights = await remapShare({ selectionMethod: 'dp_hash', bucketLayout: 'weights' });
    expect(weights.share).toBeGreaterThan(0);
    expect(weights.share).toBeLessThan(0.9);
    // The default: the agent deals the slots and moves only the newcomer's
    // 12 of 64 (18.75 %); the rest is sampling.
    const slots = await remapShare({ selectionMethod: 'dp_hash', bucketLayout: 'slots' });
    expect(slots.share).toBeLessThan(2 * (1 / 5));
    expect(slots.share).toBeGreaterThan(0.15);
    expect(slots.toNew).toBe(slots.moved);
  }, 300_000);

  it('shows a stopped agent\'s node not Ready in `kubectl get vns` within three heartbeat intervals, and Ready again when it resumes', async () => {
    const row = async (node: string) => {
      const { stdout } = await lab.cp.kubectl('get', 'vns', node, '--no-headers');
      return stdout.trim().split(/\s+/);
    };
    // A group on both server nodes (the lab's own groups select node-a only), so
    // node-b's silence shows in a roll-up. VNI 200 and a MAC no workload has.
    const probe = {
      apiVersion: 'evpn.ecmp.dev/v1alpha1',
      kind: 'VtepGroup',
      metadata: { name: 'heartbeat-probe' },
      spec: { fabric: 'default', vni: 200, vteps: [{ ip: '192.0.2.1' }], macs: ['02:00:00:00:0f:01'], nodeSelector: { matchLabels: { 'lab.evpn.ecmp.dev/role': 'server' } } },
    };
    await lab.cp.kubectlInput(JSON.stringify(probe), 'apply', '-f', '-');
    const probeReady = async () => (await lab.cp.kubectl('get', 'vg', 'heartbeat-probe', '-o', 'jsonpath={.status.ready}')).stdout.trim();
    expect((await row('node-b'))[1]).toBe('True');
    await waitFor('heartbeat-probe 2/2', async () => ((await probeReady()) === '2/2' ? true : undefined), 15_000, 200);
    const agentB = (await lab.processes()).find((r) => r.name === 'node-b/agent')!;
    // The process is there and does nothing: what a hung agent, or a frozen node, looks like.
    process.kill(agentB.pid!, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const shown = await waitFor('node-b READY Unknown in kubectl get vns', async () => {
        const r = await row('node-b');
        return r[1] === 'Unknown' ? r : undefined;
      }, 30_000, 200);
      const elapsed = Date.now() - stoppedAt;
      const { stdout: table } = await lab.cp.kubectl('get', 'vns');
      process.stdout.write(`lab: node-b's agent stopped (SIGSTOP); not Ready after ${elapsed} ms (heartbeat 2 s):\n${table}`);
      // Three 2 s intervals since the last renewal, plus watch and write latency.
      expect(elapsed).toBeLessThanOrEqual(6_000 + 3_000);
      // READY and OVS say Unknown; GROUPS..INVALID are the agent's last word.
      expect(shown[6]).toBe('Unknown');
      expect((await row('node-a'))[1]).toBe('True');
      expect((await row('node-c'))[1]).toBe('True');
      const reason = (await lab.cp.kubectl('get', 'vns', 'node-b', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}')).stdout;
      expect(reason).toBe('AgentNotReporting');
      await waitFor('heartbeat-probe 1/2', async () => ((await probeReady()) === '1/2' ? true : undefined), 10_000, 200);
      const status = await cli('lab', 'status', '--dir', dir);
      expect(status.stdout).toMatch(/^node-b\/agent\s+\d+\s+running, not ready: AgentNotReporting/m);
    } finally {
      process.kill(agentB.pid!, 'SIGCONT');
    }
    await waitFor('node-b Ready again', async () => ((await row('node-b'))[1] === 'True' ? true : undefined), 30_000, 200);
    await waitFor('heartbeat-probe 2/2 again', async () => ((await probeReady()) === '2/2' ? true : undefined), 10_000, 200);
    expect(pidRunning(agentB.pid!)).toBe(true);
    await lab.cp.kubectl('delete', 'vg', 'heartbeat-probe');
  }, 90_000);

  it('removes the VtepNodeState of a deleted Node, and `lab status` reports it', async () => {
    await lab.cp.kubectl('delete', 'node', 'node-c');
    await waitFor('vns/node-c to be gone', async () => {
      const { stdout } = await lab.cp.kubectl('get', 'vns', '-o', 'jsonpath={.items[*].metadata.name}');
      return stdout.split(/\s+/).includes('node-c') ? undefined : true;
    }, 60_000, 250);
    const rows = await lab.processes();
    expect(rows.find((r) => r.name === 'node-c/agent')?.detail).toMatch(/Node node-c was deleted/);
    const status = await cli('lab', 'status', '--dir', dir);
    expect(status.stdout).toMatch(/^node-c\/agent\s+\d+\s+running, Node node-c was deleted/m);
    expect(status.stdout).not.toMatch(/^node-c\s+True/m);
  }, 120_000);

  it('`lab up` again on the running lab is safe: it reuses what runs and restarts a dead agent, bgpd and gobgpd', async () => {
    const before = await lab.processes();
    // A dead agent, a dead bgpd (its zebra is restarted with it) and a dead gobgpd.
    const killed = ['node-b/agent', 'node-b/bgpd', 'node-c/gobgpd'].map((n) => before.find((r) => r.name === n)!);
    for (const k of killed) process.kill(k.pid!, 'SIGKILL');
    await waitFor('the killed processes to be gone', () => (killed.some((k) => pidRunning(k.pid!)) ? undefined : true), 10_000);
    const again = await cli('lab', 'up', '--dir', dir);
    // node-c's Node object was deleted above: up recreates it and converges again.
    expect(again.stderr).toMatch(/reusing the running lab/);
    expect(again.stderr).toMatch(/node-b: starting the agent/);
    expect(again.stderr).toMatch(/node-b: starting FRR/);
    expect(again.stderr).toMatch(/node-c: starting gobgpd/);
    // And it waited for BGP and the multihomed service again.
    expect(again.stderr).toMatch(/EVPN converged/);
    expect(again.code).toBe(0);
    const after = await lab.processes();
    const restartedNames = [...killed.map((k) => k.name), 'node-b/zebra'];
    for (const r of before.filter((x) => !restartedNames.includes(x.name))) expect(after.find((x) => x.name === r.name)?.pid, r.name).toBe(r.pid);
    for (const k of killed) {
      const now = after.find((x) => x.name === k.name)!;
      expect(now.running, k.name).toBe(true);
      expect(now.pid, k.name).not.toBe(k.pid);
    }
    expect(again.stdout).toMatch(/^node-c\s+True/m);
    // The samples are created only where missing: the weight patched above stays.
    const { stdout } = await lab.cp.kubectl('get', 'vg', 'web-ecmp', '-o', 'jsonpath={.spec.vteps[*].weight}');
    expect(stdout.trim()).toBe('3 3');
  }, 240_000);

  it('`lab down` leaves nothing behind: no process, namespace or file', async () => {
    const pids = (await lab.processes()).map((r) => r.pid).filter((p): p is number => p !== undefined);
    // 19 processes of the Kubernetes and Open vSwitch side, 6 of FRR, 2 gobgpd.
    expect(pids.length).toBeGreaterThanOrEqual(27);
    const down = await cli('lab', 'down', '--dir', dir);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/removed/);
    expect(pids.filter((p) => pidRunning(p))).toEqual([]);
    expect(pidsUsing(dir)).toEqual([]);
    for (const n of lab.nodes) expect(NetworkNamespace.exists(lab.netns(n))).toBe(false);
    expect(NetworkNamespace.exists(controlNetnsName(lab.record.netnsPrefix))).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(lab.layout.runDir)).toBe(false);
    const again = await cli('lab', 'status', '--dir', dir);
    expect(again.stdout).toMatch(/no lab in/);
  }, 120_000);
});
