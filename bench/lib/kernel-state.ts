import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { bigGroupId, extraMac, groupId, groupMembers, mac, macGroup, vtepIp, VNI, VXLAN_DEV, type Scale } from './scale.js';

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
}

/**
 * Builds the benchmark's kernel state in the current network namespace with
 * iproute2 batches (the bench process runs inside its own namespace). The
 * VXLAN device never emits: no address, no link-local, no learning.
 */
export function loadKernelState(scale: Scale, protocol = 'static'): void {
  const dir = mkdtempSync(join(tmpdir(), 'evpn-bench-'));
  try {
    sh('ip', ['link', 'add', VXLAN_DEV, 'type', 'vxlan', 'id', String(VNI), 'dstport', '4789', 'nolearning', 'local', '192.0.2.1']);
    sh('ip', ['link', 'set', VXLAN_DEV, 'addrgenmode', 'none']);
    sh('ip', ['link', 'set', VXLAN_DEV, 'up']);
    const nh: string[] = [];
    for (let v = 0; v < scale.vteps; v++) nh.push(`nexthop add id ${v + 1} via ${vtepIp(v)} fdb proto ${protocol}`);
    for (let g = 0; g < scale.groups; g++) {
      const members = groupMembers(scale, g).map((m) => `${m.vtep + 1},${m.weight}`).join('/');
      nh.push(`nexthop add id ${groupId(g)} group ${members} fdb proto ${protocol}`);
    }
    writeFileSync(join(dir, 'nexthops'), nh.join('\n') + '\n');
    sh('ip', ['-batch', join(dir, 'nexthops')]);
    const fdb: string[] = [];
    for (let i = 0; i < scale.macs; i++) {
      fdb.push(`fdb add ${mac(i)} dev ${VXLAN_DEV} self static extern_learn nhid ${groupId(macGroup(scale, i))}`);
    }
    writeFileSync(join(dir, 'fdb'), fdb.join('\n') + '\n');
    sh('bridge', ['-batch', join(dir, 'fdb')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes what loadKernelState made (deleting the device drops its FDB; groups before members). */
export function clearKernelState(scale: Scale): void {
  try {
    sh('ip', ['link', 'del', VXLAN_DEV]);
  } catch {
    // not there
  }
  try {
    sh('ip', ['nexthop', 'flush']);
  } catch {
    // nothing to flush
  }
  void scale;
}

/** B4's group "used by N MACs": one more fdb group of 4 members and its FDB entries. */
export function loadBigGroup(scale: Scale, macs: number, protocol = 'static'): void {
  const dir = mkdtempSync(join(tmpdir(), 'evpn-bench-'));
  try {
    const members = [0, 1, 2, 3].map((k) => `${(k % scale.vteps) + 1},${k + 1}`).join('/');
    sh('ip', ['nexthop', 'add', 'id', String(bigGroupId(scale)), 'group', members, 'fdb', 'proto', protocol]);
    const fdb: string[] = [];
    for (let k = 0; k < macs; k++) fdb.push(`fdb add ${extraMac(scale, k)} dev ${VXLAN_DEV} self static extern_learn nhid ${bigGroupId(scale)}`);
    writeFileSync(join(dir, 'fdb'), fdb.join('\n') + '\n');
    sh('bridge', ['-batch', join(dir, 'fdb')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
