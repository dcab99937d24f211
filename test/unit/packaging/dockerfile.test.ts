import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

// No container engine runs here, so the Dockerfile's structure is checked as text.
const text = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

interface Stage {
  name: string;
  from: string;
  body: string[];
}

function stages(): Stage[] {
  const args = new Map<string, string>();
  const out: Stage[] = [];
  for (const line of lines) {
    const arg = /^ARG (\w+)=(\S+)/.exec(line);
    if (arg && out.length === 0) args.set(arg[1] ?? '', arg[2] ?? '');
    const from = /^FROM (\S+) AS (\S+)/i.exec(line);
    if (from) {
      const image = (from[1] ?? '').replace(/\$\{(\w+)\}/, (_m, n: string) => args.get(n) ?? '');
      out.push({ name: from[2] ?? '', from: image, body: [] });
    } else {
      out.at(-1)?.body.push(line);
    }
  }
  return out;
}

describe('Dockerfile', () => {
  const all = stages();
  const byName = (n: string) => {
    const s = all.find((x) => x.name === n);
    if (!s) throw new Error(`no stage ${n}`);
    return s;
  };

  it('is multi-stage: build, production dependencies, runtime', () => {
    expect(all.map((s) => s.name)).toEqual(['build', 'prod-deps', 'runtime']);
  });

  it('uses a pinned Node.js LTS base in every stage: 24, the version the tests also run on', () => {
    const script = readFileSync(new URL('../../../scripts/node-lts.sh', import.meta.url), 'utf8');
    const tested = /NODE_LTS_VERSION:-(\d+\.\d+\.\d+)\}/.exec(script)?.[1];
    expect(tested).toMatch(/^24\./);
    for (const s of all) expect(s.from).toMatch(new RegExp(`^node:${tested!.replace(/\./g, '\\.')}-[a-z]+-slim(@sha256:[0-9a-f]{64})?$`));
  });

  it('declares the Node.js versions it runs on: the machines\' 20 and the image\'s LTS', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    const ranges = pkg.engines.node.split('||').map((r) => r.trim());
    const admits = (v: string) => ranges.some((r) => {
      const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(r);
      if (!m) throw new Error(`engines range ${r}: expected ^MAJOR.MINOR.PATCH`);
      const [maj, min, pat] = v.split('.').map(Number) as [number, number, number];
      return maj === Number(m[1]) && (min > Number(m[2]) || (min === Number(m[2]) && pat >= Number(m[3])));
    });
    const image = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-/m.exec(text)?.[1];
    expect(admits(image!)).toBe(true);
    expect(admits('20.19.0')).toBe(true);
    // No end-of-life or untested line is claimed.
    for (const v of ['18.20.0', '21.7.0', '22.12.0', '23.0.0', '25.0.0']) expect(admits(v), v).toBe(false);
  });

  it('builds with dev dependencies and ships production dependencies only', () => {
    expect(byName('build').body.join('\n')).toMatch(/npm ci(?![^\n]*--omit=dev)/);
    expect(byName('build').body.join('\n')).toMatch(/tsc -p tsconfig.build.json/);
    expect(byName('prod-deps').body.join('\n')).toMatch(/npm ci --omit=dev/);
    const runtime = byName('runtime').body.join('\n');
    expect(runtime).toMatch(/COPY --from=prod-deps \/src\/node_modules/);
    expect(runtime).not.toMatch(/COPY --from=build \/src\/node_modules/);
  });

  it('runs as a non-root user with the evpn-ecmp entrypoint and OCI labels', () => {
    const runtime = byName('runtime').body;
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(runtime.find((l) => l.startsWith('ENTRYPOINT'))).toBe('ENTRYPOINT ["node", "/app/bin/evpn-ecmp.js"]');
    const labels = text.match(/org\.opencontainers\.image\.[a-z]+/g) ?? [];
    expect(new Set(labels)).toEqual(new Set(['org.opencontainers.image.title', 'org.opencontainers.image.description',
      'org.opencontainers.image.version', 'org.opencontainers.image.licenses', 'org.opencontainers.image.source']));
  });

  it('keeps build leftovers out of the context', () => {
    const ignore = readFileSync(new URL('../../../.dockerignore', import.meta.url), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', '.git']) expect(ignore).toContain(p);
  });
});
