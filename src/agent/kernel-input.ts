/**
 * Feeds observed kernel state into the engine's input nodes, in the order
 * the kernel reported it.
 */
import type { AgentGraph } from './engine/graph.js';
import type { KernelEvent, KernelSnapshot } from './model.js';

export function applyKernelEvent(graph: Pick<AgentGraph, 'links' | 'nexthops' | 'fdb'>, ev: KernelEvent): void {
  switch (ev.kind) {
    case 'link':
      if (ev.op === 'new') graph.links.upsert(ev.link);
      else graph.links.remove(ev.link.ifindex);
      return;
    case 'nexthop':
      if (ev.op === 'new') {
        graph.nexthops.upsert(ev.nexthop);
      } else {
        graph.nexthops.remove(ev.nexthop.id);
        // The kernel removes a deleted group's FDB entries without telling.
        graph.fdb.nexthopDeleted(ev.nexthop.id);
      }
      return;
    case 'fdb':
      if (ev.op === 'new') graph.fdb.upsert(ev.entry);
      else graph.fdb.remove(ev.entry);
      return;
  }
}

/** A full dump (initial, or after ENOBUFS / an interrupted dump): the input nodes diff it. */
export function applyKernelSnapshot(graph: Pick<AgentGraph, 'links' | 'nexthops' | 'fdb'>, snapshot: KernelSnapshot): void {
  graph.links.replaceAll(snapshot.links);
  graph.nexthops.replaceAll(snapshot.nexthops);
  graph.fdb.replaceAll(snapshot.fdb);
}
