import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';
import { parseDuration } from '../../../src/cli/operator.js';

function capture() {
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  return () => err;
}

describe('evpn-ecmp operator flags and configuration', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--metrics-addr', 'nonsense'], /--metrics-addr: invalid listen address "nonsense"/],
    [['--health-addr', '1.2.3.4:99999'], /--health-addr: invalid listen address/],
    [['--lease-duration', '5s'], /--lease-duration > --renew-deadline > --retry-period/],
    [['--retry-period', 'soon'], /--retry-period: invalid duration "soon"/],
    [['--workers', '0'], /--workers: expected an integer 1-64/],
    [['--log-level', 'loud'], /--log-level: invalid log level "loud"/],
  ])('%j exits 2 with a one-line reason', async (args, reason) => {
    const err = capture();
    expect(await main(['operator', ...args])).toBe(2);
    expect(err()).toMatch(reason);
    expect(err().trimEnd().split('\n')).toHaveLength(1);
  });

  it('an unreadable kubeconfig exits 1 with a one-line reason', async () => {
    const err = capture();
    expect(await main(['operator', '--kubeconfig', '/nonexistent/kubeconfig', '--metrics-addr', '0', '--health-addr', '0'])).toBe(1);
    expect(err()).toMatch(/^evpn-ecmp operator: cannot load kubeconfig \/nonexistent\/kubeconfig: ENOENT/);
    expect(err().trimEnd().split('\n')).toHaveLength(1);
  });

  it('a kubeconfig without a cluster exits 1 naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evpn-unit-'));
    try {
      const file = join(dir, 'config');
      writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
      const err = capture();
      expect(await main(['operator', '--kubeconfig', file, '--metrics-addr', '0', '--health-addr', '0'])).toBe(1);
      expect(err()).toMatch(/names no cluster server/);
      writeFileSync(file, ':\n  - [unbalanced');
      expect(await main(['operator', '--kubeconfig', file, '--metrics-addr', '0', '--health-addr', '0'])).toBe(1);
      expect(err()).toMatch(/cannot load kubeconfig/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseDuration', () => {
  it.each([
    ['15s', 15_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['2h', 7_200_000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text, 'x')).toBe(ms);
  });
  it.each(['', '15', 's', '0s', '1x', '10s junk'])('rejects %j', (text) => {
    expect(() => parseDuration(text, 'lease-duration')).toThrow(/--lease-duration: invalid duration/);
  });
});
