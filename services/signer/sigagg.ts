/**
 * Signature aggregation: partial signatures per (duty, signing root) until t of them are valid,
 * then the validator's signature, recovered by Lagrange interpolation and verified once against
 * the validator key. A partial is only decompressed as it arrives (on the curve); its subgroup
 * and its validity against its share's public key are checked only if the recovered signature
 * fails (see tryRecover): per partial, the subgroup check would cost more than the recovery.
 */
import type { PublicKey, Signature } from "@chainsafe/blst";
import { findInvalidPartials, inSignatureGroup, parsePublicKey, parseSignatureOnCurve, recoverSignature, verifyInGroup } from "../core/crypto/index.js";
import { fromHex, toHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import type { ClusterLock } from "../core/cluster/lock.js";
import { type DutyId, dutyKey } from "./duties.js";
import type { SignerMetrics } from "./metrics.js";

export interface Aggregate {
  readonly id: DutyId;
  readonly signingRoot: Uint8Array;
  readonly signature: Uint8Array;
}

interface Pending {
  readonly slot: number;
  /** Signing root (hex) -> share id -> partial. */
  readonly roots: Map<string, Map<number, Signature>>;
  done: boolean;
}

export class SigAgg {
  private readonly threshold: number;
  private readonly validatorKeys: PublicKey[];
  private readonly publicShares: Map<number, PublicKey>[];
  private readonly pending = new Map<string, Pending>();

  constructor(
    lock: ClusterLock,
    private readonly onAggregate: (aggregate: Aggregate) => void,
    private readonly metrics: SignerMetrics,
    private readonly log: Logger,
  ) {
    this.threshold = lock.definition.threshold;
    this.validatorKeys = lock.validators.map((v, i) => parsePublicKey(fromHex(v.pubkey, `lock validator ${i}`, 48), `lock validator ${i}`));
    this.publicShares = lock.validators.map(
      (v, i) => new Map(v.publicShares.map((s, j) => [j + 1, parsePublicKey(fromHex(s, `lock validator ${i} public share ${j}`, 48), `public share ${j + 1}`)])),
    );
  }

  /**
   * Adds share `shareId`'s partial of `signingRoot` for duty `id`. Bytes that are no point of the
   * curve are dropped and counted here; the rest is checked if recovery fails.
   */
  add(id: DutyId, signingRoot: Uint8Array, shareId: number, partial: Uint8Array, from: "self" | "peer"): void {
    if (id.validator >= this.validatorKeys.length) return;
    const key = dutyKey(id);
    let pending = this.pending.get(key);
    if (pending === undefined) this.pending.set(key, (pending = { slot: id.slot, roots: new Map(), done: false }));
    if (pending.done) return;
    let signature: Signature;
    try {
      signature = parseSignatureOnCurve(partial, `partial of share ${shareId} for ${key}`);
    } catch (err) {
      this.metrics.partials.inc({ type: id.type, result: "invalid_point" });
      this.log.warn({ duty: key, shareId, err: (err as Error).message }, "dropped a partial signature that is not a point of the curve");
      return;
    }
    const root = toHex(signingRoot);
    let partials = pending.roots.get(root);
    if (partials === undefined) pending.roots.set(root, (partials = new Map()));
    if (partials.has(shareId)) return; // a resend
    partials.set(shareId, signature);
    if (from === "peer") this.metrics.partials.inc({ type: id.type, result: "received" });
    if (partials.size >= this.threshold) this.tryRecover(id, pending, signingRoot, partials);
  }

  /** How many partials this node holds for each root of a duty (tests and logs). */
  counts(id: DutyId): Map<string, number> {
    const pending = this.pending.get(dutyKey(id));
    return new Map([...(pending?.roots ?? new Map<string, Map<number, Signature>>())].map(([root, p]) => [root, p.size]));
  }

  /** Forgets duties before `slot`. */
  prune(slot: number): void {
    for (const [key, pending] of this.pending) if (pending.slot < slot) this.pending.delete(key);
  }

  /**
   * Optimistic: recover from the first t and verify the result once, group check included,
   * against the validator key. A valid signature is the key's one signature of the root whatever
   * the partials were, and a bad partial can only make it invalid; only then are the partials
   * checked (subgroup, then batched, then one by one) and the culprits dropped.
   */
  private tryRecover(id: DutyId, pending: Pending, signingRoot: Uint8Array, partials: Map<number, Signature>): void {
    const started = performance.now();
    const chosen = [...partials].slice(0, this.threshold).map(([shareId, signature]) => ({ id: shareId, signature }));
    const signature = recoverSignature(chosen, this.threshold);
    if (!verifyInGroup(signingRoot, this.validatorKeys[id.validator]!, signature)) {
      // The batched check is sound only for points of the subgroup.
      const outside = chosen.filter((p) => !inSignatureGroup(p.signature)).map((p) => p.id);
      const inGroup = chosen.filter((p) => !outside.includes(p.id));
      const invalid = [...outside, ...findInvalidPartials(signingRoot, inGroup, this.publicShares[id.validator]!)];
      for (const shareId of invalid) partials.delete(shareId);
      this.metrics.partials.inc({ type: id.type, result: "invalid" }, invalid.length);
      this.log.warn({ duty: dutyKey(id), shares: invalid }, "dropped partial signatures that do not verify against their public shares");
      if (invalid.length > 0 && partials.size >= this.threshold) this.tryRecover(id, pending, signingRoot, partials);
      return;
    }
    pending.done = true;
    this.metrics.recovery.observe({ type: id.type }, (performance.now() - started) / 1000);
    this.onAggregate({ id, signingRoot, signature: signature.toBytes() });
  }
}
