import { macFromBytes } from './addresses.js';
import { OFP13, type OfVersion } from './constants.js';
import { pad8, type Reader } from './wire.js';

/** A switch port as PORT_DESC reports it (wire.md A5; OpenFlow 1.3 §7.2.1, 1.5 §7.2.1). */
export interface PortDesc {
  portNo: number;
  hwAddr: string;
  name: string;
  config: number;
  state: number;
  /** 1.5 port properties (e.g. ethernet speeds), raw. */
  properties?: { type: number; body: string }[];
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

export function readPortDescEntries(r: Reader, version: OfVersion): PortDesc[] {
  const out: PortDesc[] = [];
  while (r.remaining > 0) {
    const field = `port[${out.length}]`;
    if (version === OFP13) {
      const e = r.sub(64, field);
      const portNo = e.u32('port_no');
      e.skip(4, 'pad');
      const hwAddr = macFromBytes(e.bytes(6, 'hw_addr'));
      e.skip(2, 'pad2');
      const name = cString(e.bytes(16, 'name'));
      out.push({ portNo, hwAddr, name, config: e.u32('config'), state: e.u32('state') });
      continue;
    }
    const portNo = r.u32(`${field}.port_no`);
    const at = r.offset;
    const len = r.u16(`${field}.length`);
    if (len < 40) throw r.fail(`${field}.length`, `port length ${len} < 40`, at);
    const e = r.sub(len - 6, field);
    e.skip(2, 'pad');
    const hwAddr = macFromBytes(e.bytes(6, 'hw_addr'));
    e.skip(2, 'pad2');
    const name = cString(e.bytes(16, 'name'));
    const port: PortDesc = { portNo, hwAddr, name, config: e.u32('config'), state: e.u32('state') };
    while (e.remaining > 0) {
      const pat = e.offset;
      const type = e.u16('property.type');
      const plen = e.u16('property.len');
      if (plen < 4) throw e.fail('property.len', `property length ${plen} < 4`, pat + 2);
      const body = e.bytes(plen - 4, 'property.body');
      e.skip(Math.min(pad8(plen) - plen, e.remaining), 'property.padding');
      (port.properties ??= []).push({ type, body: body.toString('hex') });
    }
    out.push(port);
  }
  return out;
}
