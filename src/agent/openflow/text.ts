/**
 * The agent's OpenFlow objects in ovs-ofctl's words, for logs, drift
 * messages and tests (identity and equality are structural: pipeline.ts
 * flowKey, diff.ts). Installed parts the agent never writes (`foreignMatch`,
 * `other` actions, a group's `foreign` mark) are already text and are
 * appended as they are.
 */
import { formatAction, formatGroup, formatInstructions, formatMatch } from '../../lib/openflow/index.js';
import type { OfFlow, OfGroup } from '../model.js';
import { instructionsOf, toLibAction, toLibBuckets, toLibMatch, type OfChange } from './pipeline.js';

export function flowText(f: OfFlow): string {
  const match = [formatMatch(toLibMatch(f.match)), f.foreignMatch].filter(Boolean).join(',');
  const actions = f.actions.map((a) => (a.type === 'other' ? a.text : formatAction(toLibAction(a))));
  const rest = instructionsOf({ ...f, actions: [] });
  if (rest.length > 0) actions.push(formatInstructions(rest));
  return `table=${f.table},priority=${f.priority}${match ? `,${match}` : ''} cookie=0x${f.cookie.toString(16)},actions=${actions.join(',') || 'drop'}`;
}

/** Every select bucket's weight spelt out (ovs-ofctl omits weight 1; a path's weight is what logs are read for). */
export function groupText(g: OfGroup): string {
  const text = formatGroup(
    { groupId: g.groupId, type: g.type, buckets: toLibBuckets(g), ...(g.selectionMethod ? { selectionMethod: { name: g.selectionMethod } } : {}) },
    { explicitWeights: true },
  );
  return g.foreign ? `${text},${g.foreign}` : text;
}

export function describeChange(c: OfChange): string {
  if (c.kind === 'flow') return `flow ${c.command} ${flowText(c.flow)}`;
  return `${c.group.type === 'all' ? 'flood group' : 'group'} ${c.command} ${groupText(c.group)}`;
}
