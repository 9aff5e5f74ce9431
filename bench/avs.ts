/**
 * The AVS service end to end on anvil, every component in this process over real libp2p on
 * loopback:
 *   - certificates per second with 16 operators: tasks created back to back, each answered by
 *     every worker (executor call, BLS signature, libp2p), aggregated and mined;
 *   - with 100 operators, the time from the last response the quorum needed to the response
 *     mined on-chain (aggregation, non-signer ordering, checkSignatures, respondToTask).
 * Reference, measured in the same run: one plain anvil transaction round trip (send + receipt).
 */
import { toUtf8Bytes } from "ethers";

import { deployAvsNetwork, runAvs, settled } from "../services/avs/testing.js";
import type { Benchmark } from "./index.js";
import { percentile, printTable } from "./measure.js";

const TASKS = 40;

async function anvilRoundTripMs(net: Awaited<ReturnType<typeof deployAvsNetwork>>): Promise<number> {
  const signer = await net.f.anvil.signer(1);
  const to = await signer.getAddress();
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    await (await signer.sendTransaction({ to, value: 1n })).wait();
    samples.push(performance.now() - start);
  }
  return percentile(samples, 50);
}

async function certificatesPerSecond(): Promise<{ perSecond: number; p50Ms: number; oneTaskMs: number; roundTripMs: number }> {
  const net = await deployAvsNetwork({ operators: 16 });
  // Workers poll the node every 250 ms (as on the devnet): 16 pollers at 50 ms saturate one anvil.
  const avs = await runAvs(net, { rounds: 100, workerPollingMs: 250 });
  try {
    const roundTripMs = await anvilRoundTripMs(net);
    // Created concurrently, as a busy gateway would: the node orders them, the operators and
    // the aggregator work on many at once.
    const start = performance.now();
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: TASKS }, async (_, i) => {
        const submitted = performance.now();
        const created = await net.creator.createTask(net.avsId, toUtf8Bytes(`task ${i}`));
        const record = await settled(avs.aggregator, Number(created.taskId), 120_000);
        if (record.state !== "certified") throw new Error(`task ${created.taskId} ${record.state}: ${record.reason}`);
        latencies.push(performance.now() - submitted);
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    // One task at a time: the latency of a task that waits behind no other.
    const alone: number[] = [];
    for (let i = 0; i < 5; i++) {
      const submitted = performance.now();
      const created = await net.creator.createTask(net.avsId, toUtf8Bytes(`alone ${i}`));
      await settled(avs.aggregator, Number(created.taskId), 120_000);
      alone.push(performance.now() - submitted);
    }
    return { perSecond: TASKS / seconds, p50Ms: percentile(latencies, 50), oneTaskMs: percentile(alone, 50), roundTripMs };
  } finally {
    await avs.stop();
    await net.stop();
  }
}

async function quorumToSubmission(): Promise<{ p50Ms: number; maxMs: number; roundTripMs: number }> {
  const net = await deployAvsNetwork({ operators: 100, stakeEth: 1 });
  const avs = await runAvs(net, { rounds: 1, workerPollingMs: 500 });
  try {
    const roundTripMs = await anvilRoundTripMs(net);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await net.creator.createTask(net.avsId, toUtf8Bytes(`task ${i}`));
      const record = await settled(avs.aggregator, Number(created.taskId), 120_000);
      if (record.certificate === undefined) throw new Error(`task ${created.taskId} ${record.state}: ${record.reason}`);
      samples.push(record.certificate.quorumToSubmissionMs);
    }
    return { p50Ms: percentile(samples, 50), maxMs: Math.max(...samples), roundTripMs };
  } finally {
    await avs.stop();
    await net.stop();
  }
}

export const avsBench: Benchmark = {
  name: "avs",
  description: "AVS certificates per second (16 operators) and last response -> on-chain (100 operators), vs an anvil transaction round trip",
  async run() {
    const throughput = await certificatesPerSecond();
    const latency = await quorumToSubmission();
    printTable(
      ["measure", "value", "anvil tx round trip", "ratio"],
      [
        // Against sequential plain transactions per second: the ceiling of one submitter waiting on each receipt.
        [`certificates/s, 16 operators, ${TASKS} tasks`, throughput.perSecond.toFixed(1), `${(1000 / throughput.roundTripMs).toFixed(1)} tx/s`, `${((throughput.perSecond * throughput.roundTripMs) / 1000).toFixed(2)}x`],
        [`createTask sent -> certified, p50 in the burst of ${TASKS}`, `${throughput.p50Ms.toFixed(0)} ms`, `${throughput.roundTripMs.toFixed(1)} ms`, `${(throughput.p50Ms / throughput.roundTripMs).toFixed(1)}x`],
        ["createTask sent -> certified, p50 one at a time", `${throughput.oneTaskMs.toFixed(0)} ms`, `${throughput.roundTripMs.toFixed(1)} ms`, `${(throughput.oneTaskMs / throughput.roundTripMs).toFixed(1)}x`],
        ["last needed response -> mined, p50 (100 operators)", `${latency.p50Ms.toFixed(1)} ms`, `${latency.roundTripMs.toFixed(1)} ms`, `${(latency.p50Ms / latency.roundTripMs).toFixed(2)}x`],
        ["last needed response -> mined, max (100 operators)", `${latency.maxMs.toFixed(1)} ms`, "", ""],
      ],
    );
  },
};
