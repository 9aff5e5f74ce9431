/**
 * The aggregator: takes workers' responses over libp2p, collects each task's until one result
 * holds the stake quorum at the task's reference block (quorum.ts), aggregates the signatures,
 * names the non-signers and submits the certificate to the TaskManager. It watches the
 * certificate's challenge window, and keeps slashing evidence (proposed to the Slasher if
 * enabled): conflicting responses of one operator (double signing) at once, and each signed
 * result other than the certified one once the certificate is final (contradiction) - so an
 * operator outvoted with a wrong result is slashable for that one signature. Its task records are what the
 * gateway serves (GET /v1/tasks/{id} on its http address).
 *
 * It admits over libp2p the registered peer ids of the AVSs' operators: those opted in when it
 * starts, then each operator as its OperatorOptedIn event is followed. With a data dir, the
 * responses it holds for tasks not yet certified survive a restart (heldResponses.ts).
 */
import { EventEmitter } from "node:events";
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress } from "ethers";
import type { Registry } from "prom-client";
import { Counter, Gauge, Histogram } from "prom-client";

import { aggregateResponse } from "../../contracts/client/index.js";
import type { Task, TaskCreated, TaskResponse } from "../../contracts/client/index.js";
import { toHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import { ClusterHost } from "../core/p2p/index.js";
import type { ClusterMember, Identity } from "../core/p2p/index.js";
import type { AvsChain, DoubleSignEvidence, OperatorSet } from "./chain.js";
import { startHttp } from "./http.js";
import type { HttpServer } from "./http.js";
import { TaskResponseProtocol, encodeReason } from "./protocol.js";
import type { TaskResponseAck, TaskResponseMessage } from "./protocol.js";
import { TaskCollector } from "./quorum.js";
import type { CountedResponse, Quorum } from "./quorum.js";
import type { Certificate, EvidenceRecord, TaskRecord } from "./records.js";
import { HeldResponses } from "./heldResponses.js";

export interface AggregatorOptions {
  chain: AvsChain;
  avsIds: readonly number[];
  identity: Identity;
  listen: readonly string[];
  /** Propose a slash for each piece of evidence found (needs chain.slasher). */
  submitEvidence: boolean;
  /** Where responses held for tasks not yet certified are kept across restarts; in memory if absent. */
  dataDir?: string;
  /** Where /v1/tasks/{id}, /livez, /readyz and /metrics listen; none if absent. */
  http?: { host: string; port: number };
  registry: Registry;
  logger: Logger;
}

export interface AggregatorEvents {
  certified: [TaskRecord];
  failed: [TaskRecord];
  evidence: [TaskRecord];
}

export interface Aggregator extends EventEmitter<AggregatorEvents> {
  readonly peerId: string;
  /** libp2p addresses workers dial (with the bound ports). */
  readonly multiaddrs: string[];
  readonly url: string | undefined;
  task(taskId: number): TaskRecord | undefined;
  stop(): Promise<void>;
}

/** How long a response for a task not yet seen waits for its TaskCreated. */
const UNKNOWN_TASK_WAIT_MS = 10_000;
/** Task records kept for the gateway (oldest dropped first). */
const MAX_RECORDS = 10_000;

interface Pending {
  record: TaskRecord;
  collector: TaskCollector;
  task: Task;
  /** The certified response, once submitted: contradiction evidence names it. */
  response?: TaskResponse;
}

/** Past these challenge states no challenge can overturn the certificate. */
const FINAL: ReadonlySet<Certificate["challenge"]> = new Set(["final", "rejected", "expired"]);

export async function startAggregator(options: AggregatorOptions): Promise<Aggregator> {
  const { chain, identity, logger: log } = options;
  const avsIds = new Set(options.avsIds);
  const metrics = aggregatorMetrics(options.registry);
  const peerId = identity.peerId.toString();
  const emitter = new EventEmitter<AggregatorEvents>();

  // Every task seen, oldest first; finished ones keep their collector, since a response after
  // the certificate can still be an operator's second, conflicting signature.
  const tasks = new Map<number, Pending>();
  /** Tasks still collecting responses: the ones a closing response window fails. */
  const collecting = new Set<number>();
  /** Certified tasks whose challenge window is still open. */
  const challengeable = new Set<number>();
  const loading = new Map<number, Promise<Pending | null>>();
  const submissions = new Set<Promise<void>>();
  let stopped = false;

  // The workers the host admits: every operator of the AVSs up to `startBlock`, by its
  // registered peer id; later opt-ins are followed from the next block on.
  const startBlock = await chain.blockNumber();
  const peers = (await Promise.all([...avsIds].map((id) => chain.peersOf(id, startBlock)))).flat();
  const workers = new Map<string, ClusterMember>();
  const admissible = (member: { address: string; peerId: string }): boolean => {
    if (isPeerId(member.peerId)) return member.peerId !== peerId;
    log.warn({ operator: member.address, peerId: member.peerId }, "operator registered no valid libp2p peer id; it cannot reach this aggregator");
    return false;
  };
  for (const member of peers) {
    if (admissible(member)) workers.set(member.peerId, { name: member.address, peerId: member.peerId, multiaddrs: [] });
  }
  const host = new ClusterHost({
    identity,
    operators: [{ name: "aggregator", peerId, multiaddrs: [] }, ...workers.values()],
    listen: options.listen,
    registry: options.registry,
    logger: log,
  });
  metrics.admitted.set(workers.size);
  const admit = async (address: string): Promise<void> => {
    const member = { address, peerId: await chain.peerIdOf(address) };
    if (!admissible(member) || workers.has(member.peerId)) return;
    const added = { name: address, peerId: member.peerId, multiaddrs: [] };
    workers.set(member.peerId, added);
    await host.addMember(added);
    metrics.admitted.set(workers.size);
    log.info({ operator: address, peerId: member.peerId }, "operator opted in: admitted");
  };

  const { held, stored } = await HeldResponses.open({ dataDir: options.dataDir, chainId: Number(chain.config.chainId), taskManager: chain.config.taskManager });
  const release = (taskId: number): void => {
    held.release(taskId).catch((err: unknown) => log.error({ taskId, err: (err as Error).message }, "cannot save the aggregator record"));
  };

  const remember = (p: Pending): void => {
    tasks.set(p.record.taskId, p);
    collecting.add(p.record.taskId);
    if (tasks.size > MAX_RECORDS) {
      const oldest = tasks.keys().next().value!;
      tasks.delete(oldest);
      collecting.delete(oldest);
      challengeable.delete(oldest);
      release(oldest);
    }
  };

  const finish = (p: Pending, state: "certified" | "failed", reason?: string): void => {
    collecting.delete(p.record.taskId);
    release(p.record.taskId);
    p.record.state = state;
    if (reason !== undefined) p.record.reason = reason;
    metrics.tasks.inc({ outcome: state });
    log.info({ taskId: p.record.taskId, state, reason }, `task ${state}`);
    emitter.emit(state, p.record);
  };

  /** Starts collecting `event`'s task: reads the operator set at its reference block. */
  const open = async (event: TaskCreated, createdBlock: number | undefined): Promise<Pending> => {
    const taskId = Number(event.taskId);
    const operators: OperatorSet = await chain.operatorsAt(Number(event.avsId), Number(event.task.referenceBlock));
    const task = event.task;
    const record: TaskRecord = {
      taskId,
      avsId: Number(event.avsId),
      input: event.input,
      inputHash: task.inputHash,
      referenceBlock: Number(task.referenceBlock),
      responseDeadline: Number(task.responseDeadline),
      createdBlock,
      quorumBps: Number(task.quorumBps),
      totalStake: task.totalStake.toString(),
      operators: operators.members.size,
      state: "collecting",
      responses: [],
      failures: [],
      evidence: [],
    };
    const p = { record, task, collector: new TaskCollector(task, operators, (resultHash) => chain.digest(taskId, resultHash)) };
    remember(p);
    return p;
  };

  /** The collection of `taskId`, opened from the chain if this aggregator has not seen it yet. */
  const collection = (taskId: number): Promise<Pending | null> => {
    const known = tasks.get(taskId);
    if (known !== undefined) return Promise.resolve(known);
    let loaded = loading.get(taskId);
    if (loaded === undefined) {
      loaded = (async () => {
        const deadline = performance.now() + UNKNOWN_TASK_WAIT_MS;
        // The worker may have heard TaskCreated before this node indexed it: ask again briefly.
        for (;;) {
          const found = await chain.findTask(taskId);
          if (found !== null) return avsIds.has(Number(found.avsId)) ? open(found, found.blockNumber) : null;
          if (performance.now() > deadline || stopped) return null;
          await new Promise((r) => setTimeout(r, 250));
        }
      })().finally(() => loading.delete(taskId));
      loading.set(taskId, loaded);
    }
    return loaded;
  };

  const submit = async (p: Pending, quorum: Quorum): Promise<void> => {
    const { record } = p;
    record.state = "submitting";
    // Its outcome is now the transaction's: the response window no longer applies here.
    collecting.delete(record.taskId);
    const quorumAt = performance.now();
    try {
      const aggregate = aggregateResponse(
        quorum.signers.map((s) => s.signature),
        quorum.nonSigners.map((m) => m.publicKey),
      );
      const responded = await chain.submitResponse(p.task, quorum.resultHash, aggregate);
      p.response = responded.response;
      const submittedMs = performance.now() - quorumAt;
      metrics.submit.observe(submittedMs / 1000);
      record.certificate = {
        resultHash: quorum.resultHash,
        result: toHex(quorum.result),
        signedStake: quorum.signedStake.toString(),
        signers: quorum.signers.map((s) => s.member.operatorId),
        nonSignerIds: responded.nonSignerIds.map((id) => id.toLowerCase()),
        respondedBlock: responded.blockNumber,
        txHash: responded.txHash,
        challengeDeadline: await chain.challengeDeadline(record.avsId, responded.blockNumber),
        challenge: "none",
        quorumToSubmissionMs: Math.round(submittedMs * 1000) / 1000,
      };
      for (const r of record.responses) r.counted = record.certificate.signers.includes(r.operatorId);
      challengeable.add(record.taskId);
      finish(p, "certified");
    } catch (err) {
      finish(p, "failed", `submission failed: ${(err as Error).message}`);
    }
  };

  /** In-flight work stop() waits for. */
  const track = (job: Promise<void>): void => {
    submissions.add(job);
    void job.finally(() => submissions.delete(job));
  };

  /**
   * Records `entry` and proposes it with `propose` if enabled. The Slasher slashes an operator
   * once per task, so the first evidence against it is the one kept.
   */
  const recordEvidence = async (p: Pending, entry: EvidenceRecord, propose: () => Promise<{ proposalId: bigint; txHash: string }>): Promise<void> => {
    if (p.record.evidence.some((e) => e.operatorId === entry.operatorId)) return;
    p.record.evidence.push(entry);
    metrics.evidence.inc({ kind: entry.kind });
    log.warn({ taskId: p.record.taskId, operatorId: entry.operatorId, kind: entry.kind }, "slashing evidence recorded");
    if (options.submitEvidence) {
      try {
        const proposed = await propose();
        entry.proposalId = proposed.proposalId.toString();
        entry.txHash = proposed.txHash;
      } catch (err) {
        entry.submitError = (err as Error).message;
      }
    }
    emitter.emit("evidence", p.record);
  };

  const doubleSign = (p: Pending, evidence: DoubleSignEvidence): Promise<void> =>
    recordEvidence(
      p,
      {
        kind: "double-sign",
        operatorId: evidence.operatorId,
        publicKey: toHex(evidence.publicKey.toBytes(true)),
        resultA: evidence.resultA,
        signatureA: toHex(evidence.signatureA.toBytes(true)),
        resultB: evidence.resultB,
        signatureB: toHex(evidence.signatureB.toBytes(true)),
      },
      () => chain.proposeDoubleSign(evidence),
    );

  /** `r` signed a result the final certificate of `p` does not hold. */
  const contradiction = (p: Pending, response: TaskResponse, r: CountedResponse): Promise<void> =>
    recordEvidence(
      p,
      {
        kind: "contradiction",
        operatorId: r.member.operatorId,
        publicKey: toHex(r.member.publicKey.toBytes(true)),
        resultHash: r.resultHash,
        signature: toHex(r.signature.toBytes(true)),
        certifiedResultHash: response.resultHash,
      },
      () =>
        chain.proposeContradiction({
          task: p.task,
          response,
          operatorId: r.member.operatorId,
          publicKey: r.member.publicKey,
          resultHash: r.resultHash,
          signature: r.signature,
        }),
    );

  /** The certificate of `p` became final: every response it outvoted is now evidence. */
  const onFinal = (p: Pending): void => {
    const response = p.response;
    if (response === undefined) return;
    for (const r of p.collector.responses.values()) {
      if (r.resultHash !== response.resultHash) track(contradiction(p, response, r));
    }
  };

  const onResponse = async (message: TaskResponseMessage, fromPeerId: string, receivedAt = new Date()): Promise<TaskResponseAck> => {
    const refuse = (reason: string): TaskResponseAck => {
      metrics.responses.inc({ outcome: "refused" });
      return { accepted: false, reason: encodeReason(reason) };
    };
    const target = await collection(message.taskId);
    if (target === null) return refuse(`task ${message.taskId} is not a task of AVS ${[...avsIds].join(", ")} known to this aggregator`);
    const outcome = target.collector.add(message, fromPeerId, receivedAt);
    metrics.responses.inc({ outcome: outcome.kind });
    // Kept until the task is certified or failed, and on disk before the worker hears it was taken.
    const holding = target.record.state === "collecting" && (outcome.kind === "accepted" || outcome.kind === "failure");
    if (holding) held.hold({ message, from: fromPeerId, receivedAt });
    switch (outcome.kind) {
      case "refused":
        return refuse(outcome.reason);
      case "duplicate":
        break;
      case "failure":
        target.record.failures.push({ operatorId: toHex(message.operatorId), reason: outcome.reason });
        break;
      case "equivocation":
        await doubleSign(target, outcome.evidence);
        break;
      case "accepted":
        // A signed result after a failure report: the operator recovered.
        target.record.failures = target.record.failures.filter((f) => f.operatorId !== outcome.response.member.operatorId);
        target.record.responses.push({
          operatorId: outcome.response.member.operatorId,
          operator: outcome.response.member.address,
          stake: outcome.response.member.stake.toString(),
          resultHash: outcome.response.resultHash,
          signature: toHex(message.signature),
          receivedAt: outcome.response.receivedAt.toISOString(),
          counted: false,
        });
        // Too late to count, and outvoted by a certificate no challenge can overturn.
        if (target.response !== undefined && FINAL.has(target.record.certificate!.challenge) && outcome.response.resultHash !== target.response.resultHash) {
          await contradiction(target, target.response, outcome.response);
        }
        break;
    }
    if (target.record.state === "collecting") {
      const quorum = target.collector.quorum();
      if (quorum !== null) {
        track(submit(target, quorum));
      } else {
        const hopeless = target.collector.hopeless();
        if (hopeless !== null) finish(target, "failed", hopeless);
      }
    }
    if (holding) await held.save();
    return { accepted: true, reason: new Uint8Array() };
  };

  // Responses held before a restart go through the same checks again; a task certified
  // meanwhile (the restart came between the transaction and its record) is left alone.
  const replayed = new Set<number>();
  for (const taskId of new Set(stored.map((h) => h.message.taskId))) {
    if ((await chain.findResponse(taskId)) === null) replayed.add(taskId);
  }
  await Promise.all(stored.filter((h) => replayed.has(h.message.taskId)).map((h) => onResponse(h.message, h.from, h.receivedAt)));
  await held.save();
  if (stored.length > 0) log.info({ responses: stored.length, tasks: [...replayed] }, "responses held before the restart taken again");

  /** Responses being handled: stop() lets them finish (and their writes land) before it returns. */
  const handling = new Set<Promise<TaskResponseAck>>();
  host.handle(TaskResponseProtocol, (message, from) => {
    const handled = onResponse(message, from.peerId);
    handling.add(handled);
    void handled.finally(() => handling.delete(handled)).catch(() => undefined);
    return handled;
  });
  await host.start();

  // Deadlines and challenge windows move with blocks.
  const onBlock = (blockNumber: number): void => {
    for (const taskId of [...collecting]) {
      const p = tasks.get(taskId)!;
      if (blockNumber > p.record.responseDeadline) {
        finish(p, "failed", `response window closed at block ${p.record.responseDeadline}: ${p.collector.hopeless() ?? "the quorum was not reached in time"}`);
      }
    }
    for (const taskId of [...challengeable]) {
      const p = tasks.get(taskId);
      const certificate = p?.record.certificate;
      if (certificate === undefined || certificate.challenge !== "none") challengeable.delete(taskId);
      else if (blockNumber > certificate.challengeDeadline) {
        certificate.challenge = "final";
        challengeable.delete(taskId);
        onFinal(p!);
      }
    }
  };
  const setChallenge = (taskId: bigint, state: Certificate["challenge"]): void => {
    const p = tasks.get(Number(taskId));
    if (p?.record.certificate === undefined) return;
    p.record.certificate.challenge = state;
    if (FINAL.has(state)) onFinal(p);
  };
  const follower = chain.follow(
    {
      operatorOptedIn: (event) => {
        if (!avsIds.has(Number(event.avsId))) return;
        const address = getAddress(event.operator);
        track(admit(address).catch((err: unknown) => log.error({ operator: address, err: (err as Error).message }, "cannot admit an operator that opted in")));
      },
      taskCreated: (event, blockNumber) => {
        const taskId = Number(event.taskId);
        if (!avsIds.has(Number(event.avsId)) || tasks.has(taskId) || loading.has(taskId)) return;
        const opened = open(event, blockNumber).catch((err: unknown) => {
          log.error({ taskId, err: (err as Error).message }, "cannot read the task's operator set");
          return null;
        });
        loading.set(taskId, opened);
        void opened.finally(() => loading.delete(taskId));
      },
      taskChallenged: (event) => setChallenge(event.taskId, "open"),
      challengeResolved: (event) => setChallenge(event.taskId, event.upheld ? "upheld" : "rejected"),
      challengeExpired: (event) => setChallenge(event.taskId, "expired"),
      block: onBlock,
      error: (err) => log.warn({ err: err.message }, "cannot poll the execution node"),
    },
    { fromBlock: startBlock + 1 },
  );
  await follower.ready();

  let http: HttpServer | undefined;
  if (options.http !== undefined) {
    http = await startHttp(options.http, options.registry, () => true, (app) => {
      app.get<{ Params: { taskId: string } }>("/v1/tasks/:taskId", async (request, reply) => {
        const record = tasks.get(Number(request.params.taskId))?.record;
        return record === undefined ? reply.code(404).send({ message: `task ${request.params.taskId}: not known to this aggregator` }) : record;
      });
    });
  }
  log.info({ peerId, listen: host.multiaddrs, avsIds: [...avsIds], workers: workers.size, http: http?.url }, "AVS aggregator started");

  return Object.assign(emitter, {
    peerId,
    multiaddrs: host.multiaddrs,
    url: http?.url,
    task: (taskId: number) => tasks.get(taskId)?.record,
    stop: async () => {
      stopped = true;
      await follower.stop();
      // No response comes in after this; the ones being handled finish below.
      await host.stop();
      await Promise.allSettled([...loading.values()]);
      await Promise.allSettled([...handling]);
      await Promise.allSettled([...submissions]);
      // No write of this run after stop() returns: a restart reads the last one.
      await held.save();
      await http?.close();
    },
  });
}

function isPeerId(value: string): boolean {
  try {
    peerIdFromString(value);
    return true;
  } catch {
    return false;
  }
}

function aggregatorMetrics(registry: Registry) {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    tasks: get("nektar_avs_aggregator_tasks_total", () => new Counter({ name: "nektar_avs_aggregator_tasks_total", help: "Tasks finished, by outcome", labelNames: ["outcome"], registers: [registry] })),
    responses: get("nektar_avs_aggregator_responses_total", () => new Counter({ name: "nektar_avs_aggregator_responses_total", help: "Worker messages, by outcome", labelNames: ["outcome"], registers: [registry] })),
    admitted: get(
      "nektar_avs_aggregator_admitted_operators",
      () => new Gauge({ name: "nektar_avs_aggregator_admitted_operators", help: "Operators whose registered peer id may send responses", registers: [registry] }),
    ),
    evidence: get("nektar_avs_aggregator_evidence_total", () => new Counter({ name: "nektar_avs_aggregator_evidence_total", help: "Slashing evidence recorded, by kind", labelNames: ["kind"], registers: [registry] })),
    submit: get(
      "nektar_avs_aggregator_submit_seconds",
      () => new Histogram({ name: "nektar_avs_aggregator_submit_seconds", help: "From the quorum reached to the response mined", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    ),
  };
}
