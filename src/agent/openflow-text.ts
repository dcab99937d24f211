/**
 * OpenFlow objects rendered in ovs-ofctl's vocabulary. Used as identity
 * (a flow is keyed by table, priority and match, as OpenFlow does for
 * strict modify/delete) and as the comparison of desired and installed
 * objects, and in logs — the text an operator would read in
 * `ovs-ofctl -O OpenFlow15 dump-flows/dump-groups`.
 */
import type { OfAction, OfFlow, OfGroup, OfMatch } from './model.js';

export function matchText(m: OfMatch): string {
  const parts: string[] = [];
  if (m.inPort !== undefined) parts.push(`in_port=${m.inPort}`);
  if (m.tunId !== undefined) parts.push(`tun_id=0x${m.tunId.toString(16)}`);
  if (m.metadata !== undefined) parts.push(`metadata=0x${m.metadata.toString(16)}`);
  if (m.ethDst !== undefined) parts.push(`dl_dst=${m.ethDst}`);
  return parts.join(',');
}

function fullMatchText(f: Pick<OfFlow, 'match' | 'foreignMatch'>): string {
  const m = matchText(f.match);
  return f.foreignMatch ? (m ? `${m},${f.foreignMatch}` : f.foreignMatch) : m;
}

/** Identity of a flow in OpenFlow: table, priority, match. */
export function flowKey(f: Pick<OfFlow, 'table' | 'priority' | 'match' | 'foreignMatch'>): string {
  return `table=${f.table},priority=${f.priority},${fullMatchText(f)}`;
}

export function actionText(a: OfAction): string {
  switch (a.type) {
    case 'setTunId':
      return `set_field:0x${a.value.toString(16)}->tun_id`;
    case 'setTunDst':
      return a.ip.includes(':') ? `set_field:${a.ip}->tun_ipv6_dst` : `set_field:${a.ip}->tun_dst`;
    case 'group':
      return `group:${a.groupId}`;
    case 'output':
      return `output:${a.port}`;
    case 'other':
      return a.text;
  }
}

/** Everything after the key: cookie and instructions. */
export function flowBody(f: OfFlow): string {
  const parts = f.actions.map(actionText);
  if (f.writeMetadata !== undefined) parts.push(`write_metadata:0x${f.writeMetadata.toString(16)}`);
  if (f.gotoTable !== undefined) parts.push(`goto_table:${f.gotoTable}`);
  return `cookie=0x${f.cookie.toString(16)},actions=${parts.join(',') || 'drop'}`;
}

export function flowText(f: OfFlow): string {
  return `${flowKey(f)} ${flowBody(f)}`;
}

export function groupText(g: OfGroup): string {
  const buckets = g.buckets.map((b) => `bucket=bucket_id:${b.bucketId},weight:${b.weight},actions=${actionText({ type: 'setTunDst', ip: b.tunDst })},output:${b.outPort}`);
  return `group_id=${g.groupId},type=select,selection_method=${g.selectionMethod},${buckets.join(',')}${g.foreign ? `,${g.foreign}` : ''}`;
}
