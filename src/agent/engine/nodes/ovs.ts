/**
 * ovs — input node: what the agent observes of Open vSwitch.
 *
 * Consumes: the OVSDB Interface monitor (ofports, external_ids:evpn-vni) and,
 * after each (re)connect, the OpenFlow group ids already installed for
 * kernel nexthop groups (recovered from our flows' cookies, see groupIds).
 * Produces: the tunnel port's ofport, the local ports per VNI, the adopted
 * group ids and the hash-slot tables of the installed dp_hash groups; tracked: whether the tunnel port changed, which VNIs' port
 * sets changed, whether adoption changed.
 */
import type { EngineNode } from '../engine.js';
import type { OvsInterface } from '../../model.js';

export interface OvsData {
  tunnelOfport: number | undefined;
  /** Why the tunnel port has no ofport, when OVS says (Interface:error). */
  tunnelProblem: string | undefined;
  portsByVni: Map<number, number[]>;
  /** kernel nexthop group id → OpenFlow group id found installed. */
  adoptedGroups: Map<number, number>;
  /** VNI → flood group id found installed (from the VNI's flood flow). */
  adoptedFloodGroups: Map<number, number>;
  /** OpenFlow group id → the hash-slot table (slot → VTEP) of an installed dp_hash group. */
  adoptedSlots: Map<number, readonly string[]>;
  tracked: { tunnelChanged: boolean; changedVnis: Set<number>; adoptedChanged: boolean };
}

export interface OvsNode extends EngineNode<OvsData> {
  /** The full current Interface table of the bridge (the monitor's view). */
  setInterfaces(tunnelPort: string, interfaces: OvsInterface[]): void;
  setAdopted(groups: Map<number, number>, floodGroups?: Map<number, number>, slots?: Map<number, readonly string[]>): void;
}

export function createOvsNode(): OvsNode {
  let pendingIfaces: { tunnelPort: string; interfaces: OvsInterface[] } | undefined;
  let pendingAdopted: Map<number, number> | undefined;
  let pendingAdoptedFlood: Map<number, number> | undefined;
  let pendingAdoptedSlots: Map<number, readonly string[]> | undefined;
  const data: OvsData = {
    tunnelOfport: undefined,
    tunnelProblem: undefined,
    portsByVni: new Map(),
    adoptedGroups: new Map(),
    adoptedFloodGroups: new Map(),
    adoptedSlots: new Map(),
    tracked: { tunnelChanged: false, changedVnis: new Set(), adoptedChanged: false },
  };
  return {
    name: 'ovs',
    inputs: [],
    data,
    setInterfaces(tunnelPort, interfaces) {
      pendingIfaces = { tunnelPort, interfaces };
    },
    setAdopted(groups, floodGroups = new Map(), slots = new Map()) {
      pendingAdopted = groups;
      pendingAdoptedFlood = floodGroups;
      pendingAdoptedSlots = slots;
    },
    recompute() {
      if (pendingIfaces) {
        const { tunnelPort, interfaces } = pendingIfaces;
        pendingIfaces = undefined;
        const tunnelIface = interfaces.find((i) => i.name === tunnelPort);
        const tunnel = tunnelIface && tunnelIface.ofport > 0 ? tunnelIface.ofport : undefined;
        data.tunnelProblem = tunnel !== undefined ? undefined : tunnelIface?.error ?? (tunnelIface ? 'no ofport assigned yet' : `port ${tunnelPort} is not on the bridge`);
        if (tunnel !== data.tunnelOfport) {
          data.tunnelOfport = tunnel;
          data.tracked.tunnelChanged = true;
        }
        const next = new Map<number, number[]>();
        for (const i of interfaces) {
          if (i.vni === undefined || i.ofport <= 0 || i.name === tunnelPort) continue;
          next.set(i.vni, [...(next.get(i.vni) ?? []), i.ofport].sort((a, b) => a - b));
        }
        for (const vni of new Set([...next.keys(), ...data.portsByVni.keys()])) {
          if (JSON.stringify(next.get(vni)) !== JSON.stringify(data.portsByVni.get(vni))) data.tracked.changedVnis.add(vni);
        }
        data.portsByVni = next;
      }
      if (pendingAdopted) {
        const same = pendingAdopted.size === data.adoptedGroups.size
          && [...pendingAdopted].every(([k, v]) => data.adoptedGroups.get(k) === v);
        if (!same) {
          data.adoptedGroups = pendingAdopted;
          data.tracked.adoptedChanged = true;
        }
        pendingAdopted = undefined;
      }
      if (pendingAdoptedFlood) {
        if (!sameMap(pendingAdoptedFlood, data.adoptedFloodGroups)) {
          data.adoptedFloodGroups = pendingAdoptedFlood;
          data.tracked.adoptedChanged = true;
        }
        pendingAdoptedFlood = undefined;
      }
      if (pendingAdoptedSlots) {
        // Always news, even when equal to the last adoption: what OVS holds
        // after a reconnect must replace any table the agent computed but
        // never got installed.
        data.adoptedSlots = pendingAdoptedSlots;
        data.tracked.adoptedChanged = true;
        pendingAdoptedSlots = undefined;
      }
      const t = data.tracked;
      return t.tunnelChanged || t.changedVnis.size > 0 || t.adoptedChanged ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.tunnelChanged = false;
      data.tracked.changedVnis.clear();
      data.tracked.adoptedChanged = false;
    },
  };
}

function sameMap(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
