/**
 * The agent's OpenFlow objects as text, in ovs-ofctl's vocabulary: the
 * identity of a flow (table, priority and match, as OpenFlow names a flow
 * for strict modify/delete), the comparison of desired and installed
 * objects, and the lines in logs and drift messages.
 *
 * All of it is src/lib/openflow's canonical text (canonical.ts, format.ts)
 * of the library objects the edge would send (edge/openflow.ts), so two
 * objects compare equal exactly when Open vSwitch would hold the same
 * thing (address spelling, default masks). Installed parts the agent never
 * writes (`foreignMatch`, `other` actions, a group's `foreign` mark) are
 * already text and are appended as they are.
 */
import { canonicalAction, canonicalGroup, canonicalMatch, flowIdentity, formatAction, formatGroup, formatInstructions, formatMatch, type Bucket, type Instruction } from '../lib/openflow/index.js';
import type { OfAction, OfFlow, OfGroup, OfMatch } from './model.js';
import { toLibAction, toLibMatch } from './edge/openflow.js';

export function matchText(m: OfMatch): string {
  return formatMatch(canonicalMatch(toLibMatch(m)));
}

/** Identity of a flow in OpenFlow: table, priority, match. */
export function flowKey(f: Pick<OfFlow, 'table' | 'priority' | 'match' | 'foreignMatch'>): string {
  const identity = flowIdentity({ tableId: f.table, priority: f.priority, match: toLibMatch(f.match), instructions: [], cookie: 0n });
  return f.foreignMatch ? `${identity},${f.foreignMatch}` : identity;
}

export function actionText(a: OfAction): string {
  return a.type === 'other' ? a.text : formatAction(canonicalAction(toLibAction(a)));
}

/** Everything after the key: cookie and instructions. */
export function flowBody(f: OfFlow): string {
  const parts = f.actions.map(actionText);
  const rest: Instruction[] = [];
  if (f.writeMetadata !== undefined) rest.push({ type: 'writeMetadata', metadata: f.writeMetadata, mask: 0xffffffffffffffffn });
  if (f.gotoTable !== undefined) rest.push({ type: 'gotoTable', tableId: f.gotoTable });
  if (rest.length > 0) parts.push(formatInstructions(rest));
  return `cookie=0x${f.cookie.toString(16)},actions=${parts.join(',') || 'drop'}`;
}

export function flowText(f: OfFlow): string {
  return `${flowKey(f)} ${flowBody(f)}`;
}

/**
 * A select group with every bucket's weight spelt out (ovs-ofctl omits
 * weight 1; a path's weight is what status and logs are read for).
 */
export function groupText(g: OfGroup): string {
  const buckets = g.buckets.map((b): Bucket => {
    // An installed bucket of a foreign shape has no tunnel destination or
    // output (edge/openflow.ts marks the group foreign): leave them out.
    const actions: OfAction[] = [];
    if (b.tunDst !== '') actions.push({ type: 'setTunDst', ip: b.tunDst });
    if (b.outPort >= 0) actions.push({ type: 'output', port: b.outPort });
    return { bucketId: b.bucketId, weight: b.weight, actions: actions.map(toLibAction) };
  });
  const text = formatGroup(canonicalGroup({ groupId: g.groupId, type: 'select', selectionMethod: { name: g.selectionMethod }, buckets }), { explicitWeights: true });
  return g.foreign ? `${text},${g.foreign}` : text;
}

/**
 * Whether Open vSwitch would hold the same group: field by field first
 * (cheap, and a dp_hash group has up to 256 buckets), the canonical text
 * only when a field differs (another spelling of the same address).
 */
export function sameGroup(a: OfGroup, b: OfGroup): boolean {
  if (a === b) return true;
  const sameFields = a.groupId === b.groupId && a.selectionMethod === b.selectionMethod && a.foreign === b.foreign && a.buckets.length === b.buckets.length
    && a.buckets.every((x, i) => {
      const y = b.buckets[i]!;
      return x.bucketId === y.bucketId && x.weight === y.weight && x.tunDst === y.tunDst && x.outPort === y.outPort;
    });
  return sameFields || groupText(a) === groupText(b);
}
