/**
 * Block proposals: first the RANDAO reveal (deterministic: every node signs the epoch), then the
 * block the leader's beacon node builds with the recovered reveal (decided). A full block travels
 * whole (from Deneb on with its blobs and KZG proofs) so any node can publish it. A blinded block
 * (from Bellatrix on, when the beacon node took a builder's bid: MEV-boost) travels as the node
 * gave it; whichever node recovers the signature publishes it to blinded_blocks, and its beacon
 * node gets the payload from the builder. The beacon node decides which it answers (no option
 * here, as Lodestar's validator client leaves it to `builder.selection`).
 *
 * On the wire a proposal is one byte naming the block's kind, then its SSZ at the slot's fork:
 *
 *     0x00  full     BeaconBlock (BlockContents from Deneb on)
 *     0x01  blinded  BlindedBeaconBlock
 *
 * Both kinds are signed by the block's root, and a blinded block's root is the full block's (its
 * execution payload header commits to the payload's root): slashing protection records the same
 * (slot, signing root) whichever kind was proposed.
 */
import { verify } from "@chainsafe/blst";
import { type ForkName, type ForkPostBellatrix, isForkPostBellatrix, isForkPostDeneb } from "@lodestar/params";
import { ssz, sszTypesFor, type BeaconBlock, type BlindedBeaconBlock, type BlockContents, type SignedBlindedBeaconBlock } from "@lodestar/types";
import { parsePublicKey, parseSignature } from "../../core/crypto/index.js";
import { DOMAIN_BEACON_PROPOSER, DOMAIN_RANDAO } from "../../core/eth/index.js";
import type { Chain } from "../chain.js";
import { DutyType } from "../duties.js";
import { FetchError } from "./errors.js";
import { type DutyKind, InvalidDataError, check, deserialize, signingRoot } from "./kind.js";

export function randaoSigningRoot(epoch: number, chain: Chain): Uint8Array {
  return signingRoot(ssz.Epoch.hashTreeRoot(epoch), chain.domain(DOMAIN_RANDAO, epoch));
}

export const randao: DutyKind<number> = {
  type: DutyType.Randao,
  deterministic: true,
  async fetch(duty, { chain }) {
    return ssz.Epoch.serialize(chain.epochOf(duty.id.slot));
  },
  decode(duty, bytes, { chain }) {
    const epoch = deserialize(ssz.Epoch, bytes, `randao duty at slot ${duty.id.slot}`);
    check(epoch === chain.epochOf(duty.id.slot), `RANDAO reveal for epoch ${epoch}, not the epoch of slot ${duty.id.slot}`);
    return { value: epoch, bytes, signingRoot: randaoSigningRoot(epoch, chain) };
  },
  async submit() {
    // Nothing goes to the beacon node: the proposer duty reads the reveal.
  },
};

/** The first byte of a proposal on the wire: the wire format, so add kinds, never renumber. */
export const FULL_BLOCK = 0x00;
export const BLINDED_BLOCK = 0x01;

/** A full block with, from Deneb on, the blobs and proofs that go with it; or a blinded block. */
export type Proposal =
  | { readonly blinded: false; readonly block: BeaconBlock; readonly contents: BlockContents | undefined }
  | { readonly blinded: true; readonly block: BlindedBeaconBlock };

function contents(value: BlockContents): { kzgProofs: Uint8Array[]; blobs: Uint8Array[] } {
  return value as BlockContents<ForkName.deneb>;
}

/** The SSZ types of blinded blocks, which exist from Bellatrix on. */
function blindedTypes(fork: ForkPostBellatrix) {
  return sszTypesFor(fork as ForkName.bellatrix);
}

/** A proposal's wire bytes at `fork`: its kind's byte, then its SSZ. */
export function encodeProposal(fork: ForkName, proposal: Proposal): Uint8Array {
  let body: Uint8Array;
  if (proposal.blinded) {
    if (!isForkPostBellatrix(fork)) throw new InvalidDataError(`a blinded block at ${fork}: blinded blocks came with Bellatrix`);
    body = blindedTypes(fork).BlindedBeaconBlock.serialize(proposal.block as never);
  } else if (isForkPostDeneb(fork)) {
    body = sszTypesFor(fork).BlockContents.serialize(proposal.contents as never);
  } else {
    body = sszTypesFor(fork).BeaconBlock.serialize(proposal.block as never);
  }
  const bytes = new Uint8Array(1 + body.length);
  bytes[0] = proposal.blinded ? BLINDED_BLOCK : FULL_BLOCK;
  bytes.set(body, 1);
  return bytes;
}

/** Decodes a proposal's wire bytes at `fork`, naming `what` in the error. */
export function decodeProposal(fork: ForkName, bytes: Uint8Array, what: string): Proposal {
  const body = bytes.subarray(1);
  switch (bytes[0]) {
    case FULL_BLOCK: {
      if (!isForkPostDeneb(fork)) return { blinded: false, block: deserialize(sszTypesFor(fork).BeaconBlock, body, what) as BeaconBlock, contents: undefined };
      const decoded = deserialize(sszTypesFor(fork).BlockContents, body, what) as BlockContents;
      return { blinded: false, block: decoded.block, contents: decoded };
    }
    case BLINDED_BLOCK:
      check(isForkPostBellatrix(fork), `${what}: a blinded block at ${fork}, a fork before blocks had execution payloads`);
      return { blinded: true, block: deserialize(blindedTypes(fork as ForkPostBellatrix).BlindedBeaconBlock, body, what) };
    case undefined:
      throw new InvalidDataError(`${what}: no data`);
    default:
      throw new InvalidDataError(`${what}: block kind ${bytes[0]}, expected ${FULL_BLOCK} (full) or ${BLINDED_BLOCK} (blinded)`);
  }
}

/** A proposal's block root: a blinded block's equals the full block's. */
function blockRoot(fork: ForkName, proposal: Proposal): Uint8Array {
  return proposal.blinded
    ? blindedTypes(fork as ForkPostBellatrix).BlindedBeaconBlock.hashTreeRoot(proposal.block as never)
    : sszTypesFor(fork).BeaconBlock.hashTreeRoot(proposal.block as never);
}

/** A block is signed by its root, which is also its header's root (what a remote signer gets). */
export function blockSigningRoot(blockRoot: Uint8Array, slot: number, chain: Chain): Uint8Array {
  return signingRoot(blockRoot, chain.domain(DOMAIN_BEACON_PROPOSER, chain.epochOf(slot)));
}

export const proposer: DutyKind<Proposal> = {
  type: DutyType.Proposer,
  deterministic: false,
  async fetch(duty, ctx) {
    const { chain, beacon } = ctx;
    const slot = duty.id.slot;
    const reveal = await ctx.result({ type: DutyType.Randao, slot, validator: duty.id.validator }).catch((err: unknown) => {
      throw new FetchError("fetcher_proposer_failed_randao", `no RANDAO reveal: ${(err as Error).message}`);
    });
    const fork = chain.forkAtSlot(slot);
    // v3 is the only production that can answer a blinded block; v2 is kept for pre-merge forks,
    // where nodes older than v3 (Lodestar 1.5.1) are still met and no builder exists.
    const produced = await beacon.produceBlock(slot, reveal.signature, new Uint8Array(32), { legacy: !isForkPostBellatrix(fork) });
    if (produced.fork !== fork) throw new FetchError("fetcher_bn", `the beacon node produced a ${produced.fork} block for slot ${slot}, a ${fork} slot`);
    return encodeProposal(fork, produced.blinded ? { blinded: true, block: produced.block } : { blinded: false, block: produced.block, contents: produced.contents });
  },
  decode(duty, bytes, { chain }) {
    const slot = duty.id.slot;
    const what = `proposer duty at slot ${slot}`;
    const fork = chain.forkAtSlot(slot);
    const proposal = decodeProposal(fork, bytes, what);
    const { block } = proposal;
    check(block.slot === slot, `${what}: block for slot ${block.slot}`);
    check(block.proposerIndex === duty.validatorIndex, `${what}: proposer index ${block.proposerIndex}, not the validator's ${duty.validatorIndex}`);
    let revealed = false;
    try {
      const root = randaoSigningRoot(chain.epochOf(slot), chain);
      revealed = verify(root, parsePublicKey(duty.pubkey, "validator key"), parseSignature(block.body.randaoReveal, `${what} randao reveal`));
    } catch (err) {
      throw new InvalidDataError(`${what}: ${(err as Error).message}`);
    }
    check(revealed, `${what}: the RANDAO reveal is not the validator's for epoch ${chain.epochOf(slot)}`);
    return { value: proposal, bytes, signingRoot: blockSigningRoot(blockRoot(fork, proposal), slot, chain), slashing: { kind: "block", slot } };
  },
  async submit(duty, { value }, signature, { chain, beacon }) {
    const fork = chain.forkAtSlot(duty.id.slot);
    if (value.blinded) {
      await beacon.publishBlindedBlock(fork, { message: value.block, signature } as SignedBlindedBeaconBlock);
      return;
    }
    const signedBlock = { message: value.block, signature };
    if (value.contents !== undefined) {
      await beacon.publishBlock(fork, { signedBlock, ...contents(value.contents) } as never);
    } else {
      await beacon.publishBlock(fork, signedBlock as never);
    }
  },
};
