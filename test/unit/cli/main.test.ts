import { describe, expect, it, vi, afterEach } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { commands } from '../../../src/cli/commands.js';
import { ConfigError } from '../../../src/util/errors.js';

function capture() {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  return { out: () => out, err: () => err };
}

describe('evpn-ecmp CLI', () => {
  afterEach(() => vi.restoreAllMocks());

  it('--help lists every registered subcommand and exits 0', async () => {
    const io = capture();
    expect(await main(['--help'])).toBe(0);
    for (const c of commands) expect(io.out()).toContain(c.name);
    expect(io.out()).toContain('Usage: evpn-ecmp <command>');
  });

  it('loads each listed command from its module, under its own name', async () => {
    for (const entry of commands) {
      const command = await entry.load();
      expect(command.name).toBe(entry.name);
      expect(command.usage).toContain(entry.name);
    }
  });

  it('--version prints the package version', async () => {
    const io = capture();
    expect(await main(['--version'])).toBe(0);
    expect(io.out().trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command exits 2 with a one-line reason', async () => {
    const io = capture();
    expect(await main(['frobnicate'])).toBe(2);
    expect(io.err()).toBe('evpn-ecmp: unknown command "frobnicate" (see evpn-ecmp --help)\n');
  });

  it.each([
    ['an unexpected error', () => new TypeError('cannot read properties of undefined'), true],
    ['a configuration error', () => new ConfigError('kubeconfig /x does not exist'), false],
  ])('%s exits 1 with the reason on one line, then its stack only if unexpected', async (_what, make, withStack) => {
    const thrown = make();
    commands.push({ name: 'fails', summary: 'test', load: () => Promise.resolve({ name: 'fails', usage: 'fails', run: () => Promise.reject(thrown) }) });
    try {
      const io = capture();
      expect(await main(['fails'])).toBe(1);
      const [first, ...rest] = io.err().trimEnd().split('\n');
      expect(first).toBe(`evpn-ecmp fails: ${thrown.message}`);
      if (withStack) {
        expect(rest.length).toBeGreaterThan(0);
        expect(rest[0]).toMatch(/^ {2}at .*main\.test\.ts:\d+/);
      } else {
        expect(rest).toEqual([]);
      }
    } finally {
      commands.pop();
    }
  });

  it('no arguments prints help and exits 2', async () => {
    const io = capture();
    expect(await main([])).toBe(2);
    expect(io.out()).toContain('Commands:');
  });
});
