/**
 * The controller process: health and metrics endpoints, leader election, and while leading the
 * informers, one work queue per reconciler and its workers. Losing the Lease stops reconciling
 * at once (another instance has taken over); stop() drains the workers and releases the Lease.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../services/core/log/index.js";
import { API_VERSION, type KeyShare, type Operator } from "../api/v1alpha1.js";
import { DEFAULT_DKG_PORT } from "../resources/dkg.js";
import type { OperatorResourceOptions } from "../resources/operator.js";
import { ControllerClient } from "./client.js";
import { Informers, keyOf } from "./informers.js";
import { pooledKubeConfig } from "./kubeconfig.js";
import { LeaderElector, type LeaderElectionOptions } from "./leader.js";
import { ControllerMetrics } from "./metrics.js";
import { OperatorIdentities } from "./identities.js";
import { HttpNodeApi, type NodeApi } from "./node-api.js";
import { AvsSubscriptionReconciler } from "./avs.js";
import { type AvsWorkerApi, HttpAvsWorkerApi } from "./avs-worker-api.js";
import { DistributedValidatorReconciler } from "./dv.js";
import { KeyShareReconciler, type NodeReports } from "./keyshare.js";
import { Keystores } from "./keystores.js";
import { OperatorReconciler } from "./operator.js";
import type { Reconciler } from "./reconciler.js";
import { WorkQueue } from "./workqueue.js";

/**
 * How long KeyShare changes are collected before their operator's Secret is updated. The Secret
 * holds every share of the node and its locks: rewriting it (and getting it back from the watch)
 * is what a burst of new shares costs, so a burst is written about once a second per node.
 */
const KEYSHARE_BATCH_MS = 1000;
/** An Operator's change reaches its peers' node.json; a burst of them (a new namespace) is one run each. */
const PEERS_BATCH_MS = 1000;

/** KeyShare workers per worker of the other kinds. */
const KEYSHARE_WORKERS_FACTOR = 4;

export interface ControllerOptions extends OperatorResourceOptions {
  /** This instance (the pod name in a cluster): the Lease holder and Events' reporting instance. */
  identity: string;
  /** Lease settings; the Lease is in controllerNamespace. */
  leaderElection: Pick<LeaderElectionOptions, "name" | "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">;
  /** Where /healthz, /readyz and /metrics listen. */
  probes: { host: string; port: number };
  /** The port DKG Jobs listen on in their pods (default DEFAULT_DKG_PORT). */
  dkgPort?: number;
  /** Workers per reconciler. */
  workers?: number;
  nodeApi?: NodeApi;
  avsWorkerApi?: AvsWorkerApi;
  log: Logger;
}

export class Controller {
  readonly metrics = new ControllerMetrics();
  private readonly elector: LeaderElector;
  private server: Server | undefined;
  private campaign: Promise<void> | undefined;
  private synced = false;
  private leading = false;

  private readonly kc: KubeConfig;

  constructor(
    kc: KubeConfig,
    private readonly options: ControllerOptions,
  ) {
    this.kc = pooledKubeConfig(kc);
    this.elector = new LeaderElector(this.kc, { ...options.leaderElection, namespace: options.controllerNamespace, identity: options.identity, log: options.log });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The probes' address once listening (port 0 picks a free one). */
  get probeAddress(): AddressInfo | undefined {
    return this.server?.address() as AddressInfo | undefined;
  }

  /** Serves the probes and starts campaigning; reconciles once elected. */
  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.serveProbe(request.url ?? "/", response));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.options.probes.port, this.options.probes.host, resolve);
    });
    this.campaign = this.elector.run((signal) => this.lead(signal));
    this.campaign.catch((error: unknown) => this.options.log.error({ err: error }, "leader election failed"));
  }

  /** Resolves when this instance stops: stop() was called, or it lost the Lease. */
  get done(): Promise<void> {
    return this.campaign ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.elector.stop();
    await this.campaign?.catch(() => undefined);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  private async lead(signal: AbortSignal): Promise<void> {
    const { log } = this.options;
    this.leading = true;
    this.metrics.leader.set(1);
    const informers = new Informers(this.kc, log);
    const client = new ControllerClient(this.kc, this.options.identity);
    const nodeApi = this.options.nodeApi ?? new HttpNodeApi();
    const reports: NodeReports = new Map();
    const operatorQueue = new WorkQueue();
    const keyShareQueue = new WorkQueue();
    const enqueueKeySharesOf = (o: Operator) => {
      for (const ks of informers.keyShares.list(o.metadata?.namespace)) if (ks.spec.operatorRef.name === o.metadata?.name) keyShareQueue.add(keyOf(ks));
    };
    const keystores = new Keystores();
    // A burst of KeyShare changes (a DKG's output, a migration) is one update of the operator's Secret, not one each.
    const enqueueOperatorOf = (ks: KeyShare) => operatorQueue.addAfter(`${ks.metadata?.namespace}/${ks.spec.operatorRef.name}`, KEYSHARE_BATCH_MS);
    const identities = new OperatorIdentities(this.kc);
    const operators = new OperatorReconciler(informers, client, nodeApi, reports, keystores, identities, enqueueKeySharesOf, this.options, log.child({ reconciler: "operator" }));
    const keyShares = new KeyShareReconciler(this.kc, informers, client, nodeApi, reports, keystores, enqueueOperatorOf, log.child({ reconciler: "keyshare" }));
    const avsQueue = new WorkQueue();
    const avsSubscriptions = new AvsSubscriptionReconciler(informers, client, this.options.avsWorkerApi ?? new HttpAvsWorkerApi(), this.options);
    /** Owned objects wake their owner's reconciler. */
    const dvQueue = new WorkQueue();
    const distributedValidators = new DistributedValidatorReconciler(identities, informers, client, { defaultImage: this.options.defaultImage, dkgPort: this.options.dkgPort ?? DEFAULT_DKG_PORT });
    const ownerQueues: Record<string, WorkQueue> = { Operator: operatorQueue, AVSSubscription: avsQueue, DistributedValidator: dvQueue };

    for (const verb of ["add", "update", "delete"] as const) {
      informers.operators.on(verb, (o) => {
        operatorQueue.add(keyOf(o));
        // Every node of the namespace lists the others as peers (their address, their identity).
        for (const peer of informers.operators.list(o.metadata?.namespace)) if (peer.metadata?.name !== o.metadata?.name) operatorQueue.addAfter(keyOf(peer), PEERS_BATCH_MS);
        // A DKG waiting for an operator's address; a finished one has no more use for its Operators.
        for (const dv of informers.distributedValidators.list(o.metadata?.namespace)) {
          if (dv.status?.phase !== "Succeeded" && dv.spec.operators.includes(o.metadata?.name ?? "")) dvQueue.add(keyOf(dv));
        }
        if (verb === "update") return;
        // Whether their Operator exists is part of their status.
        enqueueKeySharesOf(o);
        for (const s of informers.avsSubscriptions.list(o.metadata?.namespace)) if (s.spec.operatorRef.name === o.metadata?.name) avsQueue.add(keyOf(s));
      });
      informers.distributedValidators.on(verb, (dv) => dvQueue.add(keyOf(dv)));
      informers.avsSubscriptions.on(verb, (s) => avsQueue.add(keyOf(s)));
      informers.keyShares.on(verb, (ks) => {
        keyShareQueue.add(keyOf(ks));
        // An operator's Secret of keystores and its share count follow its KeyShares.
        enqueueOperatorOf(ks);
      });
      for (const owned of informers.owned) {
        owned.on(verb, (o) => {
          const owner = o.metadata?.ownerReferences?.find((ref) => ref.controller && ref.apiVersion === API_VERSION);
          if (owner) ownerQueues[owner.kind]?.add(`${o.metadata?.namespace}/${owner.name}`);
        });
      }
    }

    try {
      await informers.start();
      this.synced = true;
      log.info("caches synced; reconciling");
      const workers = this.options.workers ?? 4;
      const queues: [string, WorkQueue, Reconciler][] = [
        ["Operator", operatorQueue, operators],
        ["KeyShare", keyShareQueue, keyShares],
        ["AVSSubscription", avsQueue, avsSubscriptions],
        ["DistributedValidator", dvQueue, distributedValidators],
      ];
      // KeyShares come by the thousand and their reconciles mostly wait on the API server: more at once.
      const running = queues.map(([kind, queue, reconciler]) => this.runQueue(kind, queue, reconciler, kind === "KeyShare" ? KEYSHARE_WORKERS_FACTOR * workers : workers));
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
      for (const [, queue] of queues) queue.shutDown();
      await Promise.all(running);
    } finally {
      this.synced = false;
      this.leading = false;
      this.metrics.leader.set(0);
      await informers.stop();
    }
  }

  private runQueue(kind: string, queue: WorkQueue, reconciler: Reconciler, workers: number): Promise<void> {
    this.metrics.queueDepth.labels(kind).set(0);
    const worker = async (key: string) => {
      this.metrics.queueDepth.labels(kind).set(queue.depth);
      const end = this.metrics.reconcileDuration.labels(kind).startTimer();
      try {
        const result = await reconciler.reconcile(key);
        this.metrics.reconciles.labels(kind, result === "done" ? "success" : "requeue").inc();
        return result;
      } finally {
        end();
      }
    };
    return queue.run(worker, workers, (key, error) => {
      this.metrics.reconciles.labels(kind, "error").inc();
      this.options.log.warn({ kind, key, err: error }, "reconcile failed; retrying");
    });
  }

  private async serveProbe(url: string, response: ServerResponse): Promise<void> {
    const path = url.split("?")[0];
    if (path === "/healthz") return void response.writeHead(200).end("ok\n");
    if (path === "/readyz") {
      // A standby is ready (it is campaigning); a leader once its caches are synced.
      const ready = !this.leading || this.synced;
      return void response.writeHead(ready ? 200 : 503).end(ready ? "ok\n" : "caches not synced\n");
    }
    if (path === "/metrics") {
      const body = await this.metrics.registry.metrics();
      return void response.writeHead(200, { "Content-Type": this.metrics.registry.contentType }).end(body);
    }
    response.writeHead(404).end();
  }
}
