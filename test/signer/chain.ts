/**
 * What the signer tests check against: the duties the beacon double assigns to a cluster's
 * validators, and what the double received, decoded and verified independently of the signer's
 * code (core/eth's domains and signing roots, blst).
 */
import { verify } from "@chainsafe/blst";
import { type ForkName, isForkPostDeneb, isForkPostElectra } from "@lodestar/params";
import { ssz, sszTypesFor, type phase0 } from "@lodestar/types";
import { parsePublicKey, parseSignature } from "../../services/core/crypto/index.js";
import { BeaconClient } from "../../services/core/eth/beacon/index.js";
import { DOMAIN_BEACON_ATTESTER, DOMAIN_BEACON_PROPOSER, computeDomainAtEpoch, computeSigningRoot, type Network } from "../../services/core/eth/index.js";
import { toHex } from "../../services/core/hex.js";
import type { BeaconDouble } from "../doubles/beacon/double.js";

export interface SubmittedAttestation {
  readonly validator: number;
  readonly data: phase0.AttestationData;
  readonly dataRoot: string;
  readonly valid: boolean;
}

export interface SubmittedBlock {
  readonly validator: number;
  readonly slot: number;
  readonly root: string;
  readonly valid: boolean;
}

export async function networkOf(double: BeaconDouble): Promise<Network> {
  return new BeaconClient(double.url).network();
}

function verifies(root: Uint8Array, pubkey: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(root, parsePublicKey(pubkey, "pubkey"), parseSignature(signature, "signature"));
  } catch {
    return false;
  }
}

/** Every attestation the double accepted, with whether its signature is the validator's. */
export function submittedAttestations(double: BeaconDouble, network: Network): SubmittedAttestation[] {
  const out: SubmittedAttestation[] = [];
  const add = (validator: number, data: phase0.AttestationData, signature: Uint8Array) => {
    const root = computeSigningRoot(ssz.phase0.AttestationData, data, computeDomainAtEpoch(network, DOMAIN_BEACON_ATTESTER, data.target.epoch));
    out.push({ validator, data, dataRoot: toHex(ssz.phase0.AttestationData.hashTreeRoot(data)), valid: verifies(root, double.pubkeys[validator]!, signature) });
  };
  if (isForkPostElectra(double.fork)) {
    for (const json of double.submitted("POST /eth/v2/beacon/pool/attestations").flat()) {
      const a = ssz.electra.SingleAttestation.fromJson(json);
      add(a.attesterIndex, a.data, a.signature);
    }
  } else {
    for (const json of double.submitted("POST /eth/v1/beacon/pool/attestations").flat()) {
      const a = ssz.phase0.Attestation.fromJson(json);
      const committee = double.committee(a.data.slot);
      const bits = committee.filter((_, k) => a.aggregationBits.get(k));
      if (bits.length !== 1) throw new Error(`an attestation with ${bits.length} bits set`);
      add(bits[0]!, a.data, a.signature);
    }
  }
  return out;
}

/** Every block the double accepted. */
export function submittedBlocks(double: BeaconDouble, network: Network): SubmittedBlock[] {
  const fork = double.fork;
  const endpoint = isForkPostDeneb(fork) ? "POST /eth/v2/beacon/blocks" : "POST /eth/v1/beacon/blocks";
  return double.submitted(endpoint).map((json) => {
    const signed = isForkPostDeneb(fork)
      ? (sszTypesFor(fork as ForkName.deneb).SignedBlockContents.fromJson(json).signedBlock as { message: { slot: number; proposerIndex: number }; signature: Uint8Array })
      : (sszTypesFor(fork).SignedBeaconBlock.fromJson(json) as { message: { slot: number; proposerIndex: number }; signature: Uint8Array });
    const blockRoot = sszTypesFor(fork).BeaconBlock.hashTreeRoot(signed.message as never);
    const domain = computeDomainAtEpoch(network, DOMAIN_BEACON_PROPOSER, Math.floor(signed.message.slot / double.slotsPerEpoch));
    const root = ssz.phase0.SigningData.hashTreeRoot({ objectRoot: blockRoot, domain });
    const validator = signed.message.proposerIndex;
    return { validator, slot: signed.message.slot, root: toHex(blockRoot), valid: verifies(root, double.pubkeys[validator]!, signed.signature) };
  });
}

export interface SubmittedBlindedBlock extends SubmittedBlock {
  /** The signing root the signature was checked against (what slashing protection records). */
  readonly signingRoot: string;
}

/** Every blinded block the double accepted (POST /eth/v2/beacon/blinded_blocks), from Bellatrix on. */
export function submittedBlindedBlocks(double: BeaconDouble, network: Network): SubmittedBlindedBlock[] {
  const type = sszTypesFor(double.fork as ForkName.bellatrix);
  return double.submitted("POST /eth/v2/beacon/blinded_blocks").map((json) => {
    const signed = type.SignedBlindedBeaconBlock.fromJson(json);
    const blockRoot = type.BlindedBeaconBlock.hashTreeRoot(signed.message);
    const domain = computeDomainAtEpoch(network, DOMAIN_BEACON_PROPOSER, Math.floor(signed.message.slot / double.slotsPerEpoch));
    const root = ssz.phase0.SigningData.hashTreeRoot({ objectRoot: blockRoot, domain });
    const validator = signed.message.proposerIndex;
    return { validator, slot: signed.message.slot, root: toHex(blockRoot), signingRoot: toHex(root), valid: verifies(root, double.pubkeys[validator]!, signed.signature) };
  });
}

/** The double's duties for `validators` in [from, to): its attesting and proposing slots. */
export function expectedDuties(double: BeaconDouble, validators: readonly number[], from: number, to: number) {
  const attestations: { validator: number; slot: number }[] = [];
  const blocks: { validator: number; slot: number }[] = [];
  for (let slot = from; slot < to; slot++) {
    for (const v of validators) {
      if (double.attesterSlot(v, Math.floor(slot / double.slotsPerEpoch)) === slot) attestations.push({ validator: v, slot });
      if (double.proposer(slot) === v) blocks.push({ validator: v, slot });
    }
  }
  return { attestations, blocks };
}

/**
 * Slashable pairs among attestations and blocks (EIP-3076 rules): two votes for one target with
 * different data, a vote surrounding another, two blocks for one slot. Empty when safe.
 */
export function slashable(attestations: readonly { validator: number; source: number; target: number; root: string }[], blocks: readonly { validator: number; slot: number; root: string }[]): string[] {
  const problems: string[] = [];
  for (const [i, a] of attestations.entries()) {
    for (const b of attestations.slice(i + 1)) {
      if (a.validator !== b.validator) continue;
      if (a.target === b.target && a.root !== b.root) problems.push(`validator ${a.validator}: double vote at target ${a.target}`);
      if ((a.source < b.source && a.target > b.target) || (b.source < a.source && b.target > a.target)) {
        problems.push(`validator ${a.validator}: surround vote (${a.source},${a.target}) / (${b.source},${b.target})`);
      }
    }
  }
  for (const [i, a] of blocks.entries()) {
    for (const b of blocks.slice(i + 1)) if (a.validator === b.validator && a.slot === b.slot && a.root !== b.root) problems.push(`validator ${a.validator}: two blocks at slot ${a.slot}`);
  }
  return problems;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Resolves when `slot` starts on the double's clock. */
export function untilSlot(double: BeaconDouble, slot: number): Promise<void> {
  return sleep(double.slotStartMs(slot) - Date.now());
}

/** Retries `check` (an expectation) every 50 ms until it passes or `timeoutMs` is over. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}
