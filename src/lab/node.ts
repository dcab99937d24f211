/**
 * One simulated lab node: a Node object with the node's underlay address as
 * InternalIP, a network namespace with its link into the BGP control
 * network, an Open vSwitch (dummy datapath) with br-evpn and its workload
 * ports and br-underlay linked to the fabric, and inside the namespace the
 * apiserver relay, the agent (with a token bound to the node) and the
 * node's EVPN control plane (frr.ts, gobgp.ts).
 *
 * The lab makes no kernel VXLAN device itself: the agent (kernel.manage in
 * the sample fabric) creates each VNI's VXLAN device, its bridge and an
 * access port, and zebra takes the VNIs from them. Nothing enters those
 * bridges (the workloads are Open vSwitch's userspace ports), so the kernel
 * forwards nothing; VXLAN frames travel only through Open vSwitch.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlane } from './control-plane.js';
import { Daemon } from './daemon.js';
import { UNDERLAY_BRIDGE, createNodeUnderlay, underlayConfigured } from './fabric.js';
import { ensureControlLink } from './control-network.js';
import { ROLE_LABEL, hostsMultihomedService, nodeRole, speakerAddress, underlayAddress, workloadPorts, type LabLayout, type WorkloadPort } from './layout.js';
import { AGENT_NAMESPACE, AGENT_SERVICE_ACCOUNT, LAB_HEARTBEAT_INTERVAL } from './manifests.js';
import { NetworkNamespace } from './netns.js';
import { OvsInstance } from './ovs-instance.js';

export const EVPN_BRIDGE = 'br-evpn';
/** Inside each node's namespace (its own loopback, so every node uses the same ports). */
export const AGENT_HEALTH_ADDR = '127.0.0.1:8081';
export const AGENT_METRICS_ADDR = '127.0.0.1:8080';
/** Agent tokens outlive a lab session of a working week. */
const AGENT_TOKEN_SECONDS = 7 * 24 * 3600;

export interface NodeContext {
  layout: LabLayout;
  cp: ControlPlane;
  netnsPrefix: string;
  cli: readonly string[];
  apiserverPort: number;
}

export function netnsName(prefix: string, node: string): string {
  return `${prefix}${node}`;
}

/** Creates (or finds) the Node object, labelled with its lab role, InternalIP = underlay address. */
export async function ensureNodeObject(cp: ControlPlane, node: string): Promise<void> {
  const manifest = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node, labels: { 'kubernetes.io/hostname': node, [ROLE_LABEL]: nodeRole(node) } },
  };
  await cp.kubectlInput(JSON.stringify(manifest), 'apply', '-f', '-');
  // Addresses live in the status subresource: no kubelet runs, so the lab
  // writes what a kubelet would report.
  const status = { status: { addresses: [{ type: 'InternalIP', address: underlayAddress(node) }, { type: 'Hostname', address: node }] } };
  await cp.kubectl('patch', 'node', node, '--subresource=status', '--type=merge', '-p', JSON.stringify(status));
}

/**
 * The node's kernel: a namespace with its link into the control network
 * (its underlay address, and the GoBGP speaker's on the nodes that host the
 * multihomed service). Completes what is missing. The VXLAN devices are the
 * agent's (see the module comment).
 */
export async function ensureNodeNamespace(name: string, node: string, control: NetworkNamespace): Promise<NetworkNamespace> {
  const ns = NetworkNamespace.existing(name) ?? (await NetworkNamespace.add(name));
  const addresses = [underlayAddress(node), ...(hostsMultihomedService(node) ? [speakerAddress(node)] : [])];
  await ensureControlLink(control, ns, node, addresses);
  return ns;
}

/** The node's Open vSwitch, started detached, with br-evpn (workload ports) and br-underlay (NIC to the fabric). */
export async function createNodeOvs(layout: LabLayout, node: string): Promise<OvsInstance> {
  const dir = layout.nodeOvsDir(node);
  mkdirSync(dir, { recursive: true });
  const ovs = await OvsInstance.launch(dir, { lifetime: 'detached' });
  await createNodeUnderlay(ovs, underlayAddress(node), layout.fabricSocket(node), layout.nicPcap(node));
  await ovs.addBridge(EVPN_BRIDGE);
  for (const p of workloadPorts(node)) {
    await ovs.addDummyPort(EVPN_BRIDGE, p.name, { externalIds: workloadExternalIds(p), txPcap: layout.portPcap(node, p.name) });
  }
  return ovs;
}

/**
 * What the agent reads from a workload port's OVS Interface: its VNI, its
 * MAC when declared (the attached-mac convention OVN uses), and whether its
 * MACs may be exported for FRR to advertise (layout.ts, WorkloadPort).
 */
export function workloadExternalIds(p: WorkloadPort): Record<string, string> {
  return {
    'evpn-vni': String(p.vni),
    ...(p.attached ? { 'attached-mac': p.mac } : {}),
    ...(p.exported ? {} : { 'evpn-export': 'false' }),
  };
}

/** Re-applies what lives only in ovs-vswitchd's memory (underlay address and route) after it restarted. */
export async function repairNodeOvs(ovs: OvsInstance, node: string): Promise<boolean> {
  if (await underlayConfigured(ovs, underlayAddress(node))) return false;
  const cidr = `${underlayAddress(node)}/24`;
  await ovs.appctl('netdev-dummy/ip4addr', UNDERLAY_BRIDGE, cidr);
  await ovs.appctl('ovs/route/add', cidr, UNDERLAY_BRIDGE);
  return true;
}

function daemonFiles(layout: LabLayout, node: string, name: string): { logFile: string; pidFile: string } {
  return { logFile: join(layout.nodeDir(node), `${name}.log`), pidFile: join(layout.nodeDir(node), `${name}.pid`) };
}

/** Marks that identify a node's process in /proc (pid reuse guard). */
export function nodeDaemonMarks(layout: LabLayout, node: string, name: 'relay' | 'agent'): string[] {
  return name === 'agent'
    ? ['agent', `--node ${node}`, `--ovs-rundir ${layout.nodeOvsDir(node)}`]
    : ['relay', '--listen tcp:', `--connect unix:${layout.apiserverRelaySocket}`];
}

export function findNodeDaemon(layout: LabLayout, node: string, name: 'relay' | 'agent'): Daemon | undefined {
  const f = daemonFiles(layout, node, name);
  return Daemon.fromPidFile(`${node}/${name}`, f.pidFile, f.logFile, nodeDaemonMarks(layout, node, name));
}

/**
 * The apiserver relay inside the node's namespace: 127.0.0.1:<apiserver
 * port> there leads to the host relay's unix socket, so the agent's
 * kubeconfig names the same URL as the admin's.
 */
export function startNodeRelay(ctx: NodeContext, ns: NetworkNamespace, node: string): Daemon {
  const [cmd, ...pre] = ctx.cli;
  if (!cmd) throw new Error('no CLI command');
  const w = ns.wrap(cmd, [...pre, 'lab', 'relay', '--listen', `tcp:127.0.0.1:${ctx.apiserverPort}`, '--connect', `unix:${ctx.layout.apiserverRelaySocket}`]);
  return Daemon.spawn({ name: `${node}/relay`, command: w.command, args: w.args, ...daemonFiles(ctx.layout, node, 'relay'), lifetime: 'detached', cwd: ctx.layout.nodeDir(node) });
}

/** A kubeconfig for the node's agent: a service-account token bound to a Pod on the node. */
export async function agentKubeconfig(ctx: NodeContext, node: string): Promise<string> {
  const { kubeconfigPath } = await ctx.cp.nodeBoundCredentials(node, AGENT_SERVICE_ACCOUNT, AGENT_NAMESPACE, { expirationSeconds: AGENT_TOKEN_SECONDS });
  return kubeconfigPath;
}

/** The agent, inside the node's namespace because it programs that namespace's kernel. */
export function startAgent(ctx: NodeContext, ns: NetworkNamespace, node: string, kubeconfig: string): Daemon {
  const [cmd, ...pre] = ctx.cli;
  if (!cmd) throw new Error('no CLI command');
  const w = ns.wrap(cmd, [
    ...pre,
    'agent',
    '--node', node,
    '--kubeconfig', kubeconfig,
    '--ovs-rundir', ctx.layout.nodeOvsDir(node),
    '--health-addr', AGENT_HEALTH_ADDR,
    '--metrics-addr', AGENT_METRICS_ADDR,
    '--heartbeat-namespace', AGENT_NAMESPACE,
    '--heartbeat-interval', LAB_HEARTBEAT_INTERVAL,
  ]);
  return Daemon.spawn({ name: `${node}/agent`, command: w.command, args: w.args, ...daemonFiles(ctx.layout, node, 'agent'), lifetime: 'detached', cwd: ctx.layout.nodeDir(node) });
}
