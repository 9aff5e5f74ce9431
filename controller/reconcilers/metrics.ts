/** The controller's Prometheus metrics, named nektar_controller_<what>_<unit>. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: "nektar_controller_reconciles_total",
    help: "Reconciles run, by kind and result (success, requeue, error).",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: "nektar_controller_reconcile_duration_seconds",
    help: "Time one reconcile took, by kind.",
    labelNames: ["kind"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "nektar_controller_workqueue_depth",
    help: "Keys waiting in a reconciler's work queue, by kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "nektar_controller_leader",
    help: "1 while this instance holds the leader Lease and reconciles, 0 while it stands by.",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "nektar_controller_" });
  }
}
