/**
 * Duties signed over data every node derives alike: builder registrations (fee recipient and gas
 * limit from the cluster's configuration, the timestamp of the epoch's start, so every node signs
 * the same bytes) and voluntary exits (an exit at the duty's epoch).
 */
import { ssz, type bellatrix, type phase0 } from "@lodestar/types";
import { computeBuilderDomain, computeVoluntaryExitDomain } from "../../core/eth/index.js";
import { fromHex, toHex } from "../../core/hex.js";
import type { Chain } from "../chain.js";
import { DutyType } from "../duties.js";
import { type DutyKind, check, deserialize, signingRoot } from "./kind.js";

export function registrationSigningRoot(registration: bellatrix.ValidatorRegistrationV1, chain: Chain): Uint8Array {
  return signingRoot(ssz.bellatrix.ValidatorRegistrationV1.hashTreeRoot(registration), computeBuilderDomain(chain.network.genesisForkVersion));
}

export const builderRegistration: DutyKind<bellatrix.ValidatorRegistrationV1> = {
  type: DutyType.BuilderRegistration,
  deterministic: true,
  async fetch(duty, { chain, feeRecipient, gasLimit }) {
    return ssz.bellatrix.ValidatorRegistrationV1.serialize({
      feeRecipient: fromHex(feeRecipient.toLowerCase(), "fee recipient", 20),
      gasLimit,
      timestamp: Math.floor(chain.slotStartMs(duty.id.slot) / 1000),
      pubkey: duty.pubkey,
    });
  },
  decode(duty, bytes, { chain }) {
    const what = `builder registration at slot ${duty.id.slot}`;
    const value = deserialize(ssz.bellatrix.ValidatorRegistrationV1, bytes, what);
    check(toHex(value.pubkey) === toHex(duty.pubkey), `${what}: for another validator`);
    return { value, bytes, signingRoot: registrationSigningRoot(value, chain) };
  },
  async submit(_duty, { value }, signature, { beacon }) {
    await beacon.registerValidators([{ message: value, signature }]);
  },
};

export function exitSigningRoot(exit: phase0.VoluntaryExit, chain: Chain): Uint8Array {
  return signingRoot(ssz.phase0.VoluntaryExit.hashTreeRoot(exit), computeVoluntaryExitDomain(chain.network));
}

export const voluntaryExit: DutyKind<phase0.VoluntaryExit> = {
  type: DutyType.Exit,
  deterministic: true,
  async fetch(duty, { chain }) {
    return ssz.phase0.VoluntaryExit.serialize({ epoch: chain.epochOf(duty.id.slot), validatorIndex: duty.validatorIndex });
  },
  decode(duty, bytes, { chain }) {
    const what = `voluntary exit at slot ${duty.id.slot}`;
    const value = deserialize(ssz.phase0.VoluntaryExit, bytes, what);
    check(value.validatorIndex === duty.validatorIndex, `${what}: for validator index ${value.validatorIndex}, not ${duty.validatorIndex}`);
    return { value, bytes, signingRoot: exitSigningRoot(value, chain) };
  },
  async submit(_duty, { value }, signature, { beacon }) {
    await beacon.submitVoluntaryExit({ message: value, signature });
  },
};
