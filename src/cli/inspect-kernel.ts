import { spawn } from 'node:child_process';
import { UsageError, type InspectTarget } from './command.js';
import { parseFlags } from './flags.js';
import { familyName, fdbFlagNames, fdbStateNames, IFF_UP, NUD_NOARP, NUD_PERMANENT, protocolName, RtnetlinkClient, type FdbEntry, type Link, type Nexthop } from '../lib/rtnetlink/index.js';
import { OWNER_ALIAS_PREFIX, ownerAlias } from '../agent/engine/nodes/devices.js';

/**
 * The `inspect kernel --json` document: iproute2's vocabulary, one object per kernel object.
 *
 * Besides nexthops and the VXLAN devices' FDB: the devices the agent owns
 * (kernel.manage: VXLAN devices, their bridges and access ports, marked with
 * the alias `evpn-ecmp:<role>`, src/agent/engine/nodes/devices.ts) and the
 * local MACs it exported — static entries on its access ports, which an
 * EVPN control plane such as FRR's zebra advertises as type-2 routes.
 */
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
    /** The bridge of a `master` entry (NDA_MASTER), e.g. zebra's `extern_learn master <bridge>` twin of a remote MAC. */
    master?: string;
  }[];
  links: { ifindex: number; name: string; kind: string; vni?: number; local?: string; port?: number; alias?: string }[];
  /** Every device with the agent's ownership alias. */
  devices: { ifindex: number; name: string; kind: string; alias: string; master?: string; up: boolean }[];
  /** Exported local MACs: static bridge entries on the agent's access ports (`bridge fdb add MAC dev evpa-<VNI> master static`). */
  local: { mac: string; ifindex: number; dev: string; master: string; vlan?: number; state: string[] }[];
}

/** Reads nexthops, VXLAN links and their FDB entries, the agent's devices and its exported MACs through the library, as the agent sees them. */
export async function readKernelView(client: RtnetlinkClient): Promise<KernelView> {
  const all = await client.listLinks();
  const names = new Map(all.map((l) => [l.ifindex, l.name]));
  const links = all.filter((l) => l.kind === 'vxlan');
  const byIndex = new Map<number, Link>(links.map((l) => [l.ifindex, l]));
  const owned = all.filter((l) => l.alias?.startsWith(OWNER_ALIAS_PREFIX));
  const accessPorts = new Map(owned.filter((l) => l.alias === ownerAlias('access')).map((l) => [l.ifindex, l]));
  const nexthops = await client.listNexthops();
  // One dump of every AF_BRIDGE entry, filtered here, instead of one dump per device.
  const entries = await client.listFdb();
  const fdb = entries.filter((e) => byIndex.has(e.ifindex));
  // The agent writes static (NUD_NOARP) bridge entries there; the port's own
  // address (permanent) and its multicast list (self) are the kernel's.
  const exported = entries.filter((e) => accessPorts.has(e.ifindex) && e.master !== undefined && (e.state & NUD_NOARP) !== 0 && (e.state & NUD_PERMANENT) === 0);
  return {
    nexthops: nexthops.map(viewNexthop),
    fdb: fdb.map((e) => viewFdb(e, byIndex.get(e.ifindex)!, names)),
    links: links.map((l) => {
      const v: KernelView['links'][number] = { ifindex: l.ifindex, name: l.name, kind: l.kind ?? '' };
      if (l.vxlan?.vni !== undefined && !l.vxlan.external) v.vni = l.vxlan.vni;
      if (l.vxlan?.local !== undefined) v.local = l.vxlan.local;
      if (l.vxlan?.port !== undefined) v.port = l.vxlan.port;
      if (l.alias) v.alias = l.alias;
      return v;
    }),
    devices: owned.map((l) => {
      const v: KernelView['devices'][number] = { ifindex: l.ifindex, name: l.name, kind: l.kind ?? '', alias: l.alias!, up: (l.flags & IFF_UP) !== 0 };
      if (l.master !== undefined) v.master = names.get(l.master) ?? String(l.master);
      return v;
    }),
    local: exported.map((e) => {
      const v: KernelView['local'][number] = { mac: e.mac, ifindex: e.ifindex, dev: accessPorts.get(e.ifindex)!.name, master: names.get(e.master!) ?? String(e.master), state: fdbStateNames(e.state) };
      if (e.vlan !== undefined) v.vlan = e.vlan;
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

function viewFdb(e: FdbEntry, dev: Link, names: ReadonlyMap<number, string>): KernelView['fdb'][number] {
  const v: KernelView['fdb'][number] = { mac: e.mac, ifindex: e.ifindex, dev: dev.name, flags: fdbFlagNames(e.flags), state: fdbStateNames(e.state) };
  if (e.vni !== undefined) v.vni = e.vni;
  if (e.dst !== undefined) v.dst = e.dst;
  if (e.nhid !== undefined) v.nhid = e.nhid;
  if (e.master !== undefined) v.master = names.get(e.master) ?? String(e.master);
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
    parts.push(...e.flags);
    if (e.master !== undefined) parts.push(`master ${e.master}`);
    parts.push(...e.state);
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
  lines.push('', `the agent's devices (${view.devices.length}):`);
  for (const d of view.devices) {
    const parts = [`  ${d.ifindex}: ${d.name} ${d.kind}`];
    if (d.master !== undefined) parts.push(`master ${d.master}`);
    parts.push(d.up ? 'up' : 'down', `alias ${d.alias}`);
    lines.push(parts.join(' '));
  }
  lines.push('', `exported local MACs, on the agent's access ports (${view.local.length}):`);
  for (const e of view.local) {
    const parts = [`  ${e.mac} dev ${e.dev}`];
    if (e.vlan !== undefined) parts.push(`vlan ${e.vlan}`);
    parts.push(`master ${e.master}`, ...e.state);
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
  summary: "nexthops, VXLAN FDB entries and links, the agent's devices and exported local MACs, as the agent decodes them",
  usage: [
    'evpn-ecmp inspect kernel [--netns NAME] [--json]',
    '  --netns NAME  read the named network namespace (runs under `ip netns exec NAME`)',
    '  --json        print {nexthops, fdb, links, devices, local} as JSON (iproute2 field names)',
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
