/**
 * The signer's Prometheus metrics. Duty outcomes carry a failure reason named as Charon's
 * tracker names them (docs/signer.md lists them), so a dashboard says why a duty failed.
 */
import { Counter, Histogram, type Registry } from "prom-client";

export class SignerMetrics {
  /** Duties done or failed, by type, outcome and reason ("" when done). */
  readonly duties: Counter<"type" | "outcome" | "reason">;
  /** From a duty's start to its recovered signature. */
  readonly consensusDuration: Histogram<"type">;
  /** The round in which a duty's signature was recovered (0: the first leader's). */
  readonly rounds: Histogram<"type">;
  /** Partial signatures received from peers, by type and whether they were valid. */
  readonly partials: Counter<"type" | "result">;
  /** Proposals refused, by type and reason. */
  readonly refusals: Counter<"type" | "reason">;
  /** Batch verification of t partials, recovery and the final verification. */
  readonly recovery: Histogram<"type">;
  /** An epoch's duties fetched again, by reason: reorg (their dependent root changed), activation (validators became known). */
  readonly refetches: Counter<"reason">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.duties = new Counter({ name: "nektar_signer_duties_total", help: "Duties by type and outcome (done, failed) with the failure reason", labelNames: ["type", "outcome", "reason"], registers });
    this.consensusDuration = new Histogram({
      name: "nektar_signer_consensus_duration_seconds",
      help: "From a duty's start to its recovered signature",
      labelNames: ["type"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
      registers,
    });
    this.rounds = new Histogram({ name: "nektar_signer_consensus_rounds", help: "The consensus round whose data was signed (0 is the first)", labelNames: ["type"], buckets: [0, 1, 2, 3, 5, 8], registers });
    this.partials = new Counter({ name: "nektar_signer_partials_received_total", help: "Partial signatures received from peers", labelNames: ["type", "result"], registers });
    this.refusals = new Counter({ name: "nektar_signer_proposals_refused_total", help: "Proposals this node refused to sign, by reason", labelNames: ["type", "reason"], registers });
    this.recovery = new Histogram({
      name: "nektar_signer_recovery_duration_seconds",
      help: "Verifying t partials, recovering the signature and verifying it",
      labelNames: ["type"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.refetches = new Counter({ name: "nektar_signer_duties_refetched_total", help: "An epoch's duties fetched again (reorg: their dependent root changed; activation: validators became known)", labelNames: ["reason"], registers });
  }
}
