/**
 * The real EVPN control plane in the lab: FRR (zebra + bgpd) in every node
 * namespace, a service multihomed on node-b and node-c behind one Ethernet
 * Segment and announced by gobgpd from inside those nodes. node-a's zebra
 * installs the service's MAC as an fdb nexthop group; node-a's agent
 * mirrors it (mirrorLearned) into a select group; traffic splits; and the
 * control plane's failures and restarts reach Open vSwitch as they should.
 *
 * These tests run on the lab of test/integration/lab/lab.test.ts (one lab
 * for both: a lab is the heaviest thing the suite starts), in order, on a
 * freshly converged lab, and leave it as they found it. Times are measured
 * from the daemons' own clocks (zebra's log, `ip -ts monitor`,
 * ovs-vswitchd's vconn log) and printed.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../../src/lab/lab.js';
import { MULTIHOMED_SERVICE, underlayAddress, workloadPorts } from '../../../src/lab/layout.js';
import { findNodeDaemon } from '../../../src/lab/node.js';
import { frrPaths, stopFrr, vtysh } from '../../../src/lab/frr.js';
import { multihomedPaths, remoteMacs } from '../../../src/lab/evpn-status.js';
import { NetworkNamespace } from '../../../src/lab/netns.js';
import type { OvsInstance } from '../../../src/lab/ovs-instance.js';
import type { TestLab } from '../../harness/lab.js';
import { bucketsOfLine, vtepShares } from '../../harness/slots.js';
import { dstMac, flowFrame, flowIndex, inject, pcapFrames, txPackets, vxlanFrames, waitFor } from '../lab/traffic.js';
import { ZERO_MAC, floodList } from '../lab/kernel.js';
import { KernelMonitor, OvsMessageLog, flowModsFor, groupMods, zebraLog, type OfMessage } from './observe.js';

const MH = MULTIHOMED_SERVICE.mac;
const B = underlayAddress('node-b');
const C = underlayAddress('node-c');
const CLIENT_MAC = workloadPorts('node-a').find((p) => p.name === 'vm1')!.mac;
const K = 2_000;

interface Nexthop {
  id: number;
  gateway?: string;
  protocol?: string;
  fdb?: null;
  group?: { id: number }[];
}
interface FdbEntry {
  mac: string;
  nhid?: number;
  dst?: string;
  flags?: string[];
  state?: string;
  master?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the tests (inside the lab test's describe, where `testLab()` is up). */
export function multihomingTests(testLab: () => TestLab): void {
  describe('EVPN multihoming with FRR and GoBGP', () => {
    let t: TestLab;
    let lab: Lab;
    let a: OvsInstance;
    let nsA: NetworkNamespace;
    /** zebra's fdb nexthop group for the service on node-a, and the agent's OpenFlow group for it. */
    let nhg = 0;
    let ofGroup = 0;
    /** Flow → VTEP before node-c failed. */
    let firstPaths = new Map<number, string>();

    const ms = (x: number) => `${Math.round(x)} ms`;

    /** The OpenFlow flow of the service MAC on node-a: its group, age and packets. */
    async function serviceFlow(): Promise<{ group: number; duration: number; packets: number } | undefined> {
      const { stdout } = await a.ofctl('dump-flows', 'br-evpn', `table=1,dl_dst=${MH}`);
      const line = stdout.split('\n').find((l) => l.includes(MH));
      const m = /duration=([\d.]+)s.*n_packets=(\d+).*group:(\d+)/.exec(line ?? '');
      return m ? { duration: Number(m[1]), packets: Number(m[2]), group: Number(m[3]) } : undefined;
    }

    /** VTEPs of an OpenFlow group on node-a, by share of buckets (empty when the group is gone). */
    async function ofGroupShares(groupId: number): Promise<Map<string, number>> {
      const { stdout } = await a.ofctl('dump-groups', 'br-evpn', `group_id=${groupId}`);
      const line = stdout.split('\n').find((l) => l.includes(`group_id=${groupId},`));
      return line === undefined ? new Map() : vtepShares(bucketsOfLine(line));
    }

    async function kernelGroup(id: number): Promise<Nexthop | undefined> {
      return (await nsA.ipJson<Nexthop>('nexthop', 'show')).find((n) => n.id === id);
    }

    /** Sends K flows from node-a's client to the service; returns each flow's VTEP, read off node-a's NIC. */
    async function round(offset = 0): Promise<Map<number, string>> {
      const nic = lab.layout.nicPcap('node-a');
      const base = vxlanFrames(nic).length;
      await inject(a, 'vm1', Array.from({ length: K }, (_, i) => flowFrame({ srcMac: CLIENT_MAC, dstMac: MH, index: offset + i })), { delivered: () => txPackets(a, 'br-underlay', 'nic0') });
      const frames = await waitFor(`${K} frames for ${MH} on node-a's NIC`, () => {
        const f = vxlanFrames(nic).slice(base).filter((v) => dstMac(v.inner) === MH && (flowIndex(v.inner) ?? -1) >= offset && flowIndex(v.inner)! < offset + K);
        return f.length >= K ? f : undefined;
      }, 30_000, 200);
      const paths = new Map<number, string>();
      for (const v of frames) {
        expect(v.vni).toBe(MULTIHOMED_SERVICE.vni);
        paths.set(flowIndex(v.inner)! - offset, v.outerDstIp);
      }
      return paths;
    }

    function share(paths: Map<number, string>, vtep: string): number {
      return [...paths.values()].filter((v) => v === vtep).length / paths.size;
    }

    beforeAll(() => {
      t = testLab();
      lab = t.lab;
      a = lab.nodeOvs('node-a');
      nsA = NetworkNamespace.existing(lab.netns('node-a'))!;
    });

    it("zebra installs the service as an fdb nexthop group of node-b and node-c, and node-a's agent mirrors it into a select group", async () => {
      const fdb = await nsA.bridgeJson<FdbEntry>('fdb', 'show', 'dev', 'evpn-100');
      const entry = fdb.find((e) => e.mac === MH && e.nhid !== undefined);
      expect(entry, JSON.stringify(fdb)).toBeDefined();
      // zebra's kind of entry: extern_learn, not the agent's static one.
      expect(entry!.flags).toContain('extern_learn');
      expect(entry!.state ?? '').not.toContain('static');
      nhg = entry!.nhid!;
      const group = await kernelGroup(nhg);
      expect(group?.group).toHaveLength(2);
      // zebra's nexthops: protocol unspec, outside the agent's id range (0xec000000…).
      expect(group!.protocol ?? 'unspec').toBe('unspec');
      expect(nhg).toBeLessThan(0xec000000);
      expect(await multihomedPaths(lab.netns('node-a'))).toEqual([B, C]);
      // Type-3 routes: the flood list of VNI 200 (no VtepGroup names it) comes from FRR alone.
      const flood200 = (await nsA.bridgeJson<FdbEntry>('fdb', 'show', 'dev', 'evpn-200')).filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst).sort();
      expect(flood200).toEqual([B, C]);
      // The hosts of the service do not learn it from each other (iBGP without reflection).
      expect(await multihomedPaths(lab.netns('node-b'))).toBeUndefined();

      const flow = await serviceFlow();
      expect(flow).toBeDefined();
      ofGroup = flow!.group;
      expect(Object.fromEntries(await ofGroupShares(ofGroup))).toEqual({ [B]: 0.5, [C]: 0.5 });
      const { stdout } = await lab.cp.kubectl('get', 'vns', 'node-a', '-o', 'jsonpath={.status.learned.ecmp}');
      expect(Number(stdout)).toBe(1);
    });

    it("carries node-a's client traffic to the service on both node-b and node-c, split by the select group", async () => {
      // Native tunnelling resolves each VTEP's MAC by ARP on first use and drops
      // what it sends meanwhile: warm both paths up, then count.
      await inject(a, 'vm1', Array.from({ length: 64 }, (_, i) => flowFrame({ srcMac: CLIENT_MAC, dstMac: MH, index: 60_000 + i })));
      await waitFor('ARP for both VTEPs', async () => {
        const { stdout } = await a.appctl('tnl/neigh/show');
        return stdout.includes(B) && stdout.includes(C) ? true : undefined;
      }, 10_000);
      await sleep(300);
      const mhB = lab.layout.portPcap('node-b', MULTIHOMED_SERVICE.port);
      const mhC = lab.layout.portPcap('node-c', MULTIHOMED_SERVICE.port);
      const base = { b: pcapFrames(mhB).length, c: pcapFrames(mhC).length };
      firstPaths = await round();
      const arrived = await waitFor(`${K} frames on the mh ports of node-b and node-c`, () => {
        const atB = pcapFrames(mhB).slice(base.b).filter((f) => dstMac(f) === MH);
        const atC = pcapFrames(mhC).slice(base.c).filter((f) => dstMac(f) === MH);
        return atB.length + atC.length >= K ? { atB, atC } : undefined;
      }, 30_000, 200);
      const idx = (frames: Buffer[]) => new Set(frames.map((f) => flowIndex(f)));
      const atB = idx(arrived.atB);
      const atC = idx(arrived.atC);
      // Each flow arrives once, at the node node-a sent it to.
      expect(atB.size + atC.size).toBe(K);
      for (const [i, vtep] of firstPaths) expect(vtep === B ? atB.has(i) : atC.has(i)).toBe(true);
      const b = share(firstPaths, B);
      process.stdout.write(`frr multihoming traffic: ${K} flows, node-b ${(b * 100).toFixed(1)} %, node-c ${((1 - b) * 100).toFixed(1)} % (equal paths)\n`);
      expect(Math.abs(b - 0.5)).toBeLessThanOrEqual(0.05);
    }, 120_000);

    it("node-c's BGP speakers stop: zebra shrinks the group in place and the agent applies exactly one group modify", async () => {
      const monitor = await KernelMonitor.start(lab.netns('node-a'));
      const ovsLog = await OvsMessageLog.start(a);
      const flowBefore = (await serviceFlow())!;
      try {
        const t0 = Date.now();
        const stopped = await lab.stopEvpn('node-c');
        expect(stopped.map((s) => s.split(' ')[0])).toEqual(['node-c/gobgpd', 'node-c/bgpd', 'node-c/zebra']);
        await waitFor('the select group with node-b only', async () => {
          const s = await ofGroupShares(ofGroup);
          return s.size === 1 && s.get(B) === 1 ? true : undefined;
        }, 30_000, 20);
        await sleep(1_500); // anything else this change causes, before counting
        const messages = ovsLog.received();

        // Kernel: the same group, now with node-b alone; the FDB entry untouched.
        const group = await kernelGroup(nhg);
        expect(group?.group).toHaveLength(1);
        expect(await multihomedPaths(lab.netns('node-a'))).toEqual([B]);
        expect(monitor.since(t0).filter((e) => e.text.includes(MH)), 'FDB events for the service MAC').toEqual([]);
        // Flood lists: zebra withdrew node-c's type-3 routes. VNI 200 (no
        // VtepGroup names it) loses node-c; VNI 100 keeps it: web-ecmp names
        // node-c, and the agent appends once what zebra deleted.
        expect(await floodList(lab, 'node-a', 'evpn-200')).toEqual([B]);
        expect(await floodList(lab, 'node-a', 'evpn-100')).toEqual([B, C]);
        const flood100 = monitor.since(t0).filter((e) => e.text.includes(`${C} dev evpn-100 lladdr ${ZERO_MAC}`));
        expect(flood100.map((e) => (e.text.startsWith('Deleted') ? 'deleted (zebra)' : 'added (agent)'))).toEqual(['deleted (zebra)', 'added (agent)']);
        // node-c's own MACs (type-2 from its FRR) are gone from node-a's kernel.
        expect([...(await remoteMacs(lab.netns('node-a'), 100)).values()]).not.toContain(C);
        const shrink = monitor.since(t0).find((e) => e.text.startsWith(`id ${nhg} group `));
        expect(shrink, monitor.since(t0).map((e) => e.text).join('\n')).toBeDefined();

        // OVS: one MOD of the service's group, no flow mod for its MAC, the flow kept its age and counters.
        const mods = groupMods(messages, ofGroup);
        expect(mods.map((m) => m.command)).toEqual(['MOD']);
        expect(flowModsFor(messages, MH)).toEqual([]);
        const flowAfter = (await serviceFlow())!;
        expect(flowAfter.group).toBe(ofGroup);
        expect(flowAfter.duration).toBeGreaterThanOrEqual(flowBefore.duration);
        expect(flowAfter.packets).toBeGreaterThanOrEqual(flowBefore.packets);

        // Time from the kernel change to Open vSwitch having it. The change is
        // zebra's write, as its log stamps it (ms); `ip monitor` stamps what
        // it reads, late by its own scheduling, and is shown beside it.
        const written = zebraWrite(lab, t0, 1);
        const commit = committedAt(messages, mods[0]!.at);
        const others = messages.filter((m) => m.type === 'OFPT_GROUP_MOD' && !groupMods([m], ofGroup).length).map((m) => /\n\s*(\w+ group_id=\d+,type=\w+)/.exec(m.text)?.[1]);
        process.stdout.write(
          `frr node-c down: zebra wrote the one-path group at +${ms(written - t0)} (ip monitor read it at +${ms(shrink!.at - t0)}), ` +
            `OVS committed the agent's group MOD at +${ms(commit - t0)}: kernel → OVS ${ms(commit - written)}; ` +
            `zebra deleted the flood entry for node-c at +${ms(flood100[0]!.at - t0)}, the agent put it back at +${ms(flood100[1]!.at - t0)}; ` +
            `other group mods in the same change: ${others.join('; ') || 'none'}\n`,
        );
        expect(commit - written).toBeGreaterThanOrEqual(0);
        expect(commit - written).toBeLessThan(1_000);

        // Traffic: every flow now goes to node-b; those that went there still do.
        const after = await round();
        expect(share(after, B)).toBe(1);
      } finally {
        await monitor.stop();
        await ovsLog.stop(a);
      }
    }, 120_000);

    it('they start again: the group grows back to node-b and node-c in place, one group modify, flows return to their VTEP', async () => {
      const monitor = await KernelMonitor.start(lab.netns('node-a'));
      const ovsLog = await OvsMessageLog.start(a);
      try {
        const t0 = Date.now();
        await lab.startEvpn('node-c');
        const started = Date.now();
        await waitFor('the kernel group with node-b and node-c', async () => ((await kernelGroup(nhg))?.group?.length === 2 ? true : undefined), 60_000, 20);
        const kernelAt = Date.now();
        await waitFor('the select group with node-b and node-c', async () => ((await ofGroupShares(ofGroup)).size === 2 ? true : undefined), 10_000, 20);
        // node-c's type-3 route is back: so is node-c in VNI 200's flood list.
        await waitFor("node-c in VNI 200's flood list", async () => ((await floodList(lab, 'node-a', 'evpn-200')).join() === [B, C].join() ? true : undefined), 30_000, 50);
        await sleep(1_500);
        const messages = ovsLog.received();
        const mods = groupMods(messages, ofGroup);
        expect(mods.map((m) => m.command)).toEqual(['MOD']);
        expect(flowModsFor(messages, MH)).toEqual([]);
        const grow = monitor.since(t0).find((e) => e.text.startsWith(`id ${nhg} group `) && e.text.split('/').length === 2)!;
        expect(grow).toBeDefined();
        const commit = committedAt(messages, mods[0]!.at);
        const written = zebraWrite(lab, t0, 2);
        process.stdout.write(
          `frr node-c up again: speakers started in ${ms(started - t0)}; zebra wrote the two-path group ${ms(written - started)} after that ` +
            `(ip monitor read it at +${ms(grow.at - started)}, the test saw it at +${ms(kernelAt - started)}); OVS committed the agent's MOD ${ms(commit - written)} after zebra's write\n`,
        );
        expect(commit - written).toBeGreaterThanOrEqual(0);
        expect(commit - written).toBeLessThan(1_000);
        const again = await round();
        const same = [...firstPaths].filter(([i, v]) => again.get(i) === v).length;
        process.stdout.write(`frr node-c up again: ${same} of ${K} flows on the VTEP they had before the failure\n`);
        expect(Math.abs(share(again, B) - 0.5)).toBeLessThanOrEqual(0.05);
        expect(same).toBe(K);
      } finally {
        await monitor.stop();
        await ovsLog.stop(a);
      }
    }, 120_000);

    it("node-a's agent restarts while FRR keeps running: nothing is deleted or re-added, in the kernel or in OVS", async () => {
      const monitor = await KernelMonitor.start(lab.netns('node-a'));
      const ovsLog = await OvsMessageLog.start(a);
      const flowBefore = (await serviceFlow())!;
      try {
        const t0 = Date.now();
        const agentLog = join(lab.layout.nodeDir('node-a'), 'agent.log');
        const logSize = statSync(agentLog).size;
        const agent = findNodeDaemon(lab.layout, 'node-a', 'agent')!;
        await agent.stop(5_000);
        ovsLog.mark(); // the old agent's goodbye is not the new one's work
        await Lab.up({ dir: t.dir });
        const restarted = findNodeDaemon(lab.layout, 'node-a', 'agent')!;
        expect(restarted.pid).not.toBe(agent.pid);
        // `lab up` returns on the VtepNodeState's Ready, which the old agent
        // wrote: wait for the new one's own word that its first sync is done,
        // then give it a moment more to do anything it would.
        await waitFor('the restarted agent\'s first sync', () => (readFileSync(agentLog, 'utf8').slice(logSize).includes('first sync done') ? true : undefined), 60_000, 100);
        await sleep(2_000);
        const messages = ovsLog.received();
        // The new agent read the bridge (so the log is the new agent's), and wrote nothing.
        expect(messages.map((m) => m.type)).toEqual(expect.arrayContaining(['OFPST_GROUP_DESC', 'OFPST_FLOW']));
        const writes = messages.filter((m) => m.type === 'OFPT_GROUP_MOD' || m.type === 'OFPT_FLOW_MOD');
        expect(writes.map((m) => m.text), 'OpenFlow writes of the restarted agent').toEqual([]);
        expect(monitor.since(t0).map((e) => e.text), 'kernel changes while the agent restarted').toEqual([]);
        const flowAfter = (await serviceFlow())!;
        expect(flowAfter.group).toBe(ofGroup);
        expect(flowAfter.duration).toBeGreaterThanOrEqual(flowBefore.duration);
        process.stdout.write(`frr agent restart: new agent ready, ${messages.length} OpenFlow messages (reads only), no kernel change\n`);
      } finally {
        await monitor.stop();
        await ovsLog.stop(a);
      }
    }, 180_000);

    it("node-a's FRR restarts while the agent runs: the service comes back; the window without its flow is measured", async () => {
      const monitor = await KernelMonitor.start(lab.netns('node-a'));
      // The way back: node-a's own MACs leave node-b's kernel when node-a's bgpd goes, and come back.
      const monitorB = await KernelMonitor.start(lab.netns('node-b'));
      const ovsLog = await OvsMessageLog.start(a);
      try {
        const t0 = Date.now();
        await stopFrr(lab.layout, 'node-a');
        const stoppedAt = Date.now();
        await lab.startEvpn('node-a');
        const startedAt = Date.now();
        await waitFor('the service back in node-a\'s kernel with both paths', async () => ((await multihomedPaths(lab.netns('node-a')))?.length === 2 ? true : undefined), 60_000, 20);
        const flow = await waitFor('the service flow back in OVS', async () => {
          const f = await serviceFlow();
          return f && (await ofGroupShares(f.group)).size === 2 ? f : undefined;
        }, 10_000, 20);
        await sleep(1_000);
        const messages = ovsLog.received();
        const flowMods = flowModsFor(messages, MH);
        const kernel = monitor.since(t0).filter((e) => e.text.includes(MH));
        const firstDel = flowMods.find((m) => /DEL/.test(m.text));
        const lastAdd = [...flowMods].reverse().find((m) => / ADD /.test(m.text));
        const kDel = kernel.find((e) => e.text.startsWith('Deleted'));
        const kAdd = [...kernel].reverse().find((e) => !e.text.startsWith('Deleted'));
        const ovsWindow = firstDel && lastAdd ? lastAdd.at - firstDel.at : 0;
        const kernelWindow = kDel && kAdd ? kAdd.at - kDel.at : 0;
        process.stdout.write(
          `frr node-a restart: FRR stopped in ${ms(stoppedAt - t0)}, started in ${ms(startedAt - stoppedAt)}; zebra removed the service on exit: ${kDel ? 'yes' : 'no'}; ` +
            `kernel without the entry ${ms(kernelWindow)}, OVS without the flow ${ms(ovsWindow)} ` +
            `(flow mods: ${flowMods.map((m) => /\): (\w+) /.exec(m.text)?.[1]).join(', ') || 'none'}); ` +
            `flow back ${ms((lastAdd?.at ?? startedAt) - startedAt)} after FRR started\n`,
        );
        // The window is what it is (zebra withdraws its entries when it stops);
        // the agent must follow both ways, and end where it started.
        if (kDel) expect(firstDel, 'the agent removes the flow of an entry zebra removed').toBeDefined();
        expect(flow.group).toBeGreaterThan(0);
        const after = await round(10_000);
        expect(share(after, B)).toBeGreaterThan(0.3);
        expect(share(after, C)).toBeGreaterThan(0.3);

        // node-a's agent kept its exported entries (FRR's restart is not its
        // business), the new zebra read them again, and node-b has the client back.
        expect((await nsA.bridgeJson<FdbEntry>('fdb', 'show', 'dev', 'evpa-100')).some((e) => e.mac === CLIENT_MAC && e.state === 'static')).toBe(true);
        // (ip monitor prints a bridge FDB entry as `[Deleted ][DST ]dev DEV lladdr MAC ...`.)
        expect(monitor.since(t0).filter((e) => e.text.includes(`dev evpa-100 lladdr ${CLIENT_MAC}`)), "changes to node-a's exported entry").toEqual([]);
        await waitFor("node-a's client back in node-b's kernel", async () => ((await remoteMacs(lab.netns('node-b'), 100)).get(CLIENT_MAC) === underlayAddress('node-a') ? true : undefined), 30_000, 50);
        const onB = monitorB.since(t0).filter((e) => e.text.includes(`${underlayAddress('node-a')} dev evpn-100 lladdr ${CLIENT_MAC}`));
        const bDel = onB.find((e) => e.text.startsWith('Deleted'));
        const bAdd = [...onB].reverse().find((e) => !e.text.startsWith('Deleted'));
        process.stdout.write(
          `frr node-a restart: node-b's kernel without node-a's client MAC (the way back) ${bDel && bAdd ? ms(bAdd.at - bDel.at) : 'never'}, back ${bAdd ? ms(bAdd.at - startedAt) : '?'} after node-a's FRR started\n`,
        );
      } finally {
        await monitor.stop();
        await monitorB.stop();
        await ovsLog.stop(a);
      }
    }, 180_000);

    it('FRR cannot announce the Ethernet Segment here: no bond driver, and zebra refuses an ES on other interfaces', async () => {
      const nsB = NetworkNamespace.existing(lab.netns('node-b'))!;
      const bond = await nsB.ip('link', 'add', 'bond0', 'type', 'bond').then(() => 'created', (e: Error) => e.message);
      const esOnVeth = await vtysh(lab.layout, 'node-b', 'configure terminal', 'interface ctl0', 'evpn mh es-id 1').catch((e: Error) => e.message);
      process.stdout.write(`frr limits: ip link add type bond -> ${bond.split('\n').pop()}; zebra on ctl0 -> ${esOnVeth.trim()}\n`);
      // The day a kernel here has bonding, FRR itself can announce the segment: this test says so.
      expect(bond).toMatch(/Unknown device type/);
      expect(esOnVeth).toMatch(/ESI cannot be associated with this interface type/);
    });
  });
}

/** When node-a's zebra wrote its service group with `members` members since `since` (its log line, ms). */
function zebraWrite(lab: Lab, since: number, members: number): number {
  const line = zebraLog(frrPaths(lab.layout, 'node-a').logFile('zebra'), since - 50).find((l) => {
    const m = /^Tx RTM_NEWNEXTHOP fdb-nhg \S+((?: \d+)+)\s*$/.exec(l.text);
    return m !== null && m[1]!.trim().split(/\s+/).length === members;
  });
  if (!line) throw new Error(`no "Tx RTM_NEWNEXTHOP fdb-nhg" line with ${members} members in node-a's zebra.log`);
  return line.at;
}

/** When the bundle holding a message was committed (the first COMMIT_REQUEST at or after it). */
function committedAt(messages: readonly OfMessage[], at: number): number {
  return messages.find((m) => m.type === 'OFPT_BUNDLE_CONTROL' && m.at >= at && m.text.includes('COMMIT_REQUEST'))?.at ?? at;
}
