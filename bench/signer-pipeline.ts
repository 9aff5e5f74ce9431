/**
 * The real distributed validator pipeline (services/signer, startTestCluster): 16 nodes, t = 11,
 * one process, on loopback, attesting for 8 validators against the beacon double (1 s slots,
 * 4 slots an epoch: two attestations a slot). Everything runs: scheduler, fetcher (HTTP to the
 * double), consensus, slashing protection (fsynced), parsigex, sigagg, broadcaster.
 *
 * Latency is the signer's own nektar_signer_consensus_duration_seconds (a duty's start at 1/3
 * slot to its recovered signature, every node), read from its histogram: its mean, and the
 * bucket bounds of p50 and p99. Messages and bytes per duty from nektar_p2p_* of the signer's
 * protocols; CPU per validator per epoch from process.cpuUsage over the measured epochs (the
 * beacon double's share included).
 */
import { ForkName } from "@lodestar/params";
import type { Registry } from "prom-client";
import { startTestCluster } from "../services/signer/testing.js";
import { BeaconDouble } from "../test/doubles/beacon/double.js";
import { interopSecretScalar } from "../test/system/lodestar/interop.js";
import type { Benchmark } from "./index.js";

const N = 16;
const T = 11;
const VALIDATORS = 8;
const SLOT_MS = 1000;
const SLOTS_PER_EPOCH = 4;
const EPOCHS = 3;

export const signerPipelineBench: Benchmark = {
  name: "signer-pipeline",
  description: `the real pipeline (services/signer): ${N} nodes, t = ${T}, ${VALIDATORS} validators attesting, ${SLOT_MS} ms slots, one process`,
  async run() {
    const double = await BeaconDouble.start({ slotMs: SLOT_MS, slotsPerEpoch: SLOTS_PER_EPOCH, validators: VALIDATORS, fork: ForkName.electra, genesisDelayMs: 2_000 });
    const cluster = await startTestCluster({
      n: N,
      threshold: T,
      secrets: Array.from({ length: VALIDATORS }, (_, i) => interopSecretScalar(i)),
      beaconUrl: double.url,
      genesisForkVersion: "0x00000001",
      genesisValidatorsRoot: new Uint8Array(32).fill(0x42),
      duties: ["attester"],
      // Mainnet's round timeout (12 s slots / 6): short slots keep the run short, but a round
      // timeout scaled down with them would measure round changes on a loaded machine.
      timing: { roundTimeoutMs: 2_000, dutyDeadlineMs: SLOTS_PER_EPOCH * SLOT_MS },
    });
    try {
      await cluster.waitConnected(120_000);
      // From the start of the next epoch but one: the first duties also open streams and warm up.
      const first = (Math.floor(Math.max(0, double.currentSlot()) / SLOTS_PER_EPOCH) + 2) * SLOTS_PER_EPOCH;
      await sleep(double.slotStartMs(first) - Date.now());
      const before = await snapshot(cluster.registries);
      const cpu = process.cpuUsage();
      // Attestations start at 1/3 slot: just before the first one after the measured epochs,
      // the measured ones have had at least a slot (several times their latency) to finish.
      await sleep(double.slotStartMs(first + EPOCHS * SLOTS_PER_EPOCH) + SLOT_MS / 3 - 20 - Date.now());
      const used = process.cpuUsage(cpu);
      const after = await snapshot(cluster.registries);

      const observations = after.count - before.count;
      const expected = EPOCHS * VALIDATORS;
      const ended = (after.done - before.done + after.failed - before.failed) / N;
      const buckets = [...after.buckets].map(([le, c]) => [le, c - (before.buckets.get(le) ?? 0)] as const);
      const bound = (p: number) => buckets.find(([, c]) => c >= (p / 100) * observations)?.[0] ?? Infinity;
      console.log(`duties: ${expected} (x ${N} nodes); done ${after.done - before.done}, failed ${after.failed - before.failed} node-duties`);
      console.log(
        `duty start to recovered signature, every node: mean ${((1000 * (after.sum - before.sum)) / observations).toFixed(1)} ms,` +
          ` p50 <= ${1000 * bound(50)} ms, p99 <= ${1000 * bound(99)} ms (histogram buckets)`,
      );
      console.log(`messages per duty: ${((after.messages - before.messages) / ended).toFixed(0)}, bytes per duty: ${((after.bytes - before.bytes) / ended).toFixed(0)}`);
      const cpuMs = (used.user + used.system) / 1000;
      console.log(`CPU per validator per epoch: ${(cpuMs / VALIDATORS / EPOCHS / N).toFixed(2)} ms per node, ${(cpuMs / VALIDATORS / EPOCHS).toFixed(1)} ms for the cluster`);
    } finally {
      await cluster.stop();
      await double.stop();
    }
  },
};

interface Snapshot {
  count: number;
  sum: number;
  buckets: Map<number, number>;
  done: number;
  failed: number;
  messages: number;
  bytes: number;
}

/** The attester figures of every node's registry, summed. */
async function snapshot(registries: readonly Registry[]): Promise<Snapshot> {
  const out: Snapshot = { count: 0, sum: 0, buckets: new Map(), done: 0, failed: 0, messages: 0, bytes: 0 };
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      const values = (metric.values ?? []) as { value: number; labels: Record<string, string | number>; metricName?: string }[];
      for (const v of values) {
        if (metric.name === "nektar_signer_consensus_duration_seconds" && v.labels.type === "attester") {
          if (v.metricName?.endsWith("_count")) out.count += v.value;
          else if (v.metricName?.endsWith("_sum")) out.sum += v.value;
          else if (v.metricName?.endsWith("_bucket") && v.labels.le !== "+Inf") {
            const le = Number(v.labels.le);
            out.buckets.set(le, (out.buckets.get(le) ?? 0) + v.value);
          }
        } else if (metric.name === "nektar_signer_duties_total" && v.labels.type === "attester") {
          if (v.labels.outcome === "done") out.done += v.value;
          else out.failed += v.value;
        } else if (v.labels.direction === "outbound" && String(v.labels.protocol).startsWith("/nektar/signer/")) {
          if (metric.name === "nektar_p2p_messages_total") out.messages += v.value;
          if (metric.name === "nektar_p2p_message_bytes_total") out.bytes += v.value;
        }
      }
    }
  }
  out.buckets = new Map([...out.buckets].sort(([a], [b]) => a - b));
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
