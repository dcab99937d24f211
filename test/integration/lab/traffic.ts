/**
 * Traffic helpers for the lab's end-to-end tests: frames of distinct flows,
 * injected in batches (netdev-dummy/receive takes several packets per call,
 * which keeps 10,000 frames to a hundred ovs-appctl runs), and what the
 * pcaps recorded, keyed by flow.
 */
import { existsSync } from 'node:fs';
import type { OvsInstance } from '../../../src/lab/ovs-instance.js';
import { decodeVxlan, macString, readPcap, udpIpv4Frame, type VxlanFrame } from '../../harness/packet.js';

export interface FlowSpec {
  srcMac: string;
  dstMac: string;
  /** Flow number; it picks the source address and port, so every number is a distinct 5-tuple. */
  index: number;
}

/** Flow `index` as an IPv4/UDP frame: source 10.<hi>.<lo>.1, port 1024+index%50000, to 10.255.0.1:80. */
export function flowFrame(f: FlowSpec): Buffer {
  const hi = (f.index >> 8) & 0xff;
  const lo = f.index & 0xff;
  return udpIpv4Frame({
    srcMac: f.srcMac,
    dstMac: f.dstMac,
    srcIp: `10.${hi}.${lo}.1`,
    dstIp: '10.255.0.1',
    srcPort: 1024 + (f.index % 50_000),
    dstPort: 80,
  });
}

/** The flow number of an inner frame built by flowFrame; undefined for anything else. */
export function flowIndex(inner: Buffer): number | undefined {
  if (inner.length < 42 || inner.readUInt16BE(12) !== 0x0800 || inner[23] !== 17) return undefined;
  if (inner[26] !== 10 || inner[29] !== 1) return undefined;
  return ((inner[27] ?? 0) << 8) | (inner[28] ?? 0);
}

export function dstMac(frame: Buffer): string {
  return macString(frame, 0);
}

/**
 * Injects frames as if they arrived on `port`, `batch` per ovs-appctl call,
 * and after each batch waits until `delivered()` (a counter further along
 * the path) has grown by as many. netdev-dummy queues at most 100 received
 * frames per port and drops the rest, so an unpaced burst of thousands
 * loses frames before Open vSwitch ever sees them.
 */
export async function inject(ovs: OvsInstance, port: string, frames: Buffer[], opts: { batch?: number; delivered?: () => Promise<number> } = {}): Promise<void> {
  const batch = opts.batch ?? 50;
  const base = opts.delivered ? await opts.delivered() : 0;
  for (let i = 0; i < frames.length; i += batch) {
    const chunk = frames.slice(i, i + batch);
    await ovs.appctl('netdev-dummy/receive', port, ...chunk.map((f) => f.toString('hex')));
    if (opts.delivered) {
      const want = base + i + chunk.length;
      const deadline = Date.now() + 5_000;
      // A lost frame never arrives: give up waiting on it, the caller's count shows it.
      while ((await opts.delivered()) < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** Frames a port has transmitted so far, from OpenFlow port stats (current, unlike the OVSDB statistics column). */
export async function txPackets(ovs: OvsInstance, bridge: string, port: string): Promise<number> {
  const { stdout } = await ovs.ofctl('dump-ports', bridge, port);
  const m = /tx pkts=(\d+)/.exec(stdout);
  if (!m) throw new Error(`no tx counter for ${port} in:\n${stdout}`);
  return Number(m[1]);
}

export function pcapFrames(path: string): Buffer[] {
  return existsSync(path) ? readPcap(path) : [];
}

export function vxlanFrames(path: string): VxlanFrame[] {
  return pcapFrames(path)
    .map((f) => decodeVxlan(f))
    .filter((f): f is VxlanFrame => f !== undefined);
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
