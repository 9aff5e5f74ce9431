/**
 * Threshold signatures of many messages at once, as a ceremony makes them for every validator's
 * deposit: each operator sends its partial signature of every message; any t of them recover a
 * validator's signature.
 *
 * Optimistic: partials are parsed as curve points only, the signatures are recovered from the t
 * lowest share ids and verified together, group checks included (one multi-pairing for all
 * validators). Only a validator whose signature fails has its partials checked one by one against
 * the public shares, to recover it from valid ones and name the operators that sent bad ones.
 */
import { type PublicKey, Signature, verify, verifyMultipleAggregateSignatures } from "@chainsafe/blst";
import { ssz, type phase0 } from "@lodestar/types";
import { type PartialSignature, findInvalidPartials, recoverSignature } from "../core/crypto/index.js";
import { NektarError } from "../core/errors.js";
import { DEPOSIT_CLI_VERSION, type DepositDataEntry, type Network } from "../core/eth/index.js";
import { toHex } from "../core/hex.js";

export interface OperatorPartials {
  /** The share id that signed. */
  readonly id: number;
  /** Uncompressed G2 points, by message. */
  readonly signatures: readonly Uint8Array[];
}

export interface Recovered {
  /** The signature of each message by its key. */
  readonly signatures: Signature[];
  /** Share ids whose partials were malformed or did not verify (none when all went well). */
  readonly faulty: number[];
}

/**
 * Recovers the signature of messages[v] by keys[v] from `partials`, whose share ids have the
 * public keys publicShares[v][id - 1]. Throws if some message cannot be signed by t valid partials.
 */
export function recoverSignatures(
  messages: readonly Uint8Array[],
  keys: readonly PublicKey[],
  publicShares: readonly (readonly PublicKey[])[],
  partials: readonly OperatorPartials[],
  threshold: number,
): Recovered {
  const faulty = new Set<number>();
  const parsed = new Map<number, Signature[]>();
  for (const { id, signatures } of partials) {
    try {
      if (signatures.length !== messages.length) throw new Error("wrong count");
      parsed.set(
        id,
        signatures.map((bytes) => Signature.fromBytes(bytes, false, true)),
      );
    } catch {
      faulty.add(id);
    }
  }
  const ids = [...parsed.keys()].sort((a, b) => a - b);
  const recoverFrom = (v: number, from: readonly number[]) => {
    if (from.length < threshold) {
      throw new NotEnoughPartialsError(v, from.length, threshold, [...faulty].sort((a, b) => a - b));
    }
    return recoverSignature(
      from.slice(0, threshold).map((id) => ({ id, signature: parsed.get(id)![v]! })),
      threshold,
    );
  };

  const signatures = messages.map((_, v) => recoverFrom(v, ids));
  const sets = messages.map((msg, v) => ({ msg, pk: keys[v]!, sig: signatures[v]! }));
  if (sets.length > 0 && !verifyMultipleAggregateSignatures(sets, false, true)) {
    for (const [v, set] of sets.entries()) {
      if (verify(set.msg, set.pk, set.sig, false, true)) continue;
      const candidates: PartialSignature[] = [];
      for (const id of ids) {
        const signature = parsed.get(id)![v]!;
        try {
          signature.sigValidate();
          candidates.push({ id, signature });
        } catch {
          faulty.add(id);
        }
      }
      const shareKeys = new Map(publicShares[v]!.map((key, i) => [i + 1, key]));
      for (const id of findInvalidPartials(set.msg, candidates, shareKeys)) faulty.add(id);
      signatures[v] = recoverFrom(
        v,
        ids.filter((id) => !faulty.has(id)),
      );
    }
  }
  return { signatures, faulty: [...faulty].sort((a, b) => a - b) };
}

/** Fewer than t operators sent valid partial signatures of message `index`. */
export class NotEnoughPartialsError extends NektarError {
  constructor(
    readonly index: number,
    valid: number,
    threshold: number,
    /** The share ids whose partials were bad. */
    readonly faulty: number[],
  ) {
    super(`message ${index}: ${valid} valid partial signatures, the threshold is ${threshold}`);
  }
}

/**
 * The deposit_data.json entry of a deposit whose signature recoverSignatures verified. (core/eth's
 * depositDataEntry would verify it again, a pairing and two group checks per validator, which
 * in a ceremony of many validators costs more than their recovery and batched verification.)
 */
export function verifiedDepositEntry(message: phase0.DepositMessage, signature: Signature, network: Network): DepositDataEntry {
  const bare = (bytes: Uint8Array) => toHex(bytes).slice(2);
  const signatureBytes = signature.toBytes();
  return {
    pubkey: bare(message.pubkey),
    withdrawal_credentials: bare(message.withdrawalCredentials),
    amount: message.amount,
    signature: bare(signatureBytes),
    deposit_message_root: bare(ssz.phase0.DepositMessage.hashTreeRoot(message)),
    deposit_data_root: bare(ssz.phase0.DepositData.hashTreeRoot({ ...message, signature: signatureBytes })),
    fork_version: bare(network.genesisForkVersion),
    network_name: network.name,
    deposit_cli_version: DEPOSIT_CLI_VERSION,
  };
}
