/**
 * ofInstalled — input node: what Open vSwitch holds of ours, as far as the
 * engine needs it. News from ofctrl (src/agent/ofctrl.ts), which alone
 * talks to the bridge.
 *
 * Consumes: after each (re)connect, the ids a previous agent gave out,
 * recovered from the installed flows (an ECMP flow's cookie names its
 * kernel nhid, a flood flow names its VNI's group — see pipeline.ts
 * `recognize`), and the hash-slot tables of the installed dp_hash groups;
 * after each read of the bridge, the group ids it holds in our range, and
 * after each commit, the ids it added and deleted.
 * Produces: those, as data; tracked: whether the adoption changed (a
 * reconnect) and which group ids left the bridge.
 */
import type { EngineNode } from '../engine.js';

export interface Adoption {
  /** kernel nexthop group id → OpenFlow group id found installed. */
  groups: ReadonlyMap<number, number>;
  /** VNI → flood group id found installed. */
  floodGroups: ReadonlyMap<number, number>;
  /** OpenFlow group id → the hash-slot table (slot → VTEP) of an installed dp_hash group. */
  slots: ReadonlyMap<number, readonly string[]>;
}

export interface OfInstalledData {
  adopted: Adoption;
  /** Group ids (select and `all`) the bridge holds in our range. */
  groupIds: ReadonlySet<number>;
  tracked: { adoptedChanged: boolean; deletedGroupIds: Set<number> };
}

export interface OfInstalledNode extends EngineNode<OfInstalledData> {
  /** Every group id of ours the bridge holds, as just read; after a (re)connect, with the ids to adopt. */
  read(groupIds: Iterable<number>, adoption?: Adoption): void;
  /** A committed bundle added and deleted these group ids. */
  committed(added: Iterable<number>, deleted: Iterable<number>): void;
}

const NOTHING: Adoption = { groups: new Map(), floodGroups: new Map(), slots: new Map() };

export function createOfInstalledNode(): OfInstalledNode {
  type News = { adoption: Adoption | undefined; groupIds: number[] } | { added: number[]; deleted: number[] };
  const queue: News[] = [];
  const groupIds = new Set<number>();
  const data: OfInstalledData = { adopted: NOTHING, groupIds, tracked: { adoptedChanged: false, deletedGroupIds: new Set() } };
  const remove = (id: number): void => {
    if (groupIds.delete(id)) data.tracked.deletedGroupIds.add(id);
  };
  return {
    name: 'ofInstalled',
    inputs: [],
    data,
    read(ids, adoption) {
      queue.push({ adoption, groupIds: [...ids] });
    },
    committed(added, deleted) {
      queue.push({ added: [...added], deleted: [...deleted] });
    },
    recompute() {
      for (const news of queue.splice(0)) {
        if ('groupIds' in news) {
          if (news.adoption) {
            // Always news, even when equal to the last adoption: what OVS holds
            // after a reconnect replaces any slot table the agent computed but
            // never got installed.
            data.adopted = news.adoption;
            data.tracked.adoptedChanged = true;
          }
          const now = new Set(news.groupIds);
          for (const id of [...groupIds]) if (!now.has(id)) remove(id);
          for (const id of now) groupIds.add(id);
        } else {
          for (const id of news.deleted) remove(id);
          for (const id of news.added) groupIds.add(id);
        }
      }
      return data.tracked.adoptedChanged || data.tracked.deletedGroupIds.size > 0 ? 'updated' : 'unchanged';
    },
    clearTracked() {
      data.tracked.adoptedChanged = false;
      data.tracked.deletedGroupIds.clear();
    },
  };
}
