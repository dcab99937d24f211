/**
 * Whether the kube-apiserver is answering, as seen by every exchange of the
 * agent's Kubernetes edge (the watches, the status writes, the heartbeat). Drives the
 * `evpn_agent_apiserver_up` gauge, logs each transition once (not once per
 * failed retry), and tells listeners when the apiserver is back so a status
 * write waiting out its backoff goes out at once.
 */
import type { Gauge } from 'prom-client';
import type { Logger } from '../../util/log.js';

export class ApiserverHealth {
  private up: boolean | undefined;
  private readonly backListeners: Array<() => void> = [];

  constructor(
    private readonly log: Logger,
    private readonly gauge?: Gauge,
  ) {}

  get reachable(): boolean {
    return this.up === true;
  }

  /** An exchange got an answer (any HTTP status is an answer). */
  answered(): void {
    if (this.up === true) return;
    const wasDown = this.up === false;
    this.up = true;
    this.gauge?.set(1);
    if (wasDown) {
      this.log.info('kube-apiserver reachable again');
      for (const cb of [...this.backListeners]) cb();
    }
  }

  /** An exchange got no answer (refused, reset, timed out, 5xx). */
  unreachable(reason: string): void {
    if (this.up === false) return;
    this.up = false;
    this.gauge?.set(0);
    this.log.warn('kube-apiserver unreachable; the dataplane keeps following the kernel, status writes wait', { reason });
  }

  /** Calls `cb` each time the apiserver answers again after an outage; returns the way to stop (a reflector that ends). */
  onBack(cb: () => void): () => void {
    this.backListeners.push(cb);
    return () => {
      const i = this.backListeners.indexOf(cb);
      if (i >= 0) this.backListeners.splice(i, 1);
    };
  }
}
