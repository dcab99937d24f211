/**
 * ovs — input node: the bridge's interfaces and the MACs it learned, as
 * the agent cares about them.
 *
 * Consumes: the OVSDB Interface monitor (ofports, external_ids:evpn-vni,
 * external_ids:attached-mac, Interface:error), and the flows Open vSwitch
 * learned for ports without attached-mac (ofctrl reads them periodically).
 * Produces: the tunnel port's ofport (or why it has none), the local ports
 * per VNI, the local MACs their attached-mac names, and the learned ones;
 * tracked: whether the tunnel port changed, which VNIs' ports or attached
 * MACs changed (the pipeline's concern), which VNIs' learned MACs changed
 * (only status and export care: OVS holds those flows already).
 */
import type { EngineNode } from '../engine.js';
import type { OvsInterface } from '../../model.js';

export interface OvsData {
  tunnelOfport: number | undefined;
  /** Why the tunnel port has no ofport, when OVS says (Interface:error). */
  tunnelProblem: string | undefined;
  /** VNI → the ofports of its local ports, ascending. */
  portsByVni: Map<number, number[]>;
  /** VNI → its local MACs from external_ids:attached-mac, by MAC (the lowest ofport if two ports claim one). */
  macsByVni: Map<number, Map<string, number>>;
  /** VNI → the MACs Open vSwitch learned on its ports, by MAC. */
  learnedByVni: Map<number, Map<string, number>>;
  /** Ports whose MACs are never exported (external_ids:evpn-export="false"). */
  noExportPorts: Set<number>;
  /** Whether the interfaces, and the learned MACs, were read at least once: until then an empty list means "unknown", not "none". */
  interfacesKnown: boolean;
  learnedKnown: boolean;
  /** knownChanged: the interfaces or learned MACs were read for the first time. */
  tracked: { tunnelChanged: boolean; changedVnis: Set<number>; learnedVnis: Set<number>; knownChanged: boolean };
}

/** A VNI's local MACs, attached and learned (an attached MAC wins), by MAC. */
export function localMacsOf(data: Pick<OvsData, 'macsByVni' | 'learnedByVni'>, vni: number): Map<string, number> {
  const out = new Map(data.learnedByVni.get(vni));
  for (const [mac, port] of data.macsByVni.get(vni) ?? []) out.set(mac, port);
  return out;
}

export interface OvsNode extends EngineNode<OvsData> {
  /** The full current Interface table of the bridge (the monitor's view). */
  setInterfaces(tunnelPort: string, interfaces: OvsInterface[]): void;
  /** Every MAC the bridge learned now, as VNI → MAC → port. */
  setLearned(learned: Map<number, Map<string, number>>): void;
}

export function createOvsNode(): OvsNode {
  let pending: { tunnelPort: string; interfaces: OvsInterface[] } | undefined;
  let pendingLearned: Map<number, Map<string, number>> | undefined;
  const data: OvsData = {
    tunnelOfport: undefined,
    tunnelProblem: undefined,
    portsByVni: new Map(),
    macsByVni: new Map(),
    learnedByVni: new Map(),
    noExportPorts: new Set(),
    interfacesKnown: false,
    learnedKnown: false,
    tracked: { tunnelChanged: false, changedVnis: new Set(), learnedVnis: new Set(), knownChanged: false },
  };
  return {
    name: 'ovs',
    inputs: [],
    data,
    setInterfaces(tunnelPort, interfaces) {
      pending = { tunnelPort, interfaces };
    },
    setLearned(learned) {
      pendingLearned = learned;
    },
    recompute() {
      if (pending) {
        const { tunnelPort, interfaces } = pending;
        pending = undefined;
        if (!data.interfacesKnown) data.interfacesKnown = data.tracked.knownChanged = true;
        const tunnelIface = interfaces.find((i) => i.name === tunnelPort);
        const tunnel = tunnelIface && tunnelIface.ofport > 0 ? tunnelIface.ofport : undefined;
        data.tunnelProblem = tunnel !== undefined ? undefined : tunnelIface?.error ?? (tunnelIface ? 'no ofport assigned yet' : `port ${tunnelPort} is not on the bridge`);
        if (tunnel !== data.tunnelOfport) {
          data.tunnelOfport = tunnel;
          data.tracked.tunnelChanged = true;
        }
        const next = new Map<number, number[]>();
        const macs = new Map<number, Map<string, number>>();
        const noExport = new Set<number>();
        for (const i of interfaces) {
          if (i.vni === undefined || i.ofport <= 0 || i.name === tunnelPort) continue;
          if (i.noExport) noExport.add(i.ofport);
          let ports = next.get(i.vni);
          if (!ports) next.set(i.vni, (ports = []));
          ports.push(i.ofport);
          if (i.attachedMac === undefined) continue;
          let byMac = macs.get(i.vni);
          if (!byMac) macs.set(i.vni, (byMac = new Map()));
          const other = byMac.get(i.attachedMac);
          if (other === undefined || i.ofport < other) byMac.set(i.attachedMac, i.ofport);
        }
        for (const ports of next.values()) ports.sort((a, b) => a - b);
        for (const vni of new Set([...next.keys(), ...data.portsByVni.keys(), ...macs.keys(), ...data.macsByVni.keys()])) {
          if (!sameNumbers(next.get(vni), data.portsByVni.get(vni)) || !sameMacs(macs.get(vni), data.macsByVni.get(vni))) data.tracked.changedVnis.add(vni);
        }
        data.portsByVni = next;
        data.macsByVni = macs;
        // Export only: a change is news to localExport, which recomputes on any ovs change.
        if (!sameNumbers([...noExport].sort(), [...data.noExportPorts].sort())) data.tracked.knownChanged = true;
        data.noExportPorts = noExport;
      }
      if (pendingLearned) {
        if (!data.learnedKnown) data.learnedKnown = data.tracked.knownChanged = true;
        for (const vni of new Set([...pendingLearned.keys(), ...data.learnedByVni.keys()])) {
          if (!sameMacs(pendingLearned.get(vni), data.learnedByVni.get(vni))) data.tracked.learnedVnis.add(vni);
        }
        data.learnedByVni = pendingLearned;
        pendingLearned = undefined;
      }
      const t = data.tracked;
      return t.tunnelChanged || t.changedVnis.size > 0 || t.learnedVnis.size > 0 || t.knownChanged ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.tunnelChanged = false;
      data.tracked.changedVnis.clear();
      data.tracked.learnedVnis.clear();
      data.tracked.knownChanged = false;
    },
  };
}

function sameMacs(a: ReadonlyMap<string, number> | undefined, b: ReadonlyMap<string, number> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const [mac, port] of a) if (b.get(mac) !== port) return false;
  return true;
}

function sameNumbers(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
