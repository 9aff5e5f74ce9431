/**
 * The proposer duty against the beacon double: full and blinded blocks fetched, encoded with
 * their kind, decoded and checked as a follower checks them, signed and submitted where each
 * belongs; blinded proposals a follower must refuse.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { verify } from "@chainsafe/blst";
import { ForkName } from "@lodestar/params";
import { ssz, sszTypesFor } from "@lodestar/types";
import { BeaconDouble } from "../../../test/doubles/beacon/double.js";
import { interopSecretKey } from "../../../test/system/lodestar/interop.js";
import { parseSignature } from "../../core/crypto/index.js";
import { BeaconClient } from "../../core/eth/beacon/index.js";
import { toHex } from "../../core/hex.js";
import { Chain } from "../chain.js";
import { DutyType } from "../duties.js";
import { InvalidDataError, type Duty, type KindContext } from "./kind.js";
import { BLINDED_BLOCK, FULL_BLOCK, blockSigningRoot, decodeProposal, encodeProposal, proposer, randaoSigningRoot, type Proposal } from "./proposal.js";

const SLOT = 9; // validator 1 proposes (slot % 8), epoch 1
const VALIDATOR = 1;

describe.each([ForkName.capella, ForkName.electra])("proposer duty, %s", (fork) => {
  let double: BeaconDouble;
  let ctx: KindContext;
  const key = interopSecretKey(VALIDATOR);
  const duty: Duty = { id: { type: DutyType.Proposer, slot: SLOT, validator: 0 }, pubkey: key.toPublicKey().toBytes(), validatorIndex: VALIDATOR };
  // Typed as Capella's, the types are the fork's at run time.
  const types = sszTypesFor(fork as ForkName.capella);

  beforeAll(async () => {
    double = await BeaconDouble.start({ validators: 8, fork });
    const beacon = new BeaconClient(double.url);
    const chain = await Chain.load(beacon, Date.now);
    const reveal = key.sign(randaoSigningRoot(chain.epochOf(SLOT), chain)).toBytes();
    const result = () => Promise.resolve({ unsigned: { value: 1, bytes: new Uint8Array(8), signingRoot: new Uint8Array(32) }, signature: reveal });
    ctx = { chain, beacon, result, feeRecipient: "0x000000000000000000000000000000000000dead", gasLimit: 30_000_000 };
  });
  afterAll(() => double.stop());

  async function fetchDecoded(builder: boolean) {
    double.builder = builder;
    try {
      const bytes = await proposer.fetch(duty, ctx);
      return proposer.decode(duty, bytes, ctx);
    } finally {
      double.builder = false;
    }
  }

  /** A blinded proposal from the double with `change` made to its block, encoded for the wire. */
  async function blindedWith(change: (block: Record<string, unknown> & { body: Record<string, unknown> }) => void): Promise<Uint8Array> {
    const { value } = await fetchDecoded(true);
    if (!value.blinded) throw new Error("not blinded");
    const block = types.BlindedBeaconBlock.clone(value.block as never);
    change(block as never);
    return encodeProposal(fork, { blinded: true, block } as Proposal);
  }

  it("takes a blinded block: its kind on the wire, the full block's signing root, recorded as the slot's block", async () => {
    const full = await fetchDecoded(false);
    const blinded = await fetchDecoded(true);
    expect([full.bytes[0], blinded.bytes[0]]).toEqual([FULL_BLOCK, BLINDED_BLOCK]);
    expect(full.value.blinded).toBe(false);
    expect(blinded.value.blinded).toBe(true);
    expect("executionPayloadHeader" in blinded.value.block.body).toBe(true);
    expect(toHex(blinded.signingRoot)).toBe(toHex(full.signingRoot));
    expect(blinded.slashing).toEqual({ kind: "block", slot: SLOT });
  });

  it("submits the signed blinded block to blinded_blocks (v2, the fork header), no full block", async () => {
    const unsigned = await fetchDecoded(true);
    const signature = key.sign(unsigned.signingRoot).toBytes();
    const before = double.submissions.length;
    await proposer.submit(duty, unsigned, signature, ctx);
    const submitted = double.submissions.slice(before);
    expect(submitted.map((s) => [s.endpoint, s.consensusVersion])).toEqual([["POST /eth/v2/beacon/blinded_blocks", fork]]);
    const signed = types.SignedBlindedBeaconBlock.fromJson(submitted[0]!.body);
    expect(signed.message.slot).toBe(SLOT);
    // Signed over what the node received: the block's root in the proposer domain.
    const received = blockSigningRoot(types.BlindedBeaconBlock.hashTreeRoot(signed.message), SLOT, ctx.chain);
    expect(toHex(received)).toBe(toHex(unsigned.signingRoot));
    expect(verify(received, key.toPublicKey(), parseSignature(signed.signature, "signature"))).toBe(true);
  });

  it("refuses a blinded block of another proposer", async () => {
    const bytes = await blindedWith((block) => (block.proposerIndex = VALIDATOR + 1));
    expect(() => proposer.decode(duty, bytes, ctx)).toThrow(new InvalidDataError(`proposer duty at slot ${SLOT}: proposer index ${VALIDATOR + 1}, not the validator's ${VALIDATOR}`));
  });

  it("refuses a blinded block whose RANDAO reveal is not the validator's for the epoch", async () => {
    const otherEpoch = key.sign(randaoSigningRoot(0, ctx.chain)).toBytes();
    const otherKey = interopSecretKey(VALIDATOR + 1).sign(randaoSigningRoot(1, ctx.chain)).toBytes();
    for (const reveal of [otherEpoch, otherKey]) {
      const bytes = await blindedWith((block) => (block.body.randaoReveal = reveal));
      expect(() => proposer.decode(duty, bytes, ctx)).toThrow(/the RANDAO reveal is not the validator's for epoch 1/);
    }
  });

  it("refuses a blinded block for another slot, an unknown kind, and bytes that are not the kind they say", async () => {
    const blinded = (await fetchDecoded(true)).bytes;
    expect(() => proposer.decode({ ...duty, id: { ...duty.id, slot: SLOT + 8 } }, blinded, ctx)).toThrow(/block for slot 9/);
    const relabelled = Uint8Array.of(FULL_BLOCK, ...blinded.subarray(1));
    expect(() => proposer.decode(duty, relabelled, ctx)).toThrow(/not valid SSZ/);
    expect(() => proposer.decode(duty, Uint8Array.of(2, ...blinded.subarray(1)), ctx)).toThrow(/block kind 2, expected 0 \(full\) or 1 \(blinded\)/);
    expect(() => proposer.decode(duty, new Uint8Array(0), ctx)).toThrow(/no data/);
  });
});

describe("proposal encoding", () => {
  it("has no blinded blocks before Bellatrix", () => {
    const block = ssz.bellatrix.BlindedBeaconBlock.defaultValue();
    const bytes = Uint8Array.of(BLINDED_BLOCK, ...ssz.bellatrix.BlindedBeaconBlock.serialize(block));
    expect(() => decodeProposal(ForkName.altair, bytes, "proposal")).toThrow(/a blinded block at altair/);
    expect(decodeProposal(ForkName.bellatrix, bytes, "proposal")).toMatchObject({ blinded: true, block: { slot: 0 } });
  });
});
