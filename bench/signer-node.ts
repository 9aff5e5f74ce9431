/**
 * A worker thread of bench/signer.ts: some nodes of the cluster, each with its own ClusterHost
 * on 127.0.0.1, sharing this thread's event loop. A node runs both exchanges:
 *
 *   one round trip (services/signer): the leader broadcasts a proposal carrying the data and its
 *     partial; each follower signs and broadcasts its partial; each node recovers from t.
 *   QBFT-like (Charon, SSV): pre-prepare from the leader, prepare all-to-all, commit all-to-all
 *     (quorum t each), then the same partial signature exchange.
 *
 * Partials are handled as services/signer's sigagg does: decompressed on arrival, the first t
 * recovered, the result verified once (group check included) against the validator key.
 * It reports to the main thread when it leads a duty and when it recovers one (epoch
 * milliseconds, so the threads' times compare).
 */
import "../services/core/polyfills.js";
import { createHash } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import type { PublicKey } from "@chainsafe/blst";
import { ByteVectorType, ContainerType, UintNumberType } from "@chainsafe/ssz";
import type { Registry } from "prom-client";
import {
  type PartialSignature,
  parsePublicKey,
  parseSignatureOnCurve,
  recoverSignature,
  secretKeyFromScalar,
  verifyInGroup,
} from "../services/core/crypto/index.js";
import { fromHex } from "../services/core/hex.js";
import { createLogger } from "../services/core/log/index.js";
import { defineProtocol } from "../services/core/p2p/codec.js";
import type { ClusterHost, ClusterMember, Peer } from "../services/core/p2p/host.js";
import { identityFromSecret } from "../services/core/p2p/identity.js";
import { testNode } from "../services/core/p2p/testing.js";
import { SszDutyId } from "../services/signer/duties.js";
import { SszPartial, SszProposal } from "../services/signer/protocols.js";

export type Exchange = "one round trip" | "QBFT-like";

export interface WorkerInput {
  /** This thread's nodes: index in `members`, identity secret (hex), share (value in decimal). */
  nodes: { index: number; identity: string; share: { id: number; value: string } }[];
  members: ClusterMember[];
  ports: number[];
  threshold: number;
  /** The validator's public key (hex). */
  validatorKey: string;
}

/** From the main thread. */
export type WorkerCommand =
  | { type: "lead"; node: number; exchange: Exchange; slot: number }
  | { type: "traffic" }
  | { type: "stop" };

/** Frames and payload bytes sent. */
export interface Traffic {
  messages: number;
  bytes: number;
}

/** To the main thread (times in epoch milliseconds). */
export type WorkerReport =
  | { type: "ready" }
  | { type: "led"; slot: number; at: number }
  | { type: "recovered"; slot: number; at: number }
  | { type: "traffic"; sent: Record<Exchange, Traffic> }
  | { type: "stopped" }
  | { type: "error"; message: string };

// The QBFT phases: the pre-prepare is the proposal without a partial; prepare and commit name
// the data by its root. Limits out of the way: this measures latency, not the limiter.
const SszVote = new ContainerType({ duty: SszDutyId, round: new UintNumberType(2), root: new ByteVectorType(32) });
const unlimited = { perSecond: 1e6, burst: 1e6 };
const Proposal = defineProtocol({ name: "bench/signer/proposal", version: "1.0.0", request: SszProposal, maxRequestBytes: 4096, rateLimit: unlimited });
const Partial = defineProtocol({ name: "bench/signer/partial", version: "1.0.0", request: SszPartial, rateLimit: unlimited });
// The same partials under the reference's own name, so each exchange's traffic counts apart.
const QbftPartial = defineProtocol({ name: "bench/qbft/partial", version: "1.0.0", request: SszPartial, rateLimit: unlimited });
const PrePrepare = defineProtocol({ name: "bench/qbft/pre-prepare", version: "1.0.0", request: SszProposal, maxRequestBytes: 4096, rateLimit: unlimited });
const Prepare = defineProtocol({ name: "bench/qbft/prepare", version: "1.0.0", request: SszVote, rateLimit: unlimited });
const Commit = defineProtocol({ name: "bench/qbft/commit", version: "1.0.0", request: SszVote, rateLimit: unlimited });

/** The size of an attestation's data (phase0 AttestationData), what the proposal carries. */
const DATA_BYTES = 128;

type SszDuty = { type: number; slot: number; validator: number };

/** This node's view of one duty. */
interface NodeDuty {
  partials: PartialSignature[];
  prepares: Set<number>;
  commits: Set<number>;
  committed: boolean;
  signed: boolean;
  recovered: boolean;
}

const now = () => performance.timeOrigin + performance.now();

class BenchNode {
  private readonly duties = new Map<number, NodeDuty>();

  constructor(
    private readonly host: ClusterHost,
    private readonly threshold: number,
    private readonly share: { id: number; value: bigint },
    private readonly validatorKey: PublicKey,
    private readonly report: (report: WorkerReport) => void,
  ) {
    host.handle(Proposal, (m, from) => this.onProposal(m.duty, m.data, m.partial, from));
    host.handle(Partial, (m, from) => this.addPartial(m.duty.slot, m.signingRoot, from.index + 1, m.partial));
    host.handle(QbftPartial, (m, from) => this.addPartial(m.duty.slot, m.signingRoot, from.index + 1, m.partial));
    host.handle(PrePrepare, (m) => this.onPrePrepare(m.duty, m.round, m.data));
    host.handle(Prepare, (m, from) => this.onPrepare(m.duty, m.round, m.root, from.index));
    host.handle(Commit, (m, from) => this.onCommit(m.duty, m.round, m.root, from.index));
  }

  /** The leader's start of a duty. */
  lead(exchange: Exchange, slot: number): void {
    const duty = { type: 0, slot, validator: 0 };
    const data = new Uint8Array(DATA_BYTES).fill(slot & 0xff);
    new DataView(data.buffer).setUint32(0, slot);
    this.report({ type: "led", slot, at: now() });
    if (exchange === "one round trip") {
      const partial = this.sign(slot, signingRoot(data));
      void this.host.broadcast(Proposal, { duty, round: 0, data, partial });
    } else {
      void this.host.broadcast(PrePrepare, { duty, round: 0, data, partial: new Uint8Array(96) });
      this.onPrePrepare(duty, 0, data);
    }
  }

  // -- one round trip ------------------------------------------------------------------------

  private onProposal(duty: SszDuty, data: Uint8Array, leaderPartial: Uint8Array, from: Peer): void {
    const root = signingRoot(data); // services/signer checks the data against its own view here
    this.addPartial(duty.slot, root, from.index + 1, leaderPartial);
    const partial = this.sign(duty.slot, root);
    void this.host.broadcast(Partial, { duty, signingRoot: root, partial });
  }

  // -- QBFT-like -------------------------------------------------------------------------------

  private onPrePrepare(duty: SszDuty, round: number, data: Uint8Array): void {
    const root = signingRoot(data);
    void this.host.broadcast(Prepare, { duty, round, root });
    this.onPrepare(duty, round, root, this.host.self.index);
  }

  private onPrepare(duty: SszDuty, round: number, root: Uint8Array, from: number): void {
    const state = this.state(duty.slot);
    state.prepares.add(from);
    if (state.prepares.size < this.threshold || state.committed) return;
    state.committed = true;
    void this.host.broadcast(Commit, { duty, round, root });
    this.onCommit(duty, round, root, this.host.self.index);
  }

  private onCommit(duty: SszDuty, _round: number, root: Uint8Array, from: number): void {
    const state = this.state(duty.slot);
    state.commits.add(from);
    if (state.commits.size < this.threshold || state.signed) return;
    // Decided: now the same partial signature exchange as the one round trip.
    const partial = this.sign(duty.slot, root);
    void this.host.broadcast(QbftPartial, { duty, signingRoot: root, partial });
  }

  // -- partials, as services/signer's sigagg handles them ----------------------------------------

  private sign(slot: number, root: Uint8Array): Uint8Array {
    const state = this.state(slot);
    state.signed = true;
    const partial = secretKeyFromScalar(this.share.value).sign(root).toBytes();
    this.addPartial(slot, root, this.share.id, partial);
    return partial;
  }

  private addPartial(slot: number, root: Uint8Array, id: number, bytes: Uint8Array): void {
    const state = this.state(slot);
    if (state.recovered) return;
    state.partials.push({ id, signature: parseSignatureOnCurve(bytes, `partial of share ${id}`) });
    if (state.partials.length < this.threshold) return;
    const signature = recoverSignature(state.partials, this.threshold);
    if (!verifyInGroup(root, this.validatorKey, signature)) throw new Error(`slot ${slot}: the recovered signature does not verify`);
    state.recovered = true;
    this.report({ type: "recovered", slot, at: now() });
  }

  /** This node's view of the duty at `slot`. Duties run one at a time: older ones are forgotten. */
  private state(slot: number): NodeDuty {
    let state = this.duties.get(slot);
    if (state === undefined) {
      for (const old of this.duties.keys()) if (old < slot - 1) this.duties.delete(old);
      state = { partials: [], prepares: new Set(), commits: new Set(), committed: false, signed: false, recovered: false };
      this.duties.set(slot, state);
    }
    return state;
  }
}

function signingRoot(data: Uint8Array): Uint8Array {
  return createHash("sha256").update(data).digest();
}

/** Frames and payload bytes this node has sent so far for each exchange (nektar_p2p_messages_total, ..._bytes_total). */
async function outbound(registry: Registry): Promise<Record<Exchange, Traffic>> {
  const sent: Record<Exchange, Traffic> = { "one round trip": { messages: 0, bytes: 0 }, "QBFT-like": { messages: 0, bytes: 0 } };
  for (const metric of await registry.getMetricsAsJSON()) {
    if (metric.name !== "nektar_p2p_messages_total" && metric.name !== "nektar_p2p_message_bytes_total") continue;
    for (const { value, labels } of (metric.values ?? []) as { value: number; labels: Record<string, string | number> }[]) {
      if (labels.direction !== "outbound") continue;
      const protocol = String(labels.protocol);
      const exchange: Exchange | undefined = protocol.startsWith("/nektar/bench/signer/") ? "one round trip" : protocol.startsWith("/nektar/bench/qbft/") ? "QBFT-like" : undefined;
      if (exchange === undefined) continue;
      if (metric.name === "nektar_p2p_messages_total") sent[exchange].messages += value;
      else sent[exchange].bytes += value;
    }
  }
  return sent;
}

if (parentPort !== null) {
  const port = parentPort;
  const report = (message: WorkerReport) => port.postMessage(message);
  try {
    const input = workerData as WorkerInput;
    const validatorKey = parsePublicKey(fromHex(input.validatorKey, "validator key", 48), "validator key");
    const nodes = new Map(
      input.nodes.map(({ index, identity, share }) => {
        const node = testNode(identityFromSecret(fromHex(identity, "identity", 32), "bench identity"), input.members, input.ports[index]!, {
          logger: createLogger("p2p", { level: "warn" }),
        });
        return [index, { ...node, bench: new BenchNode(node.host, input.threshold, { id: share.id, value: BigInt(share.value) }, validatorKey, report) }];
      }),
    );
    port.on("message", (command: WorkerCommand) => {
      void (async () => {
        try {
          if (command.type === "lead") nodes.get(command.node)!.bench.lead(command.exchange, command.slot);
          else if (command.type === "traffic") {
            const sent: Record<Exchange, Traffic> = { "one round trip": { messages: 0, bytes: 0 }, "QBFT-like": { messages: 0, bytes: 0 } };
            for (const node of nodes.values()) {
              for (const [exchange, t] of Object.entries(await outbound(node.registry)) as [Exchange, Traffic][]) {
                sent[exchange].messages += t.messages;
                sent[exchange].bytes += t.bytes;
              }
            }
            report({ type: "traffic", sent });
          } else {
            await Promise.all([...nodes.values()].map((n) => n.host.stop()));
            report({ type: "stopped" });
            port.close();
          }
        } catch (err) {
          report({ type: "error", message: (err as Error).stack ?? String(err) });
        }
      })();
    });
    await Promise.all([...nodes.values()].map((n) => n.host.start()));
    await Promise.all([...nodes.values()].map((n) => n.host.waitForPeers({ timeoutMs: 120_000 })));
    report({ type: "ready" });
  } catch (err) {
    report({ type: "error", message: (err as Error).stack ?? String(err) });
  }
}
