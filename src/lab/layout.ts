/**
 * Where everything of one lab lives and what it is called: the lab
 * directory tree, node names, namespace names, underlay addresses, the
 * workload ports of each node. Written once by `lab up` to `lab.json`, read
 * back by `lab status` and `lab down`, so they find exactly what `up` made.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/** The lab's underlay: a documentation range, used only inside the lab's userspace datapaths. */
export const UNDERLAY_PREFIX = '192.0.2';
export const UNDERLAY_PREFIX_LENGTH = 24;
export const MAX_NODES = 26;
export const DEFAULT_NODES = 3;

/** Label that sample VtepGroups select on: node-a is the client, the others are servers. */
export const ROLE_LABEL = 'lab.evpn.ecmp.dev/role';

/** A workload port on a node's br-evpn: a dummy port tagged with its VNI. */
export interface WorkloadPort {
  name: string;
  vni: number;
  /** The MAC of the workload behind the port (frames the lab injects come from it). */
  mac: string;
  /**
   * The MAC is declared on the port (external_ids:attached-mac), so the agent
   * switches and exports it from the start; otherwise the agent learns it
   * from the first frame the port sends.
   */
  attached: boolean;
  /**
   * The agent exports the port's MACs for FRR to advertise (type-2). False
   * (external_ids:evpn-export="false") for a service whose routes come from
   * elsewhere: the anycast MAC the sample VtepGroup declares, the
   * multihomed MAC gobgpd announces behind its Ethernet Segment. A single
   * VTEP's type-2 for either would fight those routes.
   */
  exported: boolean;
}

const labFile = z.object({
  version: z.literal(1),
  /** Prefix of the network namespace names (`<prefix><node>`). */
  netnsPrefix: z.string().min(1),
  /** argv prefix that runs `evpn-ecmp` (node binary, flags, entry script). */
  cli: z.array(z.string()).min(1),
  nodes: z.array(z.string().regex(/^node-[a-z]$/)).min(1).max(MAX_NODES),
  /** The apiserver's loopback port (the agents reach it through the relay). */
  apiserverPort: z.int().min(1).max(65535),
  operatorHealthPort: z.int().min(1).max(65535),
  operatorMetricsPort: z.int().min(1).max(65535),
  createdAt: z.string(),
});
export type LabRecord = z.output<typeof labFile>;

/** `$XDG_STATE_HOME/evpn-ecmp/lab`, else `~/.local/state/evpn-ecmp/lab`. */
export function defaultLabDir(): string {
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'evpn-ecmp', 'lab');
}

export function nodeName(index: number): string {
  return `node-${String.fromCharCode(97 + index)}`;
}

export function nodeIndex(name: string): number {
  return name.charCodeAt(name.length - 1) - 97;
}

/** The node's underlay address (its InternalIP and VTEP address). */
export function underlayAddress(node: string): string {
  return `${UNDERLAY_PREFIX}.${nodeIndex(node) + 1}`;
}

/** The role the sample VtepGroups select on. */
export function nodeRole(node: string): 'client' | 'server' {
  return nodeIndex(node) === 0 ? 'client' : 'server';
}

/** The VNIs every lab node carries (its workload ports; the agent creates the kernel devices of each). */
export const LAB_VNIS = [100, 200] as const;

/**
 * A VNI's kernel VXLAN device on a lab node: the sample fabric's
 * `vxlan.deviceTemplate` (examples/fabric.yaml), created by the agent.
 */
export function vxlanDeviceName(vni: number): string {
  return `evpn-${vni}`;
}

/** The agent's access port of a VNI (holds the exported local MACs; src/agent/engine/nodes/devices.ts). */
export function accessPortName(vni: number): string {
  return `evpa-${vni}`;
}

/** The anycast service MAC of port `web` on every node, which the sample VtepGroup web-ecmp declares. */
export const ANYCAST_SERVICE_MAC = '02:00:00:00:01:00';

/**
 * The EVPN-multihomed service: one MAC hosted on node-b and node-c behind
 * one Ethernet Segment, announced by BGP (type-1 per ES and per EVI, type-2
 * with the ESI), so the other nodes' zebra install it as an ECMP FDB entry.
 * Its own MAC, port and ESI: nothing declares it in Kubernetes.
 */
export const MULTIHOMED_SERVICE = {
  mac: '02:00:00:00:03:00',
  vni: 100,
  /** Type 0 (operator-assigned) ESI, as FRR prints it. */
  esi: '00:11:11:11:11:11:11:11:11:11',
  port: 'mh',
  hosts: ['node-b', 'node-c'],
} as const;

export function hostsMultihomedService(node: string): boolean {
  return (MULTIHOMED_SERVICE.hosts as readonly string[]).includes(node);
}

/**
 * A second address on a node that hosts the multihomed service: its GoBGP
 * speaker's (a BGP peer is known by its address, and the node's own address
 * is its FRR's). 192.0.2.101 and up; the VTEP addresses are 192.0.2.1 to .26.
 */
export function speakerAddress(node: string): string {
  return `${UNDERLAY_PREFIX}.${nodeIndex(node) + 101}`;
}

/**
 * Root of the runtime files of daemons that run as another user: FRR runs as
 * `frr`, which cannot reach a lab directory under root's home (mode 0700).
 * The lab directory's path is repeated under it, so those daemons' command
 * lines still name the lab directory (`pidsUsing` finds them).
 */
export const RUN_ROOT = '/run/evpn-ecmp-lab';

/**
 * Workload ports of a node: `vm1` (a client workload, VNI 100), `web` (the
 * anycast service the sample ECMP group points at, VNI 100), `db`
 * (VNI 200), and on node-b and node-c `mh` (the multihomed service, VNI 100).
 * MACs are locally administered and name node and port.
 *
 * vm1 and db hold the node's own MACs: attached, exported, so every other
 * node's zebra installs them from this node's type-2 routes. web and mh
 * hold service MACs that several nodes host at once: learned, never
 * exported (see WorkloadPort.exported).
 */
export function workloadPorts(node: string): WorkloadPort[] {
  const n = (nodeIndex(node) + 10).toString(16).padStart(2, '0');
  const ports: WorkloadPort[] = [
    { name: 'vm1', vni: 100, mac: `02:00:00:00:${n}:01`, attached: true, exported: true },
    { name: 'web', vni: 100, mac: ANYCAST_SERVICE_MAC, attached: false, exported: false },
    { name: 'db', vni: 200, mac: `02:00:00:00:${n}:02`, attached: true, exported: true },
  ];
  if (hostsMultihomedService(node)) ports.push({ name: MULTIHOMED_SERVICE.port, vni: MULTIHOMED_SERVICE.vni, mac: MULTIHOMED_SERVICE.mac, attached: false, exported: false });
  return ports;
}

/** The workload MACs a node exports for FRR to advertise: what every other node's kernel should learn from it. */
export function exportedMacs(node: string): WorkloadPort[] {
  return workloadPorts(node).filter((p) => p.exported);
}

export class LabLayout {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  get recordFile(): string {
    return join(this.dir, 'lab.json');
  }
  get controlPlaneDir(): string {
    return join(this.dir, 'control-plane');
  }
  get fabricDir(): string {
    return join(this.dir, 'fabric');
  }
  get operatorDir(): string {
    return join(this.dir, 'operator');
  }
  /** Unix socket of the host-side apiserver relay (the agents' way out of their namespaces). */
  get apiserverRelaySocket(): string {
    return join(this.dir, 'apiserver.sock');
  }
  nodeDir(node: string): string {
    return join(this.dir, 'nodes', node);
  }
  nodeOvsDir(node: string): string {
    return join(this.nodeDir(node), 'ovs');
  }
  /**
   * The fabric's end of a node's underlay link (`pstream=punix:`); the node
   * NIC connects to it (`stream=unix:`). netdev-dummy carries frames over it.
   */
  fabricSocket(node: string): string {
    return join(this.dir, `fabric-${node}.sock`);
  }
  /** Runtime files of this lab's daemons that run as another user (see RUN_ROOT). */
  get runDir(): string {
    return join(RUN_ROOT, this.dir);
  }
  /** A node's FRR instance: its configs, pid files, zserv socket and vty sockets (owned by `frr`). */
  frrDir(node: string): string {
    return join(this.runDir, 'nodes', node, 'frr');
  }
  /** Every frame the node's underlay NIC transmits. */
  nicPcap(node: string): string {
    return join(this.nodeDir(node), 'nic0.pcap');
  }
  /** Every frame a workload port transmits (what its workload receives). */
  portPcap(node: string, port: string): string {
    return join(this.nodeDir(node), `${port}.pcap`);
  }

  read(): LabRecord | undefined {
    if (!existsSync(this.recordFile)) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.recordFile, 'utf8'));
    } catch (err) {
      throw new Error(`${this.recordFile}: not JSON (${(err as Error).message})`);
    }
    const parsed = labFile.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${this.recordFile}: field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
    }
    return parsed.data;
  }

  write(record: LabRecord): void {
    const tmp = `${this.recordFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
    renameSync(tmp, this.recordFile);
  }
}
