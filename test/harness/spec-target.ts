import type { NodeSpec, SpecUpdate } from '../../src/agent/model.js';

/** What NodeStateSource hands the agent, recorded: whole specs, updates (parts of one) and refusals. */
export class SpecTarget {
  specs: NodeSpec[] = [];
  updates: SpecUpdate[] = [];
  rejections: string[] = [];
  setSpec(spec: NodeSpec): void {
    this.specs.push(spec);
  }
  updateSpec(update: SpecUpdate): void {
    this.updates.push(update);
  }
  rejectSpec(message: string): void {
    this.rejections.push(message);
  }
  /** The last update, in short: `+name@generation` (`!` when invalid) and `-name`. */
  get last(): string[] {
    const u = this.updates.at(-1);
    return u ? [...(u.groups ?? []).map((g) => `+${g.name}@${g.generation}${g.invalid ? '!' : ''}`), ...(u.removed ?? []).map((n) => `-${n}`)] : [];
  }
}
