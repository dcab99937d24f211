/**
 * B10 — end to end in the lab (src/lab: a real kube-apiserver and etcd, the
 * operator, three nodes each with its agent, Open vSwitch and FRR): many
 * single-MAC VtepGroups selecting the two server nodes, created at once
 * (8 requests in flight: `kubectl create -f` of a List sends them one at a
 * time, ~47 ms each here, and the system keeps up with that pace) and
 * deleted with one deletecollection request.
 *
 *  - created → every group reads `2/2` (goal ≤ 5 s, from the last create's
 *    answer; from the first is in the note);
 *  - deleted → both nodes' kernels hold none of the groups' FDB entries or
 *    fdb nexthop groups (goal ≤ 5 s, from the deletecollection's answer;
 *    from its start is in the note).
 *
 * The lab's processes run the compiled CLI, as the other benchmarks do.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../src/lab/lab.js';
import { KubeClient, ResourceApi } from '../src/operator/kube/client.js';
import { inParallel } from '../test/harness/parallel.js';
import { CLI, cpuSecondsOf, until } from './lib/daemon.js';
import type { Figure } from './lib/report.js';
import type { Scale } from './lib/scale.js';

const LABEL = 'bench.evpn.ecmp.dev/b10';
const SERVERS = ['node-b', 'node-c'];
/** A prefix no lab workload or sample uses, so the kernels' entries of these groups can be counted. */
const MAC_PREFIX = '02:10:';

function macOf(i: number): string {
  const hex = (i + 1).toString(16).padStart(8, '0');
  return `${MAC_PREFIX}${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`;
}

/** Group i: two VTEPs, node-a's and one of the benchmarking range (RFC 2544), weights 3:1. */
interface GroupObject {
  apiVersion?: string;
  kind?: string;
  spec?: object;
  metadata: { name: string; labels?: Record<string, string> };
  status?: { ready?: string };
}

function groupOf(i: number): GroupObject {
  return {
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepGroup',
    metadata: { name: `b10-${String(i).padStart(4, '0')}`, labels: { [LABEL]: 'true' } },
    spec: {
      fabric: 'default',
      vni: 100,
      vteps: [{ ip: '192.0.2.1', weight: 3 }, { ip: `198.19.0.${(i % 32) + 1}`, weight: 1 }],
      macs: [macOf(i)],
      nodeSelector: { matchLabels: { 'lab.evpn.ecmp.dev/role': 'server' } },
    },
  };
}

/** This benchmark's FDB entries in a node's kernel. */
function kernelEntries(netns: string): number {
  const out = execFileSync('bridge', ['-n', netns, 'fdb', 'show'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return out.split('\n').filter((l) => l.startsWith(MAC_PREFIX)).length;
}

/** fdb nexthop groups in a node's kernel (the agent's and zebra's). */
function nexthopGroups(netns: string): number {
  const out = execFileSync('ip', ['-n', netns, 'nexthop', 'show', 'fdb'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return out.split('\n').filter((l) => l.includes(' group ')).length;
}

export async function benchLab(scale: Scale): Promise<Figure[]> {
  const count = scale.name === 'full' ? 1_000 : 20;
  const dir = mkdtempSync(join(tmpdir(), 'evpn-b10-'));
  const figures: Figure[] = [];
  try {
    const lab = await Lab.up({
      dir,
      cli: [process.execPath, CLI],
      netnsPrefix: `evb10-${process.pid}-`,
      convergenceTimeoutMs: 300_000,
    });
    const netns = SERVERS.map((n) => lab.netns(n));
    const groupsBefore = netns.map(nexthopGroups);
    const client = new KubeClient(lab.cp.kubeConfig);
    try {
      const groups = new ResourceApi<GroupObject>(client, '/apis/evpn.ecmp.dev/v1alpha1', 'vtepgroups');
      const readyCount = async () => (await groups.list({ labelSelector: LABEL })).items.filter((g) => g.status?.ready === '2/2').length;

      // Where the time goes: CPU seconds of the processes on the path, from the first create to all 2/2.
      const watched = (await lab.processes()).filter((p) => p.pid !== undefined && /^(kube-apiserver|etcd|operator|node-[bc]\/agent)$/.test(p.name));
      const cpu = () => watched.map((p) => cpuSecondsOf(p.pid!));
      const cpu0 = cpu();
      const pending = Array.from({ length: count }, (_, i) => groupOf(i));
      const t0 = performance.now();
      await inParallel(pending, 8, (g) => groups.create(g));
      const created = performance.now();
      await until(`${count} groups 2/2`, async () => (await readyCount()) === count, 120_000, 100);
      const readyAt = performance.now();
      const spent = cpu().map((c, i) => `${watched[i]!.name} ${(c - cpu0[i]!).toFixed(1)}`).join(', ');
      // What `2/2` claims, checked where it matters.
      const entries = netns.map(kernelEntries);
      if (entries.some((n) => n !== count)) throw new Error(`every group reads 2/2 but the server nodes' kernels hold ${entries.join(' and ')} of the ${count} entries`);
      figures.push({
        bench: 'B10', what: `lab: ${count.toLocaleString('en')} VtepGroups created → all 2/2`, ours: readyAt - created, unit: 'ms', goal: { on: 'value', max: 5000 },
        note: `from the last create's answer; ${Math.round(readyAt - t0)} ms from the first create (creating took ${Math.round(created - t0)} ms, 8 in flight); CPU seconds meanwhile: ${spent}`,
      });

      const d0 = performance.now();
      await client.request('DELETE', groups.collectionPath, { verb: 'delete', resource: 'vtepgroups', query: { labelSelector: LABEL }, timeoutMs: 120_000 });
      const deleted = performance.now();
      await until('the server nodes\' kernels clear', () => netns.every((ns, i) => kernelEntries(ns) === 0 && nexthopGroups(ns) <= groupsBefore[i]!), 120_000, 50);
      const clearAt = performance.now();
      figures.push({
        bench: 'B10', what: `lab: ${count.toLocaleString('en')} VtepGroups deleted → kernels clear`, ours: clearAt - deleted, unit: 'ms', goal: { on: 'value', max: 5000 },
        note: `from the deletecollection's answer (it took ${Math.round(deleted - d0)} ms; ${Math.round(clearAt - d0)} ms from its start); FDB entries and fdb nexthop groups on node-b and node-c`,
      });
    } finally {
      client.close();
    }
  } finally {
    await Lab.down(dir).catch((err: unknown) => process.stderr.write(`bench: B10 lab down: ${String(err)}\n`));
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
