/**
 * The device plan: the difference between the devices the agent should own
 * (engine/nodes/devices.ts) and the links the kernel holds, as writes.
 *
 * Only devices with the agent's alias are ever changed or deleted; a device
 * of a wanted name without it belongs to someone else, is used as it is and
 * is reported. An owned device of the wrong kind or VXLAN parameters is
 * deleted and created again (the kernel changes neither in place); one that
 * is down or in the wrong bridge is configured in place. A device joins its
 * bridge only once the bridge exists: created in the same pass, it joins on
 * the next one (an access port, useless outside its bridge, is made then).
 * Owned devices nothing wants any more are deleted, ports
 * before bridges.
 *
 * What links do not report — a vnifilter device's VNIs, a port's VLANs and
 * their VNI mappings — is compared with what this process last applied
 * (`applied`): the agent is the only writer of its devices, and after a
 * restart it applies them once more (adding what exists is harmless).
 *
 * A device the kernel refused for good (`refused`: e.g. a VLAN-filtering
 * bridge on a kernel without CONFIG_BRIDGE_VLAN_FILTERING) is not tried
 * again until what is wanted of it changes; its ports then stand alone.
 */
import { OWNER_ALIAS_PREFIX, type DesiredDevice } from '../engine/nodes/devices.js';
import type { KernelLink } from '../model.js';
import { deepEqual } from '../../util/equal.js';

export type DeviceOp =
  | { op: 'createDevice'; device: DesiredDevice; masterIfindex?: number }
  | { op: 'configureDevice'; ifindex: number; device: DesiredDevice; masterIfindex?: number }
  | { op: 'deleteDevice'; ifindex: number; name: string }
  /** `bridge vni add|del dev D vni V`; `target` is the filter afterwards. */
  | { op: 'setVniFilter'; ifindex: number; name: string; add: number[]; remove: number[]; target: number[] }
  /** `bridge vlan add|del dev D vid V [tunnel_info id VNI]`; `target` is the port's VLANs afterwards. */
  | { op: 'setVlans'; ifindex: number; name: string; add: DeviceVlan[]; remove: DeviceVlan[]; target: DeviceVlan[] };

export interface DeviceVlan {
  vid: number;
  tunnelId?: number;
}

/** What this process last applied to a device (VNI filter, VLANs), by device name. */
export type AppliedDeviceConfig = Map<string, { vnis: number[]; vlans: Array<{ vid: number; tunnelId?: number }> }>;

export function describeDeviceOp(op: DeviceOp): string {
  switch (op.op) {
    case 'createDevice':
      return `link add ${op.device.name} type ${op.device.kind}`;
    case 'configureDevice':
      return `link set ${op.device.name} up${op.masterIfindex !== undefined ? ` master ${op.device.master}` : ''}`;
    case 'deleteDevice':
      return `link del ${op.name}`;
    case 'setVniFilter':
      return `bridge vni ${op.name}: add [${op.add.join(',')}] del [${op.remove.join(',')}]`;
    case 'setVlans':
      return `bridge vlan ${op.name}: add [${op.add.map((v) => (v.tunnelId === undefined ? v.vid : `${v.vid}→${v.tunnelId}`)).join(',')}] del [${op.remove.map((v) => v.vid).join(',')}]`;
  }
}

export interface DevicePlan {
  ops: DeviceOp[];
  /** Devices of a wanted name that are someone else's, and devices the kernel refused. */
  notes: string[];
}

const ROLE_ORDER = { bridge: 0, vxlan: 1, access: 2, accessPeer: 3 } as const;

export function isOwnedLink(link: KernelLink): boolean {
  return link.alias?.startsWith(OWNER_ALIAS_PREFIX) ?? false;
}

export function planDevices(
  desired: ReadonlyMap<string, DesiredDevice>,
  /** False while the local ports are not known yet: owned devices nothing wants are kept until they are. */
  complete: boolean,
  byName: ReadonlyMap<string, KernelLink>,
  applied: ReadonlyMap<string, { vnis: number[]; vlans: Array<{ vid: number; tunnelId?: number }> }>,
  refused: ReadonlyMap<string, { device: DesiredDevice; reason: string }>,
): DevicePlan {
  const ops: DeviceOp[] = [];
  const notes: string[] = [];
  const creates: DeviceOp[] = [];
  const deletes: Array<{ link: KernelLink; role: number }> = [];
  for (const d of [...desired.values()].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role])) {
    const refusal = refused.get(d.name);
    if (refusal && deepEqual(refusal.device, d)) {
      notes.push(`${d.name}: ${refusal.reason}`);
      continue;
    }
    // A veth is created, configured and deleted from its access end.
    if (d.role === 'accessPeer') continue;
    const link = byName.get(d.name);
    const master = d.master === undefined ? undefined : byName.get(d.master);
    // An access port is for its bridge alone: made once the bridge is there (never, if the kernel refuses the bridge).
    if (d.role === 'access' && !link && master === undefined) continue;
    const masterIfindex = master?.ifindex;
    if (!link) {
      creates.push({ op: 'createDevice', device: d, ...(masterIfindex !== undefined ? { masterIfindex } : {}) });
      continue;
    }
    if (!isOwnedLink(link)) {
      notes.push(`${d.name} exists and is not the agent's (no alias ${OWNER_ALIAS_PREFIX}…): used as it is`);
      continue;
    }
    if (!fits(link, d)) {
      deletes.push({ link, role: ROLE_ORDER[d.role] });
      creates.push({ op: 'createDevice', device: d, ...(masterIfindex !== undefined ? { masterIfindex } : {}) });
      continue;
    }
    const peer = d.peer === undefined ? undefined : byName.get(d.peer);
    if (!link.up || (masterIfindex !== undefined && link.master !== masterIfindex) || (peer !== undefined && !peer.up)) {
      ops.push({ op: 'configureDevice', ifindex: link.ifindex, device: d, ...(masterIfindex !== undefined ? { masterIfindex } : {}) });
    }
    // VLANs belong to a bridge port: none while the bridge is missing (or refused).
    ops.push(...configOps(link.ifindex, link.master === undefined ? { ...d, vlans: [] } : d, applied.get(d.name)));
  }
  const wanted = new Set(desired.keys());
  for (const link of byName.values()) {
    if (!complete || !isOwnedLink(link) || wanted.has(link.name)) continue;
    // Deleting either end of a veth deletes both.
    if (link.alias === `${OWNER_ALIAS_PREFIX}accessPeer` && [...byName.values()].some((l) => l.alias === `${OWNER_ALIAS_PREFIX}access` && !wanted.has(l.name))) continue;
    const role = link.alias!.slice(OWNER_ALIAS_PREFIX.length) as keyof typeof ROLE_ORDER;
    deletes.push({ link, role: ROLE_ORDER[role] ?? 1 });
  }
  // Ports before their bridges; deletions before creations (a name may be reused).
  const deleteOps: DeviceOp[] = deletes.sort((a, b) => b.role - a.role).map(({ link }) => ({ op: 'deleteDevice', ifindex: link.ifindex, name: link.name }));
  return { ops: [...deleteOps, ...creates, ...ops], notes };
}

/** An owned link is the wanted device: same kind and, for VXLAN, the same parameters. */
function fits(link: KernelLink, d: DesiredDevice): boolean {
  if (link.kind !== d.kind) return false;
  if (!d.vxlan) return true;
  const v = link.vxlan;
  return v !== undefined && v.external === d.vxlan.external && v.port === d.vxlan.port && (v.local === undefined || v.local === d.vxlan.local)
    && (d.vxlan.external ? (v.vnifilter ?? false) === d.vxlan.vnifilter : v.vni === d.vxlan.vni);
}

/** VNI filter and VLAN changes since what this process applied (everything, when it applied nothing yet). */
function configOps(ifindex: number, d: DesiredDevice, had: { vnis: number[]; vlans: Array<{ vid: number; tunnelId?: number }> } | undefined): DeviceOp[] {
  const ops: DeviceOp[] = [];
  const vnis = d.vnis ?? [];
  const oldVnis = had?.vnis ?? [];
  const addVnis = had ? vnis.filter((v) => !oldVnis.includes(v)) : vnis;
  const removeVnis = oldVnis.filter((v) => !vnis.includes(v));
  if (addVnis.length + removeVnis.length > 0) ops.push({ op: 'setVniFilter', ifindex, name: d.name, add: addVnis, remove: removeVnis, target: [...vnis] });
  const vlans = d.vlans ?? [];
  const oldVlans = had?.vlans ?? [];
  const key = (v: { vid: number; tunnelId?: number }) => `${v.vid}/${v.tunnelId ?? ''}`;
  const addVlans = had ? vlans.filter((v) => !oldVlans.some((o) => key(o) === key(v))) : vlans;
  const removeVlans = oldVlans.filter((o) => !vlans.some((v) => key(o) === key(v)));
  if (addVlans.length + removeVlans.length > 0) ops.push({ op: 'setVlans', ifindex, name: d.name, add: addVlans, remove: removeVlans, target: vlans.map((v) => ({ ...v })) });
  return ops;
}
