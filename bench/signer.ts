/**
 * Duty latency of the distributed validator's exchange, 16 nodes and t = 11 on loopback, spread
 * over one worker thread per core (bench/signer-node.ts; SIGNER_BENCH_THREADS overrides), against
 * a three-phase (QBFT-like) exchange on the same ClusterHosts as the reference. A thread per core
 * keeps the 16 nodes' work on every core without the OS time-slicing 16 event loops.
 *
 * Both run the same messages (services/signer's Proposal and Partial, the same sizes for the
 * QBFT phases) and the same crypto per node: a partial signature of the signing root, and on t
 * partials what services/signer's sigagg does (recovery, one verification against the validator
 * key). QBFT messages here carry no signature of their own (Charon signs each with the node's k1
 * key): the reference is, if anything, flattered. Duties alternate between the two (ABBA) on the
 * same cluster, so a burst of load on the machine hits both alike. Duties run one after another,
 * as a validator's do (one attestation an epoch): the next starts when every node has recovered
 * and a short pause has let the last frames land, so a duty's CPU is counted in its own window.
 *
 * Latency is from the leader starting the duty to a recovered signature: at the first node, which
 * submits it (the duty's latency, what the targets are about), and at every node (the last of
 * the 16 to recover, on 2 cores bounded below by the cluster's CPU per duty divided by 2). Slashing protection is left out of both
 * (services/signer records a vote before signing: bench/slashing-protection.ts measures that).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { toHex } from "../services/core/hex.js";
import { secretKeyFromScalar, splitSecret } from "../services/core/crypto/index.js";
import { randomScalar } from "../services/core/crypto/fr.js";
import { generateIdentity } from "../services/core/p2p/identity.js";
import { freePorts, membersOf } from "../services/core/p2p/testing.js";
import type { Benchmark } from "./index.js";
import { percentile, printTable } from "./measure.js";
import type { Exchange, Traffic, WorkerCommand, WorkerInput, WorkerReport } from "./signer-node.js";

const N = 16;
const T = 11;
// 1,000 duties per exchange: the p99 is the 10th slowest, so one GC pause does not make it.
const DUTIES = 1_000;
/** The pause after a duty (every node recovered), before the next. */
const SETTLE_MS = 10;
/** A duty not done by then is counted as failed (and the run goes on). */
const DUTY_TIMEOUT_MS = 5_000;
const TARGET_P99_MS = 50;
const TARGET_RATIO = 0.6;
const EXCHANGES: Exchange[] = ["one round trip", "QBFT-like"];
const THREADS = Number(process.env.SIGNER_BENCH_THREADS ?? Math.min(N, availableParallelism()));

interface Figures {
  first: number[];
  all: number[];
  failed: number;
  cpuMs: number;
  messages: number;
  bytes: number;
  duties: number;
}

/** The threads running the 16 nodes, and what they report. */
class Cluster {
  private readonly listeners = new Set<(report: WorkerReport, worker: number) => void>();

  private constructor(private readonly workers: Worker[]) {
    workers.forEach((worker, i) => {
      worker.on("message", (report: WorkerReport) => {
        if (report.type === "error") console.error(`thread ${i}: ${report.message}`);
        for (const listener of this.listeners) listener(report, i);
      });
      worker.on("error", (err) => console.error(`thread ${i}: ${err.stack ?? err}`));
    });
  }

  static async start(): Promise<Cluster> {
    const secret = randomScalar();
    const { shares } = splitSecret(secret, N, T);
    const validatorKey = toHex(secretKeyFromScalar(secret).toPublicKey().toBytes());
    const identities = Array.from({ length: N }, generateIdentity);
    const ports = await freePorts(N);
    const members = membersOf(identities, ports);
    const workers = Array.from({ length: THREADS }, (_, w) => {
      const input: WorkerInput = {
        // Node i on thread i mod THREADS: consecutive leaders on different threads.
        nodes: identities
          .map((identity, index) => ({ index, identity: toHex(identity.privateKey.raw), share: { id: shares[index]!.id, value: shares[index]!.value.toString() } }))
          .filter(({ index }) => index % THREADS === w),
        members,
        ports,
        threshold: T,
        validatorKey,
      };
      return new Worker(new URL("./signer-node.js", import.meta.url), { workerData: input });
    });
    const cluster = new Cluster(workers);
    await cluster.collect((r) => r.type === "ready" || r.type === "error", THREADS, 180_000, "the nodes to connect");
    return cluster;
  }

  /** Has `node` lead the duty at `slot`. */
  lead(node: number, exchange: Exchange, slot: number): void {
    this.send(node % THREADS, { type: "lead", node, exchange, slot });
  }

  private send(worker: number, command: WorkerCommand): void {
    this.workers[worker]!.postMessage(command);
  }

  /** The first `count` reports `match` accepts, or fails after `timeoutMs`. */
  collect(match: (report: WorkerReport) => boolean, count: number, timeoutMs: number, what: string): Promise<WorkerReport[]> {
    return new Promise((resolve, reject) => {
      const got: WorkerReport[] = [];
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (err !== undefined) reject(err);
        else resolve(got);
      };
      const listener = (report: WorkerReport, worker: number) => {
        if (!match(report)) return;
        if (report.type === "error") return done(new Error(`thread ${worker}: ${report.message}`));
        got.push(report);
        if (got.length === count) done();
      };
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what} (${got.length} of ${count})`)), timeoutMs);
      this.listeners.add(listener);
    });
  }

  /** Frames and payload bytes all nodes have sent so far, per exchange. */
  async outbound(): Promise<Record<Exchange, Traffic>> {
    const replies = this.collect((r) => r.type === "traffic", THREADS, 30_000, "traffic figures");
    for (let i = 0; i < THREADS; i++) this.send(i, { type: "traffic" });
    const sent: Record<Exchange, Traffic> = { "one round trip": { messages: 0, bytes: 0 }, "QBFT-like": { messages: 0, bytes: 0 } };
    for (const report of await replies) {
      if (report.type !== "traffic") continue;
      for (const exchange of EXCHANGES) {
        sent[exchange].messages += report.sent[exchange].messages;
        sent[exchange].bytes += report.sent[exchange].bytes;
      }
    }
    return sent;
  }

  async stop(): Promise<void> {
    const stopped = this.collect((r) => r.type === "stopped", THREADS, 30_000, "the nodes to stop");
    for (let i = 0; i < THREADS; i++) this.send(i, { type: "stop" });
    await stopped.catch((err: Error) => console.error(err.message));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export const signerBench: Benchmark = {
  name: "signer",
  description: `duty latency, ${N} nodes, t = ${T}, on loopback over ${THREADS} thread(s): one round trip vs a QBFT-like three-phase exchange on the same hosts`,
  async run() {
    const cluster = await Cluster.start();
    let slot = 0;
    /** One duty: its latencies, and the CPU of every thread from its start to the end of its pause. */
    const runDuty = async (exchange: Exchange): Promise<{ first: number; all: number; cpuMs: number } | undefined> => {
      slot++;
      const at = slot;
      const cpu = process.cpuUsage();
      const reports = cluster.collect((r) => (r.type === "led" || r.type === "recovered") && r.slot === at, N + 1, DUTY_TIMEOUT_MS, `slot ${at}`);
      cluster.lead(slot % N, exchange, slot);
      const got = await reports.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const used = process.cpuUsage(cpu);
      if (got === undefined) return undefined;
      let started = 0;
      const recovered: number[] = [];
      for (const report of got) {
        if (report.type === "led") started = report.at;
        if (report.type === "recovered") recovered.push(report.at);
      }
      return { first: Math.min(...recovered) - started, all: Math.max(...recovered) - started, cpuMs: (used.user + used.system) / 1000 };
    };

    const figures = new Map<Exchange, Figures>(EXCHANGES.map((e) => [e, { first: [], all: [], failed: 0, cpuMs: 0, messages: 0, bytes: 0, duties: 0 }]));
    // Warm-up: streams opened, code compiled.
    for (let i = 0; i < 10; i++) for (const exchange of EXCHANGES) await runDuty(exchange);
    const before = await cluster.outbound();
    for (let i = 0; i < DUTIES; i++) {
      for (const exchange of i % 2 === 0 ? EXCHANGES : [...EXCHANGES].reverse()) {
        const f = figures.get(exchange)!;
        const duty = await runDuty(exchange);
        f.duties++;
        if (duty === undefined) {
          f.failed++;
          continue;
        }
        f.first.push(duty.first);
        f.all.push(duty.all);
        f.cpuMs += duty.cpuMs;
      }
    }
    const after = await cluster.outbound();
    for (const [exchange, f] of figures) {
      f.messages = after[exchange].messages - before[exchange].messages;
      f.bytes = after[exchange].bytes - before[exchange].bytes;
    }
    await cluster.stop();

    printTable(
      ["exchange", "first node p50 ms", "p99", "every node p50 ms", "p99", "messages/duty", "bytes/duty", "CPU/node/duty ms", "failed"],
      [...figures].map(([name, f]) => [
        name,
        percentile(f.first, 50),
        percentile(f.first, 99),
        percentile(f.all, 50),
        percentile(f.all, 99),
        f.messages / f.duties,
        f.bytes / f.duties,
        f.cpuMs / (f.duties - f.failed) / N,
        f.failed,
      ]),
    );
    const ours = figures.get("one round trip")!;
    const reference = figures.get("QBFT-like")!;
    const ratio = (p: number, at: "first" | "all") => percentile(ours[at], p) / percentile(reference[at], p);
    console.log(
      `one round trip vs QBFT-like: first node p50 x${ratio(50, "first").toFixed(2)}, p99 x${ratio(99, "first").toFixed(2)};` +
        ` every node p50 x${ratio(50, "all").toFixed(2)}, p99 x${ratio(99, "all").toFixed(2)};` +
        ` CPU per validator per epoch (one attestation) ${(ours.cpuMs / (ours.duties - ours.failed) / N).toFixed(2)} ms per node, ${(ours.cpuMs / (ours.duties - ours.failed)).toFixed(1)} ms for the cluster`,
    );
    // A duty is done when its signature is recovered: the first node to hold it submits it.
    const p99 = percentile(ours.first, 99);
    console.log(
      `targets (duty latency: proposal to the first recovered signature): p99 <= ${TARGET_P99_MS} ms ${p99 <= TARGET_P99_MS ? "met" : "NOT met"} (${p99.toFixed(1)} ms),` +
        ` p99 <= ${TARGET_RATIO}x the reference ${ratio(99, "first") <= TARGET_RATIO ? "met" : "NOT met"} (x${ratio(99, "first").toFixed(2)})`,
    );
  },
};
