import { readFileSync, existsSync } from 'node:fs';

/** Parses `aa:bb:cc:dd:ee:ff`. */
export function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC ${mac}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function macString(buf: Buffer, offset = 0): string {
  return [...buf.subarray(offset, offset + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6String(buf: Buffer): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(buf.readUInt16BE(i).toString(16));
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:::/, '::');
}

function checksum16(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += (buf[buf.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface UdpFrameSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload?: Buffer;
}

/** An Ethernet/IPv4/UDP frame, with a valid IPv4 header checksum. */
export function udpIpv4Frame(spec: UdpFrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(18);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(spec.srcPort, 0);
  udp.writeUInt16BE(spec.dstPort, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udp.length + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ipv4Bytes(spec.srcIp).copy(ip, 12);
  ipv4Bytes(spec.dstIp).copy(ip, 16);
  ip.writeUInt16BE(checksum16(ip), 10);
  return ethFrame(spec.dstMac, spec.srcMac, 0x0800, Buffer.concat([ip, udp, payload]));
}

export function ethFrame(dstMac: string, srcMac: string, ethType: number, payload: Buffer): Buffer {
  const eth = Buffer.alloc(14);
  macBytes(dstMac).copy(eth, 0);
  macBytes(srcMac).copy(eth, 6);
  eth.writeUInt16BE(ethType, 12);
  return Buffer.concat([eth, payload]);
}

interface ArpSpec {
  op: 1 | 2;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** An Ethernet/ARP frame for IPv4 (request: op 1, reply: op 2). */
function arpFrame(dstMac: string, a: ArpSpec): Buffer {
  const arp = Buffer.alloc(28);
  arp.writeUInt16BE(1, 0);
  arp.writeUInt16BE(0x0800, 2);
  arp[4] = 6;
  arp[5] = 4;
  arp.writeUInt16BE(a.op, 6);
  macBytes(a.senderMac).copy(arp, 8);
  ipv4Bytes(a.senderIp).copy(arp, 14);
  macBytes(a.targetMac).copy(arp, 18);
  ipv4Bytes(a.targetIp).copy(arp, 24);
  return ethFrame(dstMac, a.senderMac, 0x0806, arp);
}

/** A broadcast ARP request "who has targetIp, tell senderIp". */
export function arpRequest(senderMac: string, senderIp: string, targetIp: string): Buffer {
  return arpFrame('ff:ff:ff:ff:ff:ff', { op: 1, senderMac, senderIp, targetMac: '00:00:00:00:00:00', targetIp });
}

/** A unicast ARP reply "senderIp is at senderMac", sent to the asker. */
export function arpReply(senderMac: string, senderIp: string, targetMac: string, targetIp: string): Buffer {
  return arpFrame(targetMac, { op: 2, senderMac, senderIp, targetMac, targetIp });
}

/** Reads the frames of a classic pcap file (either byte order); a missing file has no frames. */
export function readPcap(path: string): Buffer[] {
  if (!existsSync(path)) return [];
  const data = readFileSync(path);
  if (data.length < 24) return [];
  const magic = data.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && data.readUInt32BE(0) !== 0xa1b2c3d4 && data.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${path}: not a pcap file`);
  }
  const u32 = (off: number) => (le ? data.readUInt32LE(off) : data.readUInt32BE(off));
  const frames: Buffer[] = [];
  let off = 24;
  while (off + 16 <= data.length) {
    const capLen = u32(off + 8);
    if (off + 16 + capLen > data.length) break; // a record still being written
    frames.push(data.subarray(off + 16, off + 16 + capLen));
    off += 16 + capLen;
  }
  return frames;
}

export interface VxlanFrame {
  outerSrcMac: string;
  outerDstMac: string;
  outerSrcIp: string;
  outerDstIp: string;
  udpSrcPort: number;
  udpDstPort: number;
  vni: number;
  inner: Buffer;
}

/** Decodes an Ethernet/IPv4-or-IPv6/UDP/VXLAN frame; anything else gives undefined. */
export function decodeVxlan(frame: Buffer, vxlanPort = 4789): VxlanFrame | undefined {
  if (frame.length < 14) return undefined;
  const ethType = frame.readUInt16BE(12);
  let udpOff: number;
  let srcIp: string;
  let dstIp: string;
  if (ethType === 0x0800) {
    const ihl = ((frame[14] ?? 0) & 0x0f) * 4;
    if (frame[14 + 9] !== 17) return undefined;
    srcIp = [...frame.subarray(26, 30)].join('.');
    dstIp = [...frame.subarray(30, 34)].join('.');
    udpOff = 14 + ihl;
  } else if (ethType === 0x86dd) {
    if (frame[14 + 6] !== 17) return undefined;
    srcIp = ipv6String(frame.subarray(22, 38));
    dstIp = ipv6String(frame.subarray(38, 54));
    udpOff = 54;
  } else {
    return undefined;
  }
  if (frame.length < udpOff + 16) return undefined;
  const udpDstPort = frame.readUInt16BE(udpOff + 2);
  if (udpDstPort !== vxlanPort) return undefined;
  const vxlanOff = udpOff + 8;
  return {
    outerDstMac: macString(frame, 0),
    outerSrcMac: macString(frame, 6),
    outerSrcIp: srcIp,
    outerDstIp: dstIp,
    udpSrcPort: frame.readUInt16BE(udpOff),
    udpDstPort,
    vni: frame.readUIntBE(vxlanOff + 4, 3),
    inner: frame.subarray(vxlanOff + 8),
  };
}
