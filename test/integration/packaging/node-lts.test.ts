/**
 * The code runs on the Node.js LTS of the container image, not only on the
 * machines' Node 20: the unit suite and the CLI, on that very version
 * (scripts/node-lts.sh fetches it once through npm).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { run } from '../../harness/exec.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('on the Node.js LTS of the image', () => {
  const node = execFileSync('bash', [`${ROOT}scripts/node-lts.sh`], { encoding: 'utf8' }).trim();

  it('is the image\'s version, a 24.x LTS', async () => {
    const { stdout } = await run(node, ['-p', 'JSON.stringify([process.version, process.release.lts])']);
    const [version, lts] = JSON.parse(stdout) as [string, string | undefined];
    expect(version).toMatch(/^v24\./);
    expect(lts).toBe('Krypton');
  });

  it('runs the CLI, compiled (what the image runs)', async () => {
    const { stdout } = await run(node, [`${ROOT}bin/evpn-ecmp.js`, '--version']);
    expect(stdout.trim()).toBe((JSON.parse(execFileSync('cat', [`${ROOT}package.json`], { encoding: 'utf8' })) as { version: string }).version);
    const help = await run(node, [`${ROOT}bin/evpn-ecmp.js`, 'agent', '--help']);
    expect(help.stdout).toContain('--state-file-max-bytes');
  });

  it('passes the unit suite', async () => {
    // A vitest of its own: none of this worker's VITEST_* and NODE_ENV settings.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|TEST$|NODE_ENV$|NODE$)/.test(k)));
    // Exits non-zero (and `run` rejects) on any failure.
    const { stdout } = await run(node, [`${ROOT}node_modules/vitest/vitest.mjs`, 'run', '--project', 'unit', '--reporter=dot', '--maxWorkers=1'], {
      env: { ...env, NO_COLOR: '1', PATH: `${node.replace(/\/node$/, '')}:${process.env.PATH ?? ''}` },
      timeoutMs: 600_000,
    });
    const plain = stripVTControlCharacters(stdout);
    expect(plain).toMatch(/Test Files\s+\d+ passed \(\d+\)/);
    expect(plain).not.toMatch(/\d+ failed/);
  }, 600_000);
});
