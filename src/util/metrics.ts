/**
 * Prometheus metrics with prom-client: one Registry per process (not the
 * library's global one, so tests and embedded components stay independent),
 * with the standard process/Node.js collectors under the usual names.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { packageVersion } from './version.js';

export interface MetricsRegistryOptions {
  /** Collect process_* and nodejs_* metrics (default true). */
  processMetrics?: boolean;
  /** Labels added to every series, e.g. {component: 'agent'}. */
  defaultLabels?: Record<string, string>;
}

/** Name of the constant-1 series whose labels say what is running (the `<program>_build_info` convention). */
export const BUILD_INFO_METRIC = 'evpn_ecmp_build_info';

export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  new Gauge({
    name: BUILD_INFO_METRIC,
    help: 'Always 1; the labels name the running version of evpn-ecmp and of Node.js.',
    labelNames: ['version', 'nodejs_version'],
    registers: [registry],
  }).set({ version: packageVersion(), nodejs_version: process.version }, 1);
  return registry;
}

/** The registry rendered in the Prometheus text exposition format, with its content type. */
export async function renderMetrics(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

export type { Registry } from 'prom-client';
