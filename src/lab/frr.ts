/**
 * A lab node's FRR: Debian's zebra and bgpd, started directly (no watchfrr,
 * no system service) inside the node's network namespace, one instance per
 * node, each with its own configs, pid files, zserv socket and vty socket
 * directory, and no vty TCP port (`-P 0`).
 *
 * FRR daemons refuse to run as root ("user(root) is not part of vty group")
 * and run as `frr`, which cannot reach a lab directory under root's home;
 * their runtime directory is therefore under RUN_ROOT (layout.ts), owned by
 * `frr`, while their logs (stdout, opened by the lab) stay in the node's lab
 * directory. `vtysh --vty_socket <frrDir>` talks to one instance.
 *
 * BGP: iBGP (AS 65000) full mesh between the nodes' bgpd over the control
 * network, EVPN only, `advertise-all-vni`: type-3 routes give every node the
 * flood list of its VNIs, and zebra installs what the routes say. Nodes that
 * do not host the multihomed service also peer with the GoBGP speakers of
 * node-b and node-c (gobgp.ts), which announce it.
 */
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, waitForFile } from './daemon.js';
import { run } from './exec.js';
import { MULTIHOMED_SERVICE, hostsMultihomedService, speakerAddress, underlayAddress, type LabLayout } from './layout.js';
import type { NetworkNamespace } from './netns.js';

export const FRR_DAEMONS = ['zebra', 'bgpd'] as const;
export type FrrDaemon = (typeof FRR_DAEMONS)[number];
export const FRR_BIN_DIR = '/usr/lib/frr';
/** The lab fabric's autonomous system (iBGP between all speakers). */
export const LAB_AS = 65000;
/**
 * gobgpd listens here, on its own address: bgpd holds port 179 on every
 * address of the namespace, and gobgpd must not dial out itself — it waits
 * 5 to 10 s before every first attempt (minConnectRetryInterval in GoBGP's
 * fsm.go), where bgpd re-dials within a second.
 */
export const GOBGP_PORT = 1179;

export interface FrrPaths {
  dir: string;
  config: (d: FrrDaemon) => string;
  /** FRR's own pid file (the lab keeps its own next to the log). */
  frrPidFile: (d: FrrDaemon) => string;
  zserv: string;
  vty: (d: FrrDaemon) => string;
  logFile: (d: FrrDaemon) => string;
  pidFile: (d: FrrDaemon) => string;
}

export function frrPaths(layout: LabLayout, node: string): FrrPaths {
  const dir = layout.frrDir(node);
  return {
    dir,
    config: (d) => join(dir, `${d}.conf`),
    frrPidFile: (d) => join(dir, `${d}.pid`),
    zserv: join(dir, 'zserv.api'),
    vty: (d) => join(dir, `${d}.vty`),
    logFile: (d) => join(layout.nodeDir(node), `${d}.log`),
    pidFile: (d) => join(layout.nodeDir(node), `${d}.pid`),
  };
}

/** The BGP peers of a node's bgpd: every other node, and the multihomed service's speakers unless it hosts the service. */
export function bgpPeers(node: string, nodes: readonly string[]): { address: string; description: string; port?: number }[] {
  const peers: { address: string; description: string; port?: number }[] = nodes.filter((n) => n !== node).map((n) => ({ address: underlayAddress(n), description: `FRR of ${n}` }));
  if (!hostsMultihomedService(node)) {
    for (const host of MULTIHOMED_SERVICE.hosts) peers.push({ address: speakerAddress(host), description: `GoBGP of ${host}`, port: GOBGP_PORT });
  }
  return peers;
}

/** zebra's config: logging (ms timestamps) and the EVPN multihoming debugs that show what it installs and why. */
export function zebraConfig(node: string): string {
  return [
    'frr defaults datacenter',
    `hostname ${node}`,
    'log stdout debugging',
    'log timestamp precision 3',
    'debug zebra evpn mh es',
    'debug zebra evpn mh nh',
    'debug zebra evpn mh mac',
    '',
  ].join('\n');
}

/** bgpd's config: iBGP EVPN to every peer, advertise-all-vni. */
export function bgpdConfig(node: string, nodes: readonly string[]): string {
  const lines = [
    'frr defaults datacenter',
    `hostname ${node}`,
    'log stdout informational',
    'log timestamp precision 3',
    `router bgp ${LAB_AS}`,
    ` bgp router-id ${underlayAddress(node)}`,
    ' no bgp default ipv4-unicast',
    ' neighbor fabric peer-group',
    ' neighbor fabric remote-as internal',
    // Re-dial a peer that came back within a second, not datacenter's 10 s.
    ' neighbor fabric timers connect 1',
  ];
  for (const p of bgpPeers(node, nodes)) {
    lines.push(` neighbor ${p.address} peer-group fabric`, ` neighbor ${p.address} description ${p.description}`);
    if (p.port !== undefined) lines.push(` neighbor ${p.address} port ${p.port}`);
  }
  lines.push(' address-family l2vpn evpn', '  neighbor fabric activate', '  advertise-all-vni', ' exit-address-family', '');
  return lines.join('\n');
}

function marks(paths: FrrPaths, d: FrrDaemon): string[] {
  return [`${FRR_BIN_DIR}/${d}`, `--vty_socket ${paths.dir}`];
}

export function findFrrDaemon(layout: LabLayout, node: string, d: FrrDaemon): Daemon | undefined {
  const paths = frrPaths(layout, node);
  return Daemon.fromPidFile(`${node}/${d}`, paths.pidFile(d), paths.logFile(d), marks(paths, d));
}

/**
 * Starts the node's zebra, then its bgpd (which connects to zebra's zserv
 * socket). Writes the configs first; the runtime directory belongs to `frr`.
 */
export async function startFrr(layout: LabLayout, ns: NetworkNamespace, node: string, nodes: readonly string[]): Promise<void> {
  const paths = frrPaths(layout, node);
  mkdirSync(paths.dir, { recursive: true, mode: 0o755 });
  await run('chown', ['frr:frr', paths.dir]);
  writeFileSync(paths.config('zebra'), zebraConfig(node), { mode: 0o644 });
  writeFileSync(paths.config('bgpd'), bgpdConfig(node, nodes), { mode: 0o644 });
  linkFromLabDir(layout, node, paths.dir);
  // Sockets of an instance that was killed: the waits below are for the new ones.
  for (const f of [paths.zserv, ...FRR_DAEMONS.map((d) => paths.vty(d))]) rmSync(f, { force: true });
  for (const d of FRR_DAEMONS) {
    const w = ns.wrap(`${FRR_BIN_DIR}/${d}`, [
      '-u', 'frr', '-g', 'frr',
      '-f', paths.config(d),
      '-i', paths.frrPidFile(d),
      '-z', paths.zserv,
      '--vty_socket', paths.dir,
      '-P', '0',
    ]);
    const daemon = Daemon.spawn({ name: `${node}/${d}`, command: w.command, args: w.args, logFile: paths.logFile(d), pidFile: paths.pidFile(d), cwd: layout.nodeDir(node), lifetime: 'detached' });
    await waitForFile(d === 'zebra' ? paths.zserv : paths.vty(d), `${d}'s ${d === 'zebra' ? 'zserv socket' : 'vty socket'}`, daemon);
  }
}

/** `nodes/<node>/frr` in the lab directory points at the runtime directory, so it is found where everything else is. */
function linkFromLabDir(layout: LabLayout, node: string, target: string): void {
  const link = join(layout.nodeDir(node), 'frr');
  try {
    lstatSync(link);
    return;
  } catch {
    // not there yet
  }
  if (!existsSync(layout.nodeDir(node))) mkdirSync(layout.nodeDir(node), { recursive: true });
  symlinkSync(target, link);
}

/** Stops the node's bgpd, then zebra, by pid. Returns the names stopped. */
export async function stopFrr(layout: LabLayout, node: string): Promise<string[]> {
  const stopped: string[] = [];
  for (const d of [...FRR_DAEMONS].reverse()) {
    const daemon = findFrrDaemon(layout, node, d);
    if (!daemon?.running) continue;
    await daemon.stop(5_000);
    stopped.push(`${daemon.name} (pid ${daemon.pid})`);
  }
  return stopped;
}

/** `vtysh -c COMMAND...` against the node's instance (commands in order, as typed in one session). */
export async function vtysh(layout: LabLayout, node: string, ...commands: string[]): Promise<string> {
  const { stdout } = await run('vtysh', ['--vty_socket', frrPaths(layout, node).dir, ...commands.flatMap((c) => ['-c', c])], { timeoutMs: 10_000 });
  return stdout;
}

interface BgpSummary {
  peers?: Record<string, { state?: string; pfxRcd?: number }>;
}

/** The node's EVPN sessions: established / configured. */
export async function bgpSessions(layout: LabLayout, node: string): Promise<{ up: number; total: number; down: string[] }> {
  const summary = JSON.parse(await vtysh(layout, node, 'show bgp l2vpn evpn summary json')) as BgpSummary;
  const peers = Object.entries(summary.peers ?? {});
  const down = peers.filter(([, p]) => p.state !== 'Established').map(([a]) => a);
  return { up: peers.length - down.length, total: peers.length, down };
}
