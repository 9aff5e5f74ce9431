/**
 * An operator's AVS worker, one per AVS it serves: hears each TaskCreated of the AVS, asks the
 * AVS team's executor for the result, signs TaskManager.responseDigest(taskId, keccak256(result))
 * with the operator's BLS key and sends it to the aggregator over libp2p. When the executor
 * gives no result, the worker says so (unsigned), so the aggregator can fail the task with the
 * reason instead of waiting out the response window.
 *
 * Restarts lose nothing (signedTasks.ts): each signed response is on disk before it is sent, and
 * the worker records the last block whose tasks it has all handled. On start it re-sends its
 * signed responses of tasks still open and scans TaskCreated from that block (or, on a first
 * start, over the look-back), answering the tasks still open; a task it signed before is never
 * executed again, only its recorded response re-sent.
 *
 * Status for the controller: `registered` (a member of the AVS on-chain now) and
 * `tasksAnswered` (responses the aggregator accepted), on GET /status.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { keccak256 } from "ethers";
import type { Registry } from "prom-client";
import { Counter, Histogram } from "prom-client";

import { operatorIdOf } from "../../contracts/client/index.js";
import type { TaskCreated } from "../../contracts/client/index.js";
import { fromHex, toHex } from "../core/hex.js";
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
import { SignedTasks } from "./signedTasks.js";
import type { SignedResponse } from "./signedTasks.js";

export interface WorkerOptions {
  chain: AvsChain;
  avsId: number;
  signer: ResponseSigner;
  identity: Identity;
  listen: readonly string[];
  aggregator: { peerId: string; multiaddrs: readonly string[] };
  executor: ExecutorOptions;
  /**
   * Where the record of signed responses and the processed block is kept. Absent: in memory,
   * and the worker answers only tasks created after it started (it cannot know what an earlier
   * run signed).
   */
  dataDir?: string;
  /**
   * First start with an empty data dir: how many blocks back to look for tasks still open.
   * Default: the AVS's response window (every task that can still be answered).
   */
  lookbackBlocks?: number;
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
/** Waits between attempts to reach the aggregator: doubling from the first to the last. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5_000;

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
  const record = await SignedTasks.open({ dataDir: options.dataDir, chainId: Number(chain.config.chainId), taskManager: chain.config.taskManager, avsId, operatorId });
  let head = await chain.blockNumber();
  // After the processed block; on a first start, back over the look-back (a task created at
  // block b is open until b + the response window); in memory, from the next block.
  let fromBlock = head + 1;
  if (record.processedBlock !== undefined) fromBlock = record.processedBlock + 1;
  else if (record.durable) {
    const lookback = options.lookbackBlocks ?? Number((await chain.taskParams(avsId)).responseWindowBlocks);
    fromBlock = Math.max(chain.config.deploymentBlock ?? 0, head - lookback);
  }
  /** The last block whose TaskCreated events the follower has handed over. */
  let followed = fromBlock - 1;
  // Tasks heard but not yet signed (or given up), by id -> block: the processed block stays
  // below the first of them, so a restart hears them again.
  const unsettled = new Map<number, number>();
  const advance = (): void => {
    const processed = Math.min(followed, ...[...unsettled.values()].map((b) => b - 1));
    if (record.advance(processed, head)) void record.save().catch((err: unknown) => log.error({ err: (err as Error).message }, "cannot save the worker record"));
  };
  const settle = (taskId: number): void => {
    unsettled.delete(taskId);
    advance();
  };

  let tasksAnswered = 0;
  let tasksFailed = 0;
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  /** Runs `job` in the background; stop() waits for it. */
  const track = (job: Promise<void>): void => {
    const handled = job.catch((err: unknown) => log.error({ err: (err as Error).message }, "task handling failed"));
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  };

  /**
   * Sends until the aggregator answers, the task's response window closes or the worker stops:
   * the aggregator may be restarting, and a response it never got cannot count.
   */
  const send = async (message: TaskResponseMessage, responseDeadline: number): Promise<boolean> => {
    let ack: TaskResponseAck | undefined;
    for (let attempt = 0; ack === undefined; attempt++) {
      try {
        ack = await host.send(options.aggregator.peerId, TaskResponseProtocol, message);
      } catch (err) {
        if (abort.signal.aborted || head > responseDeadline) throw err;
        if (attempt === 0) log.warn({ taskId: message.taskId, err: (err as Error).message }, "cannot reach the aggregator; retrying until the response window closes");
        await sleep(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt), undefined, { signal: abort.signal });
      }
    }
    if (!ack.accepted) log.warn({ taskId: message.taskId, reason: decodeReason(ack.reason) }, "aggregator refused the response");
    return ack.accepted;
  };

  const messageOf = (r: SignedResponse): TaskResponseMessage => ({
    taskId: r.taskId,
    operatorId: fromHex(operatorId, "operator id"),
    resultHash: fromHex(r.resultHash, "result hash"),
    result: fromHex(r.result, "result"),
    signature: fromHex(r.signature, "signature"),
    error: new Uint8Array(),
  });

  /** The task's signed response: the recorded one if it has one, else executed, signed and recorded (on disk before it is returned). */
  const respond = async (event: TaskCreated, block: number): Promise<TaskResponseMessage> => {
    const taskId = Number(event.taskId);
    const recorded = record.get(taskId);
    if (recorded !== undefined) return messageOf(recorded);
    const input = fromHex(event.input, "task input");
    const result = await executor.execute({ taskId, avsId, referenceBlock: Number(event.task.referenceBlock), input }, abort.signal);
    const resultHash = keccak256(result);
    const signed = record.add({
      taskId,
      block,
      responseDeadline: Number(event.task.responseDeadline),
      resultHash,
      result: toHex(result),
      signature: toHex(signer.sign(chain.digest(taskId, resultHash)).toBytes()),
    });
    await record.save();
    return messageOf(signed);
  };

  const deliver = async (message: TaskResponseMessage, responseDeadline: number, started: number): Promise<void> => {
    try {
      const accepted = await send(message, responseDeadline);
      const answered = accepted && message.error.length === 0;
      if (answered) tasksAnswered++;
      else tasksFailed++;
      metrics.tasks.inc({ outcome: answered ? "answered" : message.error.length > 0 ? "executor_failed" : "refused" });
      metrics.duration.observe((performance.now() - started) / 1000);
    } catch (err) {
      if (abort.signal.aborted) return;
      tasksFailed++;
      metrics.tasks.inc({ outcome: "aggregator_unreachable" });
      log.error({ taskId: message.taskId, err: (err as Error).message }, "cannot reach the aggregator");
    }
  };

  const answer = async (event: TaskCreated, block: number): Promise<void> => {
    const taskId = Number(event.taskId);
    const started = performance.now();
    if (Number(event.task.responseDeadline) < head) {
      // Created while the worker was down, and its window has closed since.
      settle(taskId);
      metrics.tasks.inc({ outcome: "expired" });
      log.info({ taskId, responseDeadline: Number(event.task.responseDeadline), head }, "task's response window closed before the worker heard it");
      return;
    }
    let message: TaskResponseMessage;
    try {
      message = await respond(event, block);
    } catch (err) {
      // Stopping: the task stays unsettled, so the next start hears it again.
      if (abort.signal.aborted) return;
      log.warn({ taskId, err: (err as Error).message }, "no result for the task");
      message = { taskId, operatorId: fromHex(operatorId, "operator id"), resultHash: new Uint8Array(32), result: new Uint8Array(), signature: new Uint8Array(96), error: encodeReason((err as Error).message) };
    }
    // Signed and on disk, or reported as failed: a restart need not hear it again.
    settle(taskId);
    await deliver(message, Number(event.task.responseDeadline), started);
  };

  await host.start();

  // Responses signed before a restart, of tasks still open: the aggregator may not have them
  // (or may have restarted itself); one it holds already is a duplicate it ignores.
  for (const r of record.openAt(head)) track(deliver(messageOf(r), r.responseDeadline, performance.now()));
  const follower = chain.follow(
    {
      taskCreated: (event, block) => {
        if (Number(event.avsId) !== avsId) return;
        unsettled.set(Number(event.taskId), block);
        track(answer(event, block));
      },
      block: (blockNumber) => {
        head = Math.max(head, blockNumber);
        followed = blockNumber;
        advance();
      },
      error: (err) => log.warn({ err: err.message }, "cannot poll the execution node"),
    },
    { fromBlock },
  );
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
  log.info({ avsId, operatorId, peerId, status: http?.url, dataDir: options.dataDir ?? null, scannedFrom: fromBlock }, "AVS worker started");

  return {
    peerId,
    operatorId,
    url: http?.url,
    status,
    stop: async () => {
      abort.abort(new Error("worker stopping"));
      await follower.stop();
      await Promise.allSettled([...inFlight]);
      // The last processed block on disk, and no write of this run after stop() returns.
      await record.save();
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
