import { spawn } from 'node:child_process';
import { UsageError, type InspectTarget } from './command.js';
import { parseFlags } from './flags.js';
import { familyName, fdbFlagNames, fdbStateNames, protocolName, RtnetlinkClient, type FdbEntry, type Link, type Nexthop } from '../lib/rtnetlink/index.js';

/** The `inspect kernel --json` document: iproute2's vocabulary, one object per kernel object. */
export interface KernelView {
  nexthops: {
    id: number;
    family: string;
    gateway?: string;
    fdb: boolean;
    group?: { id: number; weight: number }[];
    protocol: string;
  }[];
  fdb: {
    mac: string;
    ifindex: number;
    dev: string;
    vni?: number;
    dst?: string;
    nhid?: number;
    flags: string[];
    state: string[];
  }[];
  links: { ifindex: number; name: string; kind: string; vni?: number; local?: string; port?: number }[];
}

/** Reads nexthops, VXLAN links and their FDB entries through the library, as the agent sees them. */
export async function readKernelView(client: RtnetlinkClient): Promise<KernelView> {
  const links = (await client.listLinks()).filter((l) => l.kind === 'vxlan');
  const byIndex = new Map<number, Link>(links.map((l) => [l.ifindex, l]));
  const nexthops = await client.listNexthops();
  // One dump of every AF_BRIDGE entry, filtered here, instead of one dump per device.
  const fdb = (await client.listFdb()).filter((e) => byIndex.has(e.ifindex));
  return {
    nexthops: nexthops.map(viewNexthop),
    fdb: fdb.map((e) => viewFdb(e, byIndex.get(e.ifindex)!)),
    links: links.map((l) => {
      const v: KernelView['links'][number] = { ifindex: l.ifindex, name: l.name, kind: l.kind ?? '' };
      if (l.vxlan?.vni !== undefined && !l.vxlan.external) v.vni = l.vxlan.vni;
      if (l.vxlan?.local !== undefined) v.local = l.vxlan.local;
      if (l.vxlan?.port !== undefined) v.port = l.vxlan.port;
      return v;
    }),
  };
}

function viewNexthop(nh: Nexthop): KernelView['nexthops'][number] {
  const v: KernelView['nexthops'][number] = { id: nh.id, family: familyName(nh.family), fdb: nh.fdb, protocol: protocolName(nh.protocol) };
  if (nh.gateway !== undefined) v.gateway = nh.gateway;
  if (nh.group) v.group = nh.group.map((m) => ({ id: m.id, weight: m.weight }));
  return v;
}

function viewFdb(e: FdbEntry, dev: Link): KernelView['fdb'][number] {
  const v: KernelView['fdb'][number] = { mac: e.mac, ifindex: e.ifindex, dev: dev.name, flags: fdbFlagNames(e.flags), state: fdbStateNames(e.state) };
  if (e.vni !== undefined) v.vni = e.vni;
  if (e.dst !== undefined) v.dst = e.dst;
  if (e.nhid !== undefined) v.nhid = e.nhid;
  return v;
}

/** The same content as `ip nexthop show`, `bridge fdb show` and `ip -d link show type vxlan` would print it. */
export function formatKernelView(view: KernelView): string {
  const lines: string[] = [`nexthops (${view.nexthops.length}):`];
  for (const nh of view.nexthops) {
    const parts = [`  id ${nh.id}`];
    if (nh.group) parts.push(`group ${nh.group.map((m) => (m.weight === 1 ? `${m.id}` : `${m.id},${m.weight}`)).join('/')}`);
    if (nh.gateway !== undefined) parts.push(`via ${nh.gateway}`);
    if (nh.fdb) parts.push('fdb');
    if (nh.protocol !== 'unspec') parts.push(`proto ${nh.protocol}`);
    lines.push(parts.join(' '));
  }
  lines.push('', `fdb entries on vxlan devices (${view.fdb.length}):`);
  for (const e of view.fdb) {
    const parts = [`  ${e.mac} dev ${e.dev}`];
    if (e.dst !== undefined) parts.push(`dst ${e.dst}`);
    if (e.nhid !== undefined) parts.push(`nhid ${e.nhid}`);
    if (e.vni !== undefined) parts.push(`vni ${e.vni}`);
    parts.push(...e.flags, ...e.state);
    lines.push(parts.join(' '));
  }
  lines.push('', `vxlan links (${view.links.length}):`);
  for (const l of view.links) {
    const parts = [`  ${l.ifindex}: ${l.name}`];
    parts.push(l.vni !== undefined ? `vni ${l.vni}` : 'external');
    if (l.local !== undefined) parts.push(`local ${l.local}`);
    if (l.port !== undefined) parts.push(`dstport ${l.port}`);
    lines.push(parts.join(' '));
  }
  return lines.join('\n') + '\n';
}

/**
 * A Node process cannot enter another network namespace (setns would have to
 * move every thread), so `--netns` re-runs this same command under
 * `ip netns exec NAME`, which enters it before exec.
 */
function rerunInNetns(netns: string, args: string[]): Promise<number> {
  const self = [...process.execArgv, process.argv[1]!, 'inspect', 'kernel', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, ...self], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export const inspectKernelTarget: InspectTarget = {
  name: 'kernel',
  summary: 'nexthops, VXLAN FDB entries and VXLAN links, as the agent decodes them',
  usage: [
    'evpn-ecmp inspect kernel [--netns NAME] [--json]',
    '  --netns NAME  read the named network namespace (runs under `ip netns exec NAME`)',
    '  --json        print {nexthops, fdb, links} as JSON (iproute2 field names)',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseFlags(args, { netns: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.netns !== undefined) {
      if (!/^[A-Za-z0-9_.-]+$/.test(values.netns)) throw new UsageError(`--netns: "${values.netns}" is not a namespace name`);
      return rerunInNetns(values.netns, values.json ? ['--json'] : []);
    }
    const client = new RtnetlinkClient();
    try {
      const view = await readKernelView(client);
      process.stdout.write(values.json ? JSON.stringify(view, null, 2) + '\n' : formatKernelView(view));
      return 0;
    } finally {
      client.close();
    }
  },
};
