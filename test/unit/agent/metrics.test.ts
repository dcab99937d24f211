import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../../src/agent/metrics.js';
import { createMetricsRegistry } from '../../../src/util/metrics.js';

describe('agent metrics', () => {
  it('exports the engine\'s per-node counts as counters named _total, labelled engine_node', async () => {
    const stats = { ofDesired: { recompute: 2, incremental: 5, unchanged: 1, timeMs: 250 }, fdb: { recompute: 1, incremental: 0, unchanged: 7, timeMs: 4 } };
    const registry = createMetricsRegistry({ processMetrics: false });
    new AgentMetrics(registry, { nodeStats: () => stats });
    let text = await registry.metrics();
    for (const name of ['recomputes', 'incremental_runs', 'unchanged_runs', 'seconds']) {
      expect(text).toContain(`# TYPE evpn_agent_engine_${name}_total counter`);
    }
    expect(text).toContain('evpn_agent_engine_recomputes_total{engine_node="ofDesired"} 2');
    expect(text).toContain('evpn_agent_engine_unchanged_runs_total{engine_node="fdb"} 7');
    expect(text).toContain('evpn_agent_engine_seconds_total{engine_node="ofDesired"} 0.25');
    // `node` is a Kubernetes node everywhere else.
    expect(text).not.toMatch(/\{node="/);
    // Read at scrape time: the next scrape shows the engine's new counts.
    stats.ofDesired.recompute = 3;
    text = await registry.metrics();
    expect(text).toContain('evpn_agent_engine_recomputes_total{engine_node="ofDesired"} 3');
  });

  it('names every counter with _total and no gauge with it', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    new AgentMetrics(registry, { nodeStats: () => ({}) });
    const metrics = await registry.getMetricsAsJSON();
    expect(metrics.length).toBeGreaterThan(10);
    for (const { name, type } of metrics) {
      if (String(type) === 'counter') expect(name, name).toMatch(/_total$/);
      else expect(name, name).not.toMatch(/_total$/);
    }
  });
});
