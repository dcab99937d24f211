/**
 * The VtepGroups of this node's fabric as the agent reads them itself
 * (VtepNodeState `spec.groupsFrom: VtepGroups`), and which of them its node
 * runs.
 *
 * Membership is src/api/membership.ts's rule, the one the operator counts a
 * group's nodes by: a group applies when it is of the node's fabric, is not
 * being deleted, and its nodeSelector picks the node's labels. It is carried
 * as `nodeGroupOf` renders it (generation stamped: status echoes it as
 * appliedGeneration), with the per-node checks of spec.ts (a bad VTEP makes
 * that group Invalid). A VtepGroup that fails its schema — an object written
 * under another version of the CRD — is that group Invalid with the field
 * named, on the nodes it applies to; the others are not affected.
 *
 * Cost: changes are noted by name and `takeChanges` compares only the names
 * noted with what the node runs, so one VtepGroup event among 10,000 costs
 * that group. New labels or new settings (fabric, local VTEP) re-decide every
 * group, a list (start, 410 Gone) compares the whole set — and either way
 * only the difference is handed on. An update that changes neither a
 * group's generation nor its deletion mark (the operator writing its READY
 * status, a label) is dropped before any parsing.
 */
import { API_GROUP_VERSION, checkVtepGroup, groupAppliesTo, labelSelector, nodeGroupOf, unicastMac, vni as vniSchema, type GroupObject } from '../../api/index.js';
import { sameSpecGroup, type SpecGroup } from '../model.js';
import { specGroupFrom } from '../spec.js';
import { metaOf, type KubeObject } from './reflector.js';

interface CachedGroup {
  /** Generation and deletion mark: what must change for the object to be read again. */
  key: string;
  object: GroupObject;
  /** Why the object failed its schema, naming the fields (the group is Invalid). */
  problem?: string;
  /** Its nodeSelector could not be read: where it applies cannot be known, so every node of the fabric reports it. */
  selectorUnreadable?: boolean;
  /** The group as the node carries it, for the local VTEP it was rendered for. */
  rendered?: { localVtepIP: string; group: SpecGroup };
}

/** What the node's groups gained, changed or lost since the last call. */
export interface GroupChanges {
  groups: SpecGroup[];
  removed: string[];
}

export class NodeGroups {
  private cache = new Map<string, CachedGroup>();
  /** What the node runs, by name (handed to the agent). */
  private readonly running = new Map<string, SpecGroup>();
  private readonly noted = new Set<string>();
  private everything = false;
  private fabric: string | undefined;
  private localVtepIP: string | undefined;
  private labels: Record<string, string> | undefined;

  /** VtepGroups of the fabric held. */
  get size(): number {
    return this.cache.size;
  }

  /** Groups the node runs. */
  get runningCount(): number {
    return this.running.size;
  }

  /** The node's fabric and local VTEP (its VtepNodeState): a change re-decides every group. */
  setSettings(fabric: string, localVtepIP: string): void {
    if (fabric === this.fabric && localVtepIP === this.localVtepIP) return;
    this.fabric = fabric;
    this.localVtepIP = localVtepIP;
    this.everything = true;
  }

  /** The node's labels (its Node object; undefined when there is none): a change re-decides every group. */
  setLabels(labels: Record<string, string> | undefined): void {
    if (sameLabels(labels, this.labels)) return;
    this.labels = labels;
    this.everything = true;
  }

  /** What the node runs already (groups listed in its spec before it switched to VtepGroups): the first changes are relative to it. */
  adopt(groups: readonly SpecGroup[]): void {
    this.running.clear();
    for (const g of groups) this.running.set(g.name, g);
    this.everything = true;
  }

  /** A list's answer: every VtepGroup of the fabric. Objects whose generation did not change are not read again. */
  replace(objects: readonly KubeObject[]): void {
    const next = new Map<string, CachedGroup>();
    for (const obj of objects) {
      const name = metaOf(obj).name;
      if (typeof name !== 'string') continue;
      const old = this.cache.get(name);
      next.set(name, old?.key === keyOf(obj) ? old : read(obj, name));
    }
    this.cache = next;
    this.everything = true;
  }

  /** One watch event. */
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const name = metaOf(obj).name;
    if (typeof name !== 'string') return;
    if (type === 'DELETED') {
      if (this.cache.delete(name)) this.noted.add(name);
      return;
    }
    if (this.cache.get(name)?.key === keyOf(obj)) return;
    this.cache.set(name, read(obj, name));
    this.noted.add(name);
  }

  /** Forgets the fabric's VtepGroups (another fabric's are about to be listed); what runs stays until the next changes are taken. */
  forget(): void {
    this.cache.clear();
    this.everything = true;
  }

  /** The node stops running any group (its VtepNodeState is gone): the names it ran. */
  withdrawAll(): string[] {
    const names = [...this.running.keys()];
    this.running.clear();
    this.cache.clear();
    this.noted.clear();
    this.everything = false;
    return names;
  }

  /** The difference between what the node runs and what it should, for the groups noted since the last call. */
  takeChanges(): GroupChanges {
    const changes: GroupChanges = { groups: [], removed: [] };
    const names = this.everything ? new Set([...this.cache.keys(), ...this.running.keys()]) : this.noted;
    for (const name of names) {
      const want = this.desired(name);
      const have = this.running.get(name);
      if (want === undefined) {
        if (have !== undefined) {
          this.running.delete(name);
          changes.removed.push(name);
        }
      } else if (have === undefined || !sameSpecGroup(have, want)) {
        this.running.set(name, want);
        changes.groups.push(want);
      }
    }
    this.noted.clear();
    this.everything = false;
    return changes;
  }

  private desired(name: string): SpecGroup | undefined {
    const c = this.cache.get(name);
    const { fabric, localVtepIP } = this;
    if (c === undefined || fabric === undefined || localVtepIP === undefined) return undefined;
    const applies = c.selectorUnreadable
      ? c.object.metadata.deletionTimestamp === undefined && c.object.spec.fabric === fabric
      : groupAppliesTo(c.object, fabric, this.labels);
    if (!applies) return undefined;
    if (c.rendered?.localVtepIP !== localVtepIP) c.rendered = { localVtepIP, group: render(c, localVtepIP) };
    return c.rendered.group;
  }
}

function render(c: CachedGroup, localVtepIP: string): SpecGroup {
  if (c.problem === undefined) return specGroupFrom(nodeGroupOf(c.object), localVtepIP);
  const { metadata, spec } = c.object;
  // Nothing of it is written (its last good version, if any, is kept); its VNI and MACs let a restarted agent find what the kernel holds for it.
  return { name: metadata.name, generation: metadata.generation ?? 0, vni: spec.vni, vteps: [], macs: spec.macs ?? [], invalid: c.problem };
}

function keyOf(obj: KubeObject): string {
  const meta = metaOf(obj);
  return `${String(meta.generation)}/${typeof meta.deletionTimestamp === 'string' ? meta.deletionTimestamp : ''}`;
}

/** Reads one VtepGroup: checked against its schema, or as much of it as can be read. */
function read(obj: KubeObject, name: string): CachedGroup {
  const key = keyOf(obj);
  // Only metadata and spec are the agent's input: the operator's status must not make a good group fail.
  const checked = checkVtepGroup({ apiVersion: API_GROUP_VERSION, kind: 'VtepGroup', metadata: obj.metadata, spec: obj.spec });
  if (checked.ok) return { key, object: checked.value };
  const meta = metaOf(obj);
  const raw = (typeof obj.spec === 'object' && obj.spec !== null ? obj.spec : {}) as Record<string, unknown>;
  const selector = raw.nodeSelector === undefined ? { success: true as const, data: undefined } : labelSelector.safeParse(raw.nodeSelector);
  const vni = vniSchema.safeParse(raw.vni);
  const macs = Array.isArray(raw.macs) ? raw.macs.filter((m): m is string => unicastMac.safeParse(m).success).map((m) => m.toLowerCase()) : [];
  const object: GroupObject = {
    metadata: {
      name,
      ...(typeof meta.generation === 'number' ? { generation: meta.generation } : {}),
      ...(typeof meta.deletionTimestamp === 'string' ? { deletionTimestamp: meta.deletionTimestamp } : {}),
    },
    spec: {
      fabric: typeof raw.fabric === 'string' ? raw.fabric : '',
      // 0: unknown (no device, no flood list, no VNI in status).
      vni: vni.success ? vni.data : 0,
      macs: [...new Set(macs)],
      ...(selector.success && selector.data !== undefined ? { nodeSelector: selector.data } : {}),
    },
  };
  return { key, object, problem: `VtepGroup ${name} (generation ${String(meta.generation)}) does not fit the schema: ${checked.error.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, ...(selector.success ? {} : { selectorUnreadable: true }) };
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
