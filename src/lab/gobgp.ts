/**
 * The multihomed service's BGP speaker on node-b and node-c: Debian's
 * `gobgpd`, inside the node's network namespace, beside the node's FRR.
 *
 * Why not FRR: FRR 8.4 accepts an Ethernet Segment only on a bond interface
 * ("ESI cannot be associated with this interface type"), and the kernels
 * here have no bonding driver ("Unknown device type"), so FRR can receive
 * and install multihomed MACs but cannot announce them
 * (shared/reference/frr-evpn.md; README, "EVPN with FRR").
 *
 * gobgpd speaks from its own address (speakerAddress), listens on
 * GOBGP_PORT there and lets the bgpd of every node that does not host the
 * service dial in (passive mode: see GOBGP_PORT). The routes — EAD per ES, EAD per EVI, and the MAC/IP route
 * carrying the ESI — name the node's VTEP as nexthop and the VNI's route
 * target as FRR derives it (AS:VNI), and are added through its gRPC API on a
 * unix socket in the lab directory once gobgpd runs; they live in gobgpd's
 * memory, so a restarted gobgpd is given them again.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, waitForFile } from './daemon.js';
import { run } from './exec.js';
import { GOBGP_PORT, LAB_AS } from './frr.js';
import { MULTIHOMED_SERVICE, hostsMultihomedService, speakerAddress, underlayAddress, type LabLayout } from './layout.js';
import type { NetworkNamespace } from './netns.js';

/** RFC 7432 §8.2: the EAD-per-ES route carries the MAX-ET Ethernet tag. */
const MAX_ET = 4294967295;

export interface GobgpPaths {
  config: string;
  api: string;
  logFile: string;
  pidFile: string;
}

export function gobgpPaths(layout: LabLayout, node: string): GobgpPaths {
  const dir = layout.nodeDir(node);
  return { config: join(dir, 'gobgpd.toml'), api: join(dir, 'gobgpd.sock'), logFile: join(dir, 'gobgpd.log'), pidFile: join(dir, 'gobgpd.pid') };
}

/** gobgpd's TOML config: AS, router id and source address, one EVPN neighbor per node that does not host the service. */
export function gobgpConfig(node: string, nodes: readonly string[]): string {
  const self = speakerAddress(node);
  const lines = ['[global.config]', `  as = ${LAB_AS}`, `  router-id = "${self}"`, `  port = ${GOBGP_PORT}`, `  local-address-list = ["${self}"]`];
  for (const peer of nodes.filter((n) => !hostsMultihomedService(n))) {
    lines.push(
      '',
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${underlayAddress(peer)}"`,
      `    peer-as = ${LAB_AS}`,
      `    description = "FRR of ${peer}"`,
      '  [neighbors.transport.config]',
      `    local-address = "${self}"`,
      '    passive-mode = true',
      '  [neighbors.timers.config]',
      '    connect-retry = 1',
      '    hold-time = 9',
      '    keepalive-interval = 3',
      '  [[neighbors.afi-safis]]',
      '    [neighbors.afi-safis.config]',
      '      afi-safi-name = "l2vpn-evpn"',
    );
  }
  return lines.join('\n') + '\n';
}

/** `00:11:..` (FRR's notation: type byte, 9 value bytes) as gobgp's `esi <type> <value>` arguments. */
export function gobgpEsiArgs(esi: string): string[] {
  const bytes = esi.split(':');
  if (bytes.length !== 10 || bytes.some((b) => !/^[0-9a-f]{2}$/i.test(b))) throw new Error(`ESI ${esi}: expected 10 bytes in hex, colon-separated`);
  return ['esi', String(parseInt(bytes[0]!, 16)), bytes.slice(1).join(':')];
}

/**
 * The `gobgp global rib -a evpn add ...` argument lists that announce the
 * multihomed service from `node`: EAD per ES (MAX-ET, ESI label extended
 * community: all-active), EAD per EVI (tag 0, label = VNI), MAC/IP with the
 * ESI. Nexthop = the node's VTEP; route distinguishers name the speaker.
 */
export function multihomedServiceRoutes(node: string): string[][] {
  const { vni, mac, esi } = MULTIHOMED_SERVICE;
  const vtep = underlayAddress(node);
  const rd = (n: number) => `${speakerAddress(node)}:${n}`;
  const common = ['rt', `${LAB_AS}:${vni}`, 'encap', 'vxlan', 'nexthop', vtep];
  const esiArgs = gobgpEsiArgs(esi);
  return [
    ['a-d', ...esiArgs, 'etag', String(MAX_ET), 'label', '0', 'rd', rd(1), ...common, 'esi-label', '0'],
    ['a-d', ...esiArgs, 'etag', '0', 'label', String(vni), 'rd', rd(vni), ...common],
    ['macadv', mac, '0.0.0.0', ...esiArgs, 'etag', '0', 'label', String(vni), 'rd', rd(vni), ...common],
  ];
}

export function findGobgpd(layout: LabLayout, node: string): Daemon | undefined {
  const p = gobgpPaths(layout, node);
  return Daemon.fromPidFile(`${node}/gobgpd`, p.pidFile, p.logFile, ['gobgpd', `-f ${p.config}`]);
}

/** `gobgp --target unix://<api> ARGS` */
export async function gobgp(layout: LabLayout, node: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('gobgp', ['--target', `unix://${gobgpPaths(layout, node).api}`, ...args], { timeoutMs: 10_000 });
  return stdout;
}

/** Starts gobgpd in the node's namespace and gives it the service's routes. */
export async function startGobgpd(layout: LabLayout, ns: NetworkNamespace, node: string, nodes: readonly string[]): Promise<Daemon> {
  const p = gobgpPaths(layout, node);
  writeFileSync(p.config, gobgpConfig(node, nodes));
  // A gobgpd that was killed leaves its socket behind: waiting for the file
  // would then wait for nothing.
  rmSync(p.api, { force: true });
  const w = ns.wrap('gobgpd', ['-f', p.config, '--log-plain', '--pprof-disable', '--api-hosts', `unix://${p.api}`]);
  const daemon = Daemon.spawn({ name: `${node}/gobgpd`, command: w.command, args: w.args, logFile: p.logFile, pidFile: p.pidFile, cwd: layout.nodeDir(node), lifetime: 'detached' });
  await waitForFile(p.api, "gobgpd's API socket", daemon);
  for (const route of multihomedServiceRoutes(node)) await announce(layout, node, route, daemon);
  return daemon;
}

/**
 * Adds one route through the API, retrying for a while: the socket exists
 * a moment before gobgpd serves it, and on a loaded machine the gobgp
 * client gives up on a slow answer ("context deadline exceeded").
 */
async function announce(layout: LabLayout, node: string, route: string[], daemon: Daemon, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await gobgp(layout, node, 'global', 'rib', '-a', 'evpn', 'add', ...route);
      return;
    } catch (err) {
      if (!daemon.running) throw new Error(`${daemon.name} ${daemon.exitDescription ?? 'exited'}; last lines of ${daemon.logFile}:\n${daemon.logTail(10)}`);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

interface GobgpNeighbor {
  state?: { neighbor_address?: string; session_state?: number };
}

/** gobgpd's sessions (established / configured) and how many routes it announces. */
export async function gobgpSessions(layout: LabLayout, node: string): Promise<{ up: number; total: number; routes: number }> {
  const neighbors = JSON.parse(await gobgp(layout, node, 'neighbor', '-j')) as GobgpNeighbor[];
  // apipb.PeerState.SessionState: 6 = ESTABLISHED.
  const up = neighbors.filter((n) => n.state?.session_state === 6).length;
  const rib = JSON.parse((await gobgp(layout, node, 'global', 'rib', '-a', 'evpn', '-j')) || '{}') as Record<string, unknown[]>;
  const routes = Object.values(rib).filter((paths) => JSON.stringify(paths).includes(`"nexthop":"${underlayAddress(node)}"`)).length;
  return { up, total: neighbors.length, routes };
}
