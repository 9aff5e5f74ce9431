/**
 * The tracker: each duty's outcome, once. A duty is done when its signature is recovered and
 * submitted; past its deadline it fails with the last reason the pipeline gave (named as Charon's
 * tracker names them: "consensus", "par_sig_db_insufficient", "fetcher_bn", ...).
 */
import type { Logger } from "../core/log/index.js";
import { type DutyId, type LastDuty, dutyKey } from "./duties.js";
import type { SignerMetrics } from "./metrics.js";

interface Tracked {
  readonly id: DutyId;
  readonly startedMs: number;
  reason: string;
  outcome: "pending" | "done" | "failed";
  readonly timer: NodeJS.Timeout;
}

export interface DutyOutcome {
  readonly id: DutyId;
  readonly outcome: "done" | "failed";
  readonly reason: string;
}

export class Tracker {
  private readonly duties = new Map<string, Tracked>();
  private readonly lastDuties = new Map<number, LastDuty>();
  /** Every outcome, in order, for tests and the bench (bounded: the last 10,000). */
  readonly outcomes: DutyOutcome[] = [];

  constructor(
    private readonly metrics: SignerMetrics,
    private readonly log: Logger,
  ) {}

  /** Starts tracking a duty that must complete by `deadlineMs` (clock time); false if already tracked. */
  start(id: DutyId, deadlineMs: number, now: number, onExpire: () => void): boolean {
    const key = dutyKey(id);
    if (this.duties.has(key)) return false;
    const timer = setTimeout(() => {
      onExpire();
      this.finish(key, "failed");
    }, Math.max(0, deadlineMs - now));
    timer.unref();
    this.duties.set(key, { id, startedMs: performance.now(), reason: "consensus", outcome: "pending", timer });
    return true;
  }

  isPending(id: DutyId): boolean {
    return this.duties.get(dutyKey(id))?.outcome === "pending";
  }

  /** Why the duty would fail if it ended now. */
  reason(id: DutyId, reason: string): void {
    const tracked = this.duties.get(dutyKey(id));
    if (tracked?.outcome === "pending") tracked.reason = reason;
  }

  /** This node signed for the duty. */
  signed(id: DutyId): void {
    this.lastDuties.set(id.validator, { slot: id.slot, type: id.type });
    this.reason(id, "par_sig_db_insufficient");
  }

  lastDuty(validator: number): LastDuty | undefined {
    return this.lastDuties.get(validator);
  }

  /** The signature was recovered (seconds since the duty started, for the consensus histogram). */
  recovered(id: DutyId, round: number): void {
    const tracked = this.duties.get(dutyKey(id));
    if (tracked?.outcome !== "pending") return;
    this.metrics.consensusDuration.observe({ type: id.type }, (performance.now() - tracked.startedMs) / 1000);
    this.metrics.rounds.observe({ type: id.type }, round);
    tracked.reason = "bcast";
  }

  done(id: DutyId): void {
    this.finish(dutyKey(id), "done");
  }

  stop(): void {
    for (const tracked of this.duties.values()) clearTimeout(tracked.timer);
  }

  /** Forgets finished duties before `slot`. */
  prune(slot: number): void {
    for (const [key, tracked] of this.duties) if (tracked.id.slot < slot && tracked.outcome !== "pending") this.duties.delete(key);
  }

  private finish(key: string, outcome: "done" | "failed"): void {
    const tracked = this.duties.get(key);
    if (tracked?.outcome !== "pending") return;
    clearTimeout(tracked.timer);
    tracked.outcome = outcome;
    const reason = outcome === "done" ? "" : tracked.reason;
    this.metrics.duties.inc({ type: tracked.id.type, outcome, reason });
    this.outcomes.push({ id: tracked.id, outcome, reason });
    if (this.outcomes.length > 10_000) this.outcomes.shift();
    if (outcome === "done") this.log.debug({ duty: key }, "duty done");
    else this.log.warn({ duty: key, reason }, "duty failed");
  }
}
