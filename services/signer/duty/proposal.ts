/**
 * Block proposals: first the RANDAO reveal (deterministic: every node signs the epoch), then the
 * block the leader's beacon node builds with the recovered reveal (decided). Blocks travel
 * whole (from Deneb on with their blobs and KZG proofs) so any node can publish them.
 */
import { verify } from "@chainsafe/blst";
import { type ForkName, isForkPostDeneb } from "@lodestar/params";
import { ssz, sszTypesFor, type BeaconBlock, type BlockContents } from "@lodestar/types";
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

function contents(value: BlockContents): { kzgProofs: Uint8Array[]; blobs: Uint8Array[] } {
  return value as BlockContents<ForkName.deneb>;
}

/** The block and, from Deneb on, the blobs and proofs that go with it. */
type Proposal = { block: BeaconBlock; contents: BlockContents | undefined };

/** The wire type of a proposal at `fork`. */
function proposalType(fork: ForkName): { deserialize(bytes: Uint8Array): unknown } {
  return isForkPostDeneb(fork) ? sszTypesFor(fork).BlockContents : sszTypesFor(fork).BeaconBlock;
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
    const produced = await beacon.produceBlock(slot, reveal.signature, new Uint8Array(32), { legacy: !isForkPostDeneb(fork) });
    if (produced.blinded) throw new FetchError("fetcher_bn", `the beacon node produced a blinded block for slot ${slot}; builder blocks are not supported`);
    if (produced.fork !== fork) throw new FetchError("fetcher_bn", `the beacon node produced a ${produced.fork} block for slot ${slot}, a ${fork} slot`);
    return isForkPostDeneb(fork) ? sszTypesFor(fork).BlockContents.serialize(produced.contents as never) : sszTypesFor(fork).BeaconBlock.serialize(produced.block as never);
  },
  decode(duty, bytes, { chain }) {
    const slot = duty.id.slot;
    const what = `proposer duty at slot ${slot}`;
    const fork = chain.forkAtSlot(slot);
    const decoded = deserialize(proposalType(fork), bytes, what) as BeaconBlock | BlockContents;
    const proposal: Proposal = isForkPostDeneb(fork)
      ? { block: (decoded as BlockContents).block, contents: decoded as BlockContents }
      : { block: decoded as BeaconBlock, contents: undefined };
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
    const root = sszTypesFor(fork).BeaconBlock.hashTreeRoot(block as never);
    return { value: proposal, bytes, signingRoot: blockSigningRoot(root, slot, chain), slashing: { kind: "block", slot } };
  },
  async submit(duty, { value }, signature, { chain, beacon }) {
    const fork = chain.forkAtSlot(duty.id.slot);
    const signedBlock = { message: value.block, signature };
    if (value.contents !== undefined) {
      await beacon.publishBlock(fork, { signedBlock, ...contents(value.contents) } as never);
    } else {
      await beacon.publishBlock(fork, signedBlock as never);
    }
  },
};
