/**
 * A whole DKG of 16 operators (threshold 11) and 100 validators in this one process: 16 ceremonies,
 * each with its own libp2p host on 127.0.0.1 (TCP, noise, yamux), then each operator's output
 * written (100 keystores each). Run twice: all operators on one thread, then spread over worker
 * threads, one per core, as the cores of one machine can run them. Either way this machine does
 * the work of all 16 operators; each real operator does a sixteenth of it on its own machine.
 *
 * Keystores use PBKDF2 with 2^10 iterations, not EIP-2335's 2^18 (or the scrypt the CLI uses by
 * default): at the EIP's cost, 1,600 keystores alone would take ~25 minutes of KDF here, time
 * that says nothing about the ceremony. A real operator pays it for its own 100 keystores.
 *
 * Printed: total wall time and CPU time, per validator, when the last operator got through each
 * phase, the ratio to the 30 s target (and the 10 s goal), and one blst signature measured in this
 * run as the unit that carries across machines.
 */
import { SecretKey } from "@chainsafe/blst";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { toHex } from "../services/core/hex.js";
import type { Phase } from "../services/dkg/ceremony.js";
import { loopbackCluster } from "../services/dkg/testing.js";
import type { WorkerInput, WorkerMessage } from "./dkg-worker.js";
import type { Benchmark } from "./index.js";
import { medianMs, printTable } from "./measure.js";

const OPERATORS = 16;
const VALIDATORS = 100;
const TARGET_S = 30;
const GOAL_S = 10;
const PHASES: Phase[] = ["connect", "deal", "verify", "justify", "finalize", "deposit", "lock"];

interface Run {
  threads: number;
  totalMs: number;
  /** CPU time of the process, every thread. */
  cpuMs: number;
  /** From the last operator entering a phase to the last one entering the next (or finishing). */
  phaseMs: [string, number][];
}

/** One DKG with its operators spread over `threads` worker threads. */
async function dkg(threads: number): Promise<Run> {
  const { identities, definition } = await loopbackCluster(OPERATORS, { numValidators: VALIDATORS });
  const outDir = await mkdtemp(join(tmpdir(), "nektar-bench-dkg-"));
  const entered = new Map<string, number>();
  const lockHashes = new Set<string>();
  let ceremonyEnd = 0;
  let outputEnd = 0;
  const cpu = process.cpuUsage();
  const start = performance.timeOrigin + performance.now();
  try {
    await Promise.all(
      Array.from({ length: threads }, async (_, w) => {
        const input: WorkerInput = {
          definition,
          operators: identities.flatMap((id, i) => (i % threads === w ? [[i, toHex(id.privateKey.raw)] as [number, string]] : [])),
          outDir,
          kdf: { function: "pbkdf2", c: 1024 },
        };
        const worker = new Worker(new URL("./dkg-worker.js", import.meta.url), { workerData: input });
        await new Promise<void>((resolve, reject) => {
          worker.on("message", (m: WorkerMessage) => {
            if (m.type === "phase") entered.set(m.phase, Math.max(entered.get(m.phase) ?? 0, m.at - start));
            else if (m.type === "done") {
              lockHashes.add(m.lockHash);
              ceremonyEnd = Math.max(ceremonyEnd, m.ceremonyEnd - start);
              outputEnd = Math.max(outputEnd, m.outputEnd - start);
            } else reject(new Error(m.message));
          });
          worker.on("error", reject);
          worker.on("exit", () => resolve());
        });
      }),
    );
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
  const totalMs = performance.timeOrigin + performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  if (lockHashes.size !== 1) throw new Error(`the operators made ${lockHashes.size} different locks`);
  const phaseMs: [string, number][] = PHASES.map((phase, i) => [phase, (i + 1 < PHASES.length ? entered.get(PHASES[i + 1]!)! : ceremonyEnd) - entered.get(phase)!]);
  phaseMs[0] = ["connect (from the threads and hosts starting)", phaseMs[0]![1] + entered.get("connect")!];
  phaseMs.push(["output (100 keystores each, PBKDF2 2^10)", outputEnd - ceremonyEnd]);
  phaseMs.push(["hosts stopped, threads ended", totalMs - outputEnd]);
  return { threads, totalMs, cpuMs: (user + system) / 1000, phaseMs };
}

export const dkgBench: Benchmark = {
  name: "dkg",
  description: `DKG of ${OPERATORS} operators x ${VALIDATORS} validators in one process over libp2p on 127.0.0.1, vs the ${TARGET_S} s target`,
  async run() {
    const key = SecretKey.fromKeygen(randomBytes(32));
    const message = randomBytes(32);
    const signMs = await medianMs(() => key.sign(message), 200);

    const runs = [await dkg(1)];
    const cores = Math.min(availableParallelism(), OPERATORS);
    if (cores > 1) runs.push(await dkg(cores));

    printTable(
      ["phase: until the last operator is through", ...runs.map((r) => `ms, ${r.threads} thread${r.threads === 1 ? "" : "s"}`)],
      runs[0]!.phaseMs.map(([phase], i) => [phase, ...runs.map((r) => r.phaseMs[i]![1])]),
    );
    console.log();
    printTable(
      ["figure", ...runs.map((r) => `${r.threads} thread${r.threads === 1 ? "" : "s"}`), "unit"],
      [
        [`${OPERATORS} operators x ${VALIDATORS} validators, wall time`, ...runs.map((r) => r.totalMs / 1000), "s"],
        ["  CPU time, all threads", ...runs.map((r) => r.cpuMs / 1000), "s"],
        ["  per validator", ...runs.map((r) => r.totalMs / VALIDATORS), "ms"],
        [`  ratio to the ${TARGET_S} s target`, ...runs.map((r) => r.totalMs / 1000 / TARGET_S), "x"],
        [`  ratio to the ${GOAL_S} s goal`, ...runs.map((r) => r.totalMs / 1000 / GOAL_S), "x"],
        ["  in blst signatures (one measured here)", ...runs.map((r) => r.totalMs / signMs), "signs"],
        ["blst sign (reference)", ...runs.map(() => signMs), "ms"],
      ],
    );
  },
};
