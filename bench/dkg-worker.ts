/**
 * A worker thread of bench/dkg.ts: runs some of the operators of one DKG (each with its own
 * libp2p host on 127.0.0.1), writes their output, and reports each operator's phases as they
 * start, and its lock hash and times (epoch milliseconds) at the end.
 */
import "../services/core/polyfills.js";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { fromHex } from "../services/core/hex.js";
import type { KdfParams } from "../services/core/crypto/index.js";
import { type ClusterDefinition } from "../services/core/p2p/definition.js";
import { identityFromSecret } from "../services/core/p2p/identity.js";
import { runCeremony } from "../services/dkg/ceremony.js";
import { writeCeremonyOutput } from "../services/dkg/output.js";
import { startHost } from "../services/dkg/testing.js";

export interface WorkerInput {
  definition: ClusterDefinition;
  /** The identity secrets (hex) of this worker's operators, by operator index. */
  operators: [index: number, secret: string][];
  outDir: string;
  kdf: KdfParams;
}

export type WorkerMessage =
  | { type: "phase"; operator: number; phase: string; at: number }
  | { type: "done"; operator: number; lockHash: string; ceremonyEnd: number; outputEnd: number }
  | { type: "error"; message: string };

const { definition, operators, outDir, kdf } = workerData as WorkerInput;
const post = (message: WorkerMessage) => parentPort!.postMessage(message);
const now = () => performance.timeOrigin + performance.now();

try {
  const identities = operators.map(([index, secret]) => [index, identityFromSecret(fromHex(secret, "identity", 32), `operator ${index}`)] as const);
  const started = await Promise.all(identities.map(([, identity]) => startHost(definition, identity)));
  try {
    await Promise.all(
      identities.map(async ([index, identity], i) => {
        const seen = new Set<string>();
        const result = await runCeremony({
          definition,
          identity,
          network: started[i]!.network,
          timeouts: { connectMs: 120_000, phaseMs: 300_000 },
          onProgress: ({ phase }) => {
            if (seen.has(phase)) return;
            seen.add(phase);
            post({ type: "phase", operator: index, phase, at: now() });
          },
        });
        const ceremonyEnd = now();
        await writeCeremonyOutput(join(outDir, `op-${index}`), result, { password: "bench", kdf });
        post({ type: "done", operator: index, lockHash: result.lock.lockHash, ceremonyEnd, outputEnd: now() });
      }),
    );
  } finally {
    await Promise.all(started.map(({ host }) => host.stop()));
  }
} catch (err) {
  post({ type: "error", message: (err as Error).stack ?? String(err) });
}
