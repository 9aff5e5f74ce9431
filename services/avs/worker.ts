/**
 * An operator's AVS worker, one per AVS it serves: hears each TaskCreated of the AVS, asks the
 * AVS team's executor for the result, signs TaskManager.responseDigest(taskId, keccak256(result))
 * with the operator's BLS key and sends it to the aggregator over libp2p. When the executor
 * gives no result, the worker says so (unsigned), so the aggregator can fail the task with the
 * reason instead of waiting out the response window.
 *
 * Status for the controller: `registered` (a member of the AVS on-chain now) and
 * `tasksAnswered` (responses the aggregator accepted), on GET /status.
 */
import { keccak256 } from "ethers";
import type { Registry } from "prom-client";
import { Counter, Histogram } from "prom-client";

import { operatorIdOf } from "../../contracts/client/index.js";
import type { TaskCreated } from "../../contracts/client/index.js";
import { fromHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import { ClusterHost } from "../core/p2p/index.js";
import type { Identity } from "../core/p2p/index.js";
import type { AvsChain } from "./chain.js";
import { ExecutorClient } from "./executor.js";
import type { ExecutorOptions } from "./executor.js";
import { startHttp } from "./http.js";
import type { HttpServer } from "./http.js";
import { TaskResponseProtocol, decodeReason, encodeReason } from "./protocol.js";
import type { TaskResponseAck, TaskResponseMessage } from "./protocol.js";
import type { ResponseSigner } from "./signer.js";

export interface WorkerOptions {
  chain: AvsChain;
  avsId: number;
  signer: ResponseSigner;
  identity: Identity;
  listen: readonly string[];
  aggregator: { peerId: string; multiaddrs: readonly string[] };
  executor: ExecutorOptions;
  /** Where /status, /livez, /readyz and /metrics listen; none if absent (in-process use). */
  http?: { host: string; port: number };
  registry: Registry;
  logger: Logger;
}

export interface WorkerStatus {
  avsId: number;
  operatorId: string;
  peerId: string;
  /** A member of the AVS on-chain as of the latest block. */
  registered: boolean;
  /** Responses the aggregator accepted. */
  tasksAnswered: number;
  /** Tasks the worker could not answer (executor failure, aggregator unreachable). */
  tasksFailed: number;
}

export interface Worker {
  readonly peerId: string;
  readonly operatorId: string;
  /** The status endpoint's base URL, if it listens. */
  readonly url: string | undefined;
  status(): Promise<WorkerStatus>;
  stop(): Promise<void>;
}

const SEND_TIMEOUT_MS = 10_000;
const SEND_ATTEMPTS = 3;

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { chain, avsId, signer, identity, logger: log } = options;
  const operatorId = operatorIdOf(signer.publicKey).toLowerCase();
  const peerId = identity.peerId.toString();
  const executor = new ExecutorClient(options.executor);
  const metrics = workerMetrics(options.registry);
  const host = new ClusterHost({
    identity,
    operators: [
      { name: "worker", peerId, multiaddrs: [] },
      // The host matches addresses without their /p2p/<peer id> suffix.
      { name: "aggregator", peerId: options.aggregator.peerId, multiaddrs: options.aggregator.multiaddrs.map((a) => a.replace(/\/p2p\/[^/]+$/, "")) },
    ],
    listen: options.listen,
    registry: options.registry,
    logger: log,
    requestTimeoutMs: SEND_TIMEOUT_MS,
  });
  let tasksAnswered = 0;
  let tasksFailed = 0;
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();

  const send = async (message: TaskResponseMessage): Promise<boolean> => {
    let ack: TaskResponseAck | undefined;
    // The aggregator may be restarting: a few attempts before the task counts as failed.
    for (let attempt = 1; ack === undefined; attempt++) {
      try {
        ack = await host.send(options.aggregator.peerId, TaskResponseProtocol, message);
      } catch (err) {
        if (attempt >= SEND_ATTEMPTS || abort.signal.aborted) throw err;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    if (!ack.accepted) log.warn({ taskId: message.taskId, reason: decodeReason(ack.reason) }, "aggregator refused the response");
    return ack.accepted;
  };

  const answer = async (event: TaskCreated): Promise<void> => {
    const taskId = Number(event.taskId);
    const started = performance.now();
    const input = fromHex(event.input, "task input");
    let message: TaskResponseMessage;
    try {
      const result = await executor.execute({ taskId, avsId, referenceBlock: Number(event.task.referenceBlock), input }, abort.signal);
      const resultHash = keccak256(result);
      const signature = signer.sign(chain.digest(taskId, resultHash)).toBytes();
      message = { taskId, operatorId: fromHex(operatorId, "operator id"), resultHash: fromHex(resultHash, "result hash"), result, signature, error: new Uint8Array() };
    } catch (err) {
      if (abort.signal.aborted) return;
      log.warn({ taskId, err: (err as Error).message }, "no result for the task");
      message = { taskId, operatorId: fromHex(operatorId, "operator id"), resultHash: new Uint8Array(32), result: new Uint8Array(), signature: new Uint8Array(96), error: encodeReason((err as Error).message) };
    }
    try {
      const accepted = await send(message);
      const answered = accepted && message.error.length === 0;
      if (answered) tasksAnswered++;
      else tasksFailed++;
      metrics.tasks.inc({ outcome: answered ? "answered" : message.error.length > 0 ? "executor_failed" : "refused" });
      metrics.duration.observe((performance.now() - started) / 1000);
    } catch (err) {
      if (abort.signal.aborted) return;
      tasksFailed++;
      metrics.tasks.inc({ outcome: "aggregator_unreachable" });
      log.error({ taskId, err: (err as Error).message }, "cannot reach the aggregator");
    }
  };

  await host.start();
  const follower = chain.follow({
    taskCreated: (event) => {
      if (Number(event.avsId) !== avsId) return;
      const job = answer(event).catch((err: unknown) => log.error({ err: (err as Error).message }, "task handling failed"));
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
    },
    error: (err) => log.warn({ err: err.message }, "cannot poll the execution node"),
  });
  await follower.ready();

  const status = async (): Promise<WorkerStatus> => ({
    avsId,
    operatorId,
    peerId,
    registered: await chain.isMember(avsId, signer.publicKey),
    tasksAnswered,
    tasksFailed,
  });

  let http: HttpServer | undefined;
  if (options.http !== undefined) {
    http = await startHttp(options.http, options.registry, () => true, (app) => {
      app.get("/status", async () => status());
    });
  }
  log.info({ avsId, operatorId, peerId, status: http?.url }, "AVS worker started");

  return {
    peerId,
    operatorId,
    url: http?.url,
    status,
    stop: async () => {
      abort.abort(new Error("worker stopping"));
      await follower.stop();
      await Promise.allSettled([...inFlight]);
      await http?.close();
      await host.stop();
    },
  };
}

function workerMetrics(registry: Registry) {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    tasks: get(
      "nektar_avs_worker_tasks_total",
      () => new Counter({ name: "nektar_avs_worker_tasks_total", help: "Tasks handled, by outcome", labelNames: ["outcome"], registers: [registry] }),
    ),
    duration: get(
      "nektar_avs_worker_task_duration_seconds",
      () => new Histogram({ name: "nektar_avs_worker_task_duration_seconds", help: "From TaskCreated heard to the aggregator's ack", buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
    ),
  };
}
