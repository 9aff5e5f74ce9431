/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: a candidate takes the
 * Lease when it is free or its holder stopped renewing for leaseDuration, and the leader renews
 * it every retryPeriod. Every write carries the resourceVersion it read, so of two candidates
 * racing for an expired Lease exactly one wins (the other gets 409 Conflict). A leader that
 * cannot renew within renewDeadline stops leading before another may take over.
 */
import { ApiException, CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import type { Logger } from "../../services/core/log/index.js";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** This candidate, e.g. the pod name; shown as the Lease's holderIdentity. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** When this candidate last saw the Lease change, by its own clock (never the holder's). */
  private observed: { record: string; at: number } | undefined;

  constructor(
    kc: KubeConfig,
    private readonly options: LeaderElectionOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  /**
   * Campaigns until leading, calls `lead` with a signal aborted when leadership is lost or
   * stop() is called, and returns once `lead` has returned. Returns without leading if stopped.
   */
  async run(lead: (signal: AbortSignal) => Promise<void>): Promise<void> {
    while (!this.stopped && !(await this.tryAcquireOrRenew())) await this.sleep(this.retryPeriodMs);
    if (this.stopped) return;
    this.options.log.info({ lease: this.options.name, identity: this.options.identity }, "became leader");
    const leadership = new AbortController();
    const renewing = this.renewWhileLeading(leadership);
    try {
      await lead(leadership.signal);
    } finally {
      leadership.abort();
      await renewing;
      await this.release();
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async renewWhileLeading(leadership: AbortController): Promise<void> {
    let lastRenew = Date.now();
    while (!leadership.signal.aborted && !this.stopped) {
      await this.sleep(this.retryPeriodMs);
      if (leadership.signal.aborted || this.stopped) break;
      if (await this.tryAcquireOrRenew().catch(() => false)) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.renewDeadlineMs) {
        this.options.log.warn({ lease: this.options.name }, "lost leadership: could not renew the lease");
        break;
      }
    }
    leadership.abort();
  }

  /** One attempt: true if this candidate holds the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new V1MicroTime();
    const existing = await this.api.readNamespacedLease({ namespace, name }).catch((error: unknown) => {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    });
    const leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    if (existing === undefined) {
      const body: V1Lease = {
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
      };
      return this.api.createNamespacedLease({ namespace, body }).then(() => true, conflictIsLoss);
    }
    const spec = existing.spec ?? {};
    const record = `${spec.holderIdentity}/${String(spec.renewTime)}`;
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const held = spec.holderIdentity === identity;
    const free = !spec.holderIdentity || Date.now() - this.observed.at > (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (!held && !free) return false;
    const body: V1Lease = {
      ...existing,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: held ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (held ? 0 : 1),
      },
    };
    return this.api.replaceNamespacedLease({ namespace, name, body }).then(() => true, conflictIsLoss);
  }

  /** Gives the Lease up so a standby takes over at once instead of after leaseDuration. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    try {
      const lease = await this.api.readNamespacedLease({ namespace, name });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 } } });
    } catch (error) {
      this.options.log.warn({ err: error }, "could not release the lease; a standby takes over when it expires");
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function conflictIsLoss(error: unknown): false {
  if (error instanceof ApiException && (error.code === 409 || error.code === 422)) return false;
  throw error;
}
