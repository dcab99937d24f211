import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Gauge } from 'prom-client';
import { createMetricsRegistry, renderMetrics } from '../../../src/util/metrics.js';
import { sleep } from '../../../src/util/shutdown.js';

describe('createMetricsRegistry', () => {
  it('collects process metrics and applies default labels, independent of the global registry', async () => {
    const registry = createMetricsRegistry({ defaultLabels: { component: 'operator' } });
    new Gauge({ name: 'evpn_test_gauge', help: 'x', registers: [registry] }).set(7);
    const { contentType, body } = await renderMetrics(registry);
    expect(contentType).toContain('text/plain');
    expect(body).toContain('evpn_test_gauge{component="operator"} 7');
    expect(body).toMatch(/^process_cpu_seconds_total\{component="operator"\} /m);
    expect(await createMetricsRegistry({ processMetrics: false }).metrics()).not.toMatch(/^process_/m);
  });

  it('says what is running: evpn_ecmp_build_info 1 with the version of the package and of Node.js', async () => {
    const registry = createMetricsRegistry({ processMetrics: false, defaultLabels: { component: 'agent' } });
    const { body } = await renderMetrics(registry);
    const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(body).toContain('# TYPE evpn_ecmp_build_info gauge');
    expect(body).toContain(`evpn_ecmp_build_info{version="${version}",nodejs_version="${process.version}",component="agent"} 1`);
  });
});

describe('sleep', () => {
  it('returns early when aborted', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    await p;
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
