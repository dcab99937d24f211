/**
 * Prometheus metrics with prom-client: one Registry per process (not the
 * library's global one, so tests and embedded components stay independent),
 * with the standard process/Node.js collectors under the usual names.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsRegistryOptions {
  /** Collect process_* and nodejs_* metrics (default true). */
  processMetrics?: boolean;
  /** Labels added to every series, e.g. {component: 'agent'}. */
  defaultLabels?: Record<string, string>;
}

export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The registry rendered in the Prometheus text exposition format, with its content type. */
export async function renderMetrics(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

export type { Registry } from 'prom-client';
