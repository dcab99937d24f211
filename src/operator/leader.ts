/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * `leaderelection` package does it:
 *
 * - a candidate takes the Lease when it is free or its holder has not
 *   renewed for `leaseDuration`, measured on the candidate's own clock from
 *   when it last saw the record change (never by comparing its clock with
 *   the holder's `renewTime`, so clock skew between nodes does not matter);
 * - every write carries the resourceVersion read before it (optimistic
 *   concurrency: of two candidates only one PUT succeeds, the other gets
 *   409 Conflict);
 * - the leader renews every `retryPeriod` and gives up leadership when it
 *   could not renew for `renewDeadline` (before anyone else may take it);
 * - on clean shutdown the leader releases the Lease so a standby takes over
 *   at once instead of after `leaseDuration`.
 */
import type { Logger } from '../util/log.js';
import { sleep } from '../util/shutdown.js';
import { isAlreadyExists, isConflict, isNotFound } from './kube/client.js';

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

/** The Lease API of one namespace (a ResourceApi); errors are KubeApiErrors (404, 409). */
export interface LeaseStore {
  get(name: string): Promise<Lease>;
  create(lease: Lease): Promise<Lease>;
  replace(lease: Lease): Promise<Lease>;
}

export interface LeaderElectionConfig {
  leases: LeaseStore;
  name: string;
  namespace: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  /** Observes leadership changes (metrics). */
  onChange?: (leading: boolean) => void;
  now?: () => number;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits, as the apiserver parses it. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  /** The last record seen and when (on our clock) it was seen to change. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private lastRenew = 0;
  private leading = false;
  private lease: Lease | undefined;

  constructor(private readonly config: LeaderElectionConfig) {
    this.leaseDurationMs = config.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = config.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = config.retryPeriodMs ?? 2_000;
    this.now = config.now ?? Date.now;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election: need leaseDuration > renewDeadline > retryPeriod');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Healthy unless we lead and have not renewed for longer than the lease lasts. */
  healthy(): true | string {
    if (!this.leading) return true;
    const since = this.now() - this.lastRenew;
    return since <= this.leaseDurationMs + this.retryPeriodMs ? true : `lease not renewed for ${since} ms`;
  }

  /** Resolves true once this candidate holds the Lease, false if `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.config.log.info('waiting for leadership', { lease: `${this.config.namespace}/${this.config.name}`, identity: this.config.identity });
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) {
        this.setLeading(true);
        return true;
      }
      await sleep(this.retryPeriodMs, signal);
    }
    return false;
  }

  /**
   * Renews every retryPeriod while leading. Resolves 'lost' when renewal has
   * failed for renewDeadline (or someone else holds the Lease), 'stopped'
   * when `signal` aborts (after releasing the Lease).
   */
  async hold(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    while (!signal.aborted) {
      await sleep(this.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) continue;
      if (this.observed && this.observed.holder !== this.config.identity) {
        this.config.log.error('leadership taken over', { holder: this.observed.holder });
        this.setLeading(false);
        return 'lost';
      }
      if (this.now() - this.lastRenew > this.renewDeadlineMs) {
        this.config.log.error('could not renew the lease within the renew deadline', { renewDeadlineMs: this.renewDeadlineMs });
        this.setLeading(false);
        return 'lost';
      }
    }
    await this.release();
    return 'stopped';
  }

  /** Gives the Lease up (holder cleared, 1 s duration) so a standby need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.leading || !this.lease) return;
    this.setLeading(false);
    try {
      const spec = this.lease.spec ?? {};
      await this.config.leases.replace({
        ...this.lease,
        spec: { ...spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: formatMicroTime(this.now()), acquireTime: null },
      });
      this.config.log.info('released leadership');
    } catch (err) {
      this.config.log.warn('could not release the lease', { err });
    }
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    if (leading) this.config.log.info('became leader', { identity: this.config.identity });
    this.config.onChange?.(leading);
  }

  /** One round of client-go's tryAcquireOrRenew; true when we hold the Lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { leases, name, namespace, identity, log } = this.config;
    const now = this.now();
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    let current: Lease;
    try {
      current = await leases.get(name);
    } catch (err) {
      if (!isNotFound(err)) {
        log.warn('reading the lease failed', { err });
        return false;
      }
      try {
        this.lease = await leases.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: formatMicroTime(now), renewTime: formatMicroTime(now), leaseTransitions: 0 },
        });
        this.observe(this.lease, now);
        this.lastRenew = now;
        return true;
      } catch (e) {
        if (!isAlreadyExists(e)) log.warn('creating the lease failed', { err: e });
        return false;
      }
    }

    this.observe(current, now);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    // The holder's own duration governs; a released lease says 1 s.
    const holderDurationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && this.observed!.at + holderDurationMs > now) return false;

    const weHeld = holder === identity;
    const next: Lease = {
      ...current,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: weHeld && spec.acquireTime ? spec.acquireTime : formatMicroTime(now),
        renewTime: formatMicroTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (weHeld ? 0 : 1),
      },
    };
    try {
      this.lease = await leases.replace(next);
    } catch (err) {
      // 409: another candidate wrote first; we will see its record next round.
      if (!isConflict(err)) log.warn('updating the lease failed', { err });
      return false;
    }
    this.observe(this.lease, now);
    this.lastRenew = now;
    return true;
  }

  private observe(lease: Lease, now: number): void {
    const holder = lease.spec?.holderIdentity ?? '';
    const renewTime = lease.spec?.renewTime ?? '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: now };
    }
  }
}
