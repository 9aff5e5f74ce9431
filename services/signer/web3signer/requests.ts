/**
 * The body of Web3Signer's `POST /api/v1/eth2/sign/{identifier}` (the eth2 remote signing API,
 * as validator clients send it: Lodestar's externalSignerClient, Teku, Lighthouse, Prysm,
 * Nimbus), parsed into typed SSZ values, and the signing root each one is signed over.
 *
 * The envelope (type, fork_info, signingRoot) is checked by a TypeBox schema; the payload by its
 * SSZ type, with the path of the field at fault. `signingRoot` is the client's own computation:
 * optional, and when present it must equal ours (a client and a signer that disagree on a
 * domain must not produce a signature nobody can verify, or one for another purpose).
 */
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ContainerType } from "@chainsafe/ssz";
import { ForkName, isForkPostElectra } from "@lodestar/params";
import { type AggregateAndProof, type phase0, ssz, sszTypesFor } from "@lodestar/types";
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_RANDAO,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  DOMAIN_VOLUNTARY_EXIT,
  computeBuilderDomain,
  computeDepositDomain,
  computeDomain,
  computeSigningRoot,
} from "../../core/eth/domains.js";
import { toHex } from "../../core/hex.js";
import type { RemoteSignRequest } from "../remote.js";
import { BadSignRequestError, fromJsonAt } from "./ssz.js";

export { BadSignRequestError } from "./ssz.js";

export const SIGN_TYPES = [
  "ATTESTATION",
  "AGGREGATION_SLOT",
  "AGGREGATE_AND_PROOF",
  "AGGREGATE_AND_PROOF_V2",
  "BLOCK_V2",
  "RANDAO_REVEAL",
  "VOLUNTARY_EXIT",
  "SYNC_COMMITTEE_MESSAGE",
  "SYNC_COMMITTEE_SELECTION_PROOF",
  "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
  "VALIDATOR_REGISTRATION",
  "DEPOSIT",
] as const;
export type SignType = (typeof SIGN_TYPES)[number];

const Hex = (bytes: number) => Type.String({ pattern: `^0x[0-9a-fA-F]{${bytes * 2}}$` });
const Uint64 = Type.Union([Type.String({ pattern: "^[0-9]{1,20}$" }), Type.Integer({ minimum: 0 })]);

/** What every request carries beside its payload. Unknown fields are the payload's business. */
export const SignRequestEnvelope = Type.Object({
  type: Type.Union(SIGN_TYPES.map((t) => Type.Literal(t))),
  fork_info: Type.Optional(
    Type.Object({
      fork: Type.Object({ previous_version: Hex(4), current_version: Hex(4), epoch: Uint64 }),
      genesis_validators_root: Hex(32),
    }),
  ),
  signingRoot: Type.Optional(Hex(32)),
});
export type SignRequestBody = Static<typeof SignRequestEnvelope> & Record<string, unknown>;

export interface ForkInfo {
  fork: phase0.Fork;
  genesisValidatorsRoot: Uint8Array;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * What is to be signed, typed: what the node's remoteSign takes (services/signer/remote.ts),
 * without the validator (the request's path names it), or a deposit.
 */
export type SignableMessage =
  | DistributiveOmit<RemoteSignRequest, "pubkey" | "genesisValidatorsRoot">
  | { type: "deposit"; deposit: phase0.DepositMessage; genesisForkVersion: Uint8Array };

export interface SignRequest {
  message: SignableMessage;
  /** Absent for deposits and builder registrations, which do not depend on the chain's forks. */
  forkInfo?: ForkInfo;
  /** The client's signing root, if it sent one. */
  signingRoot?: Uint8Array;
}

/** What a request depends on beyond itself: the signer's chain. */
export interface ChainParams {
  slotsPerEpoch: number;
  /** Builder registrations are signed with it (builder-specs compute_builder_domain). */
  genesisForkVersion: Uint8Array;
  /** The fork in force at an epoch: what a request that names none (AGGREGATE_AND_PROOF) is in. */
  forkAtEpoch(epoch: number): ForkName;
}

const DepositRequestType = new ContainerType(
  { pubkey: ssz.BLSPubkey, withdrawalCredentials: ssz.Bytes32, amount: ssz.UintNum64, genesisForkVersion: ssz.Bytes4 },
  { jsonCase: "eth2" },
);
const SyncCommitteeMessageRequestType = new ContainerType({ beaconBlockRoot: ssz.Root, slot: ssz.Slot }, { jsonCase: "eth2" });

export function parseSignRequest(body: unknown, chain: ChainParams): SignRequest {
  const error = Value.Errors(SignRequestEnvelope, body).First();
  if (error) throw new BadSignRequestError(error.path.slice(1).replaceAll("/", ".") || "body", error.message);
  const request = body as SignRequestBody;
  const message = parseMessage(request, chain);
  const info = request.fork_info;
  return {
    message,
    ...(info && {
      forkInfo: {
        fork: fromJsonAt(ssz.phase0.Fork, info.fork, "fork_info.fork"),
        genesisValidatorsRoot: fromJsonAt(ssz.Root, info.genesis_validators_root, "fork_info.genesis_validators_root"),
      },
    }),
    ...(request.signingRoot !== undefined && { signingRoot: fromJsonAt(ssz.Root, request.signingRoot, "signingRoot") }),
  };
}

function parseMessage(body: SignRequestBody, chain: ChainParams): SignableMessage {
  switch (body.type) {
    case "ATTESTATION":
      return { type: "attestation", data: fromJsonAt(ssz.phase0.AttestationData, body.attestation, "attestation") };
    case "AGGREGATION_SLOT":
      return { type: "aggregation_slot", slot: fromJsonAt(ssz.Slot, field(body.aggregation_slot, "slot"), "aggregation_slot.slot") };
    case "AGGREGATE_AND_PROOF": {
      // The first version names no fork: it is the aggregate of phase0 to Deneb, whichever of them the slot is in.
      const aggregateAndProof = fromJsonAt(ssz.phase0.AggregateAndProof, body.aggregate_and_proof, "aggregate_and_proof");
      const fork = chain.forkAtEpoch(Math.floor(aggregateAndProof.aggregate.data.slot / chain.slotsPerEpoch));
      if (isForkPostElectra(fork)) throw new BadSignRequestError("type", `AGGREGATE_AND_PROOF is the aggregate before Electra; for a ${fork} slot, send AGGREGATE_AND_PROOF_V2`);
      return { type: "aggregate_and_proof", fork, aggregateAndProof };
    }
    case "AGGREGATE_AND_PROOF_V2": {
      const fork = forkVersionName(field(body.aggregate_and_proof, "version"), "aggregate_and_proof.version");
      const type = isForkPostElectra(fork) ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof;
      return { type: "aggregate_and_proof", fork, aggregateAndProof: fromJsonAt<AggregateAndProof>(type, field(body.aggregate_and_proof, "data"), "aggregate_and_proof.data") };
    }
    case "BLOCK_V2":
      return { type: "block", header: parseBlockHeader(body.beacon_block) };
    case "RANDAO_REVEAL":
      return { type: "randao_reveal", epoch: fromJsonAt(ssz.Epoch, field(body.randao_reveal, "epoch"), "randao_reveal.epoch") };
    case "VOLUNTARY_EXIT":
      return { type: "voluntary_exit", exit: fromJsonAt(ssz.phase0.VoluntaryExit, body.voluntary_exit, "voluntary_exit") };
    case "SYNC_COMMITTEE_MESSAGE":
      return { type: "sync_committee_message", ...fromJsonAt(SyncCommitteeMessageRequestType, body.sync_committee_message, "sync_committee_message") };
    case "SYNC_COMMITTEE_SELECTION_PROOF":
      return {
        type: "sync_committee_selection_proof",
        data: fromJsonAt(ssz.altair.SyncAggregatorSelectionData, body.sync_aggregator_selection_data, "sync_aggregator_selection_data"),
      };
    case "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF":
      return {
        type: "sync_committee_contribution_and_proof",
        contributionAndProof: fromJsonAt(ssz.altair.ContributionAndProof, body.contribution_and_proof, "contribution_and_proof"),
      };
    case "VALIDATOR_REGISTRATION":
      return { type: "validator_registration", registration: fromJsonAt(ssz.bellatrix.ValidatorRegistrationV1, body.validator_registration, "validator_registration") };
    case "DEPOSIT": {
      const { genesisForkVersion, ...deposit } = fromJsonAt(DepositRequestType, body.deposit, "deposit");
      return { type: "deposit", deposit, genesisForkVersion };
    }
  }
}

/**
 * `beacon_block: {version, block}` (a whole block, what clients send before Bellatrix) or
 * `{version, block_header}` (what they send from Bellatrix on): either way, the header.
 */
function parseBlockHeader(json: unknown): phase0.BeaconBlockHeader {
  const fork = forkVersionName(field(json, "version"), "beacon_block.version");
  const header = field(json, "block_header");
  if (header !== undefined) return fromJsonAt(ssz.phase0.BeaconBlockHeader, header, "beacon_block.block_header");
  const block = fromJsonAt(sszTypesFor(fork).BeaconBlock, field(json, "block"), "beacon_block.block");
  const bodyRoot = sszTypesFor(fork).BeaconBlockBody.hashTreeRoot(block.body);
  return { slot: block.slot, proposerIndex: block.proposerIndex, parentRoot: block.parentRoot, stateRoot: block.stateRoot, bodyRoot };
}

/** Web3Signer's version names are the forks' in capitals: "ALTAIR" -> altair. */
function forkVersionName(version: unknown, path: string): ForkName {
  if (typeof version !== "string") throw new BadSignRequestError(path, "missing");
  const fork = version.toLowerCase() as ForkName;
  if (!Object.values(ForkName).includes(fork)) throw new BadSignRequestError(path, `unknown fork ${version}`);
  return fork;
}

function field(json: unknown, name: string): unknown {
  return typeof json === "object" && json !== null ? (json as Record<string, unknown>)[name] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Signing roots

/** The epoch whose fork a message is signed under (consensus-specs get_domain's `epoch`). */
export function messageEpoch(message: SignableMessage, slotsPerEpoch: number): number | undefined {
  const atSlot = (slot: number) => Math.floor(slot / slotsPerEpoch);
  switch (message.type) {
    case "attestation":
      return message.data.target.epoch;
    case "aggregation_slot":
    case "sync_committee_message":
      return atSlot(message.slot);
    case "aggregate_and_proof":
      return atSlot(message.aggregateAndProof.aggregate.data.slot);
    case "block":
      return atSlot(message.header.slot);
    case "randao_reveal":
      return message.epoch;
    case "voluntary_exit":
      return message.exit.epoch;
    case "sync_committee_selection_proof":
      return atSlot(message.data.slot);
    case "sync_committee_contribution_and_proof":
      return atSlot(message.contributionAndProof.contribution.slot);
    case "validator_registration":
    case "deposit":
      return undefined;
  }
}

/**
 * The root the validator signs for `request`: Web3Signer's rules, i.e. the consensus specs'
 * with the fork taken from fork_info (previous_version before fork.epoch, current_version from
 * it); deposits with their own genesis fork version, builder registrations with the chain's.
 */
export function signingRootOf(request: SignRequest, chain: ChainParams): Uint8Array {
  const { message } = request;
  if (message.type === "deposit") return computeSigningRoot(ssz.phase0.DepositMessage, message.deposit, computeDepositDomain(message.genesisForkVersion));
  if (message.type === "validator_registration") {
    return computeSigningRoot(ssz.bellatrix.ValidatorRegistrationV1, message.registration, computeBuilderDomain(chain.genesisForkVersion));
  }
  const { forkInfo } = request;
  if (forkInfo === undefined) throw new BadSignRequestError("fork_info", `missing (a ${message.type} is signed under the chain's fork)`);
  const epoch = messageEpoch(message, chain.slotsPerEpoch)!;
  const version = epoch < forkInfo.fork.epoch ? forkInfo.fork.previousVersion : forkInfo.fork.currentVersion;
  const domain = (type: Uint8Array) => computeDomain(type, version, forkInfo.genesisValidatorsRoot);
  switch (message.type) {
    case "attestation":
      return computeSigningRoot(ssz.phase0.AttestationData, message.data, domain(DOMAIN_BEACON_ATTESTER));
    case "aggregation_slot":
      return computeSigningRoot(ssz.Slot, message.slot, domain(DOMAIN_SELECTION_PROOF));
    case "aggregate_and_proof": {
      const type = isForkPostElectra(message.fork) ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof;
      return computeSigningRoot<AggregateAndProof>(type, message.aggregateAndProof, domain(DOMAIN_AGGREGATE_AND_PROOF));
    }
    case "block":
      return computeSigningRoot(ssz.phase0.BeaconBlockHeader, message.header, domain(DOMAIN_BEACON_PROPOSER));
    case "randao_reveal":
      return computeSigningRoot(ssz.Epoch, message.epoch, domain(DOMAIN_RANDAO));
    case "voluntary_exit":
      return computeSigningRoot(ssz.phase0.VoluntaryExit, message.exit, domain(DOMAIN_VOLUNTARY_EXIT));
    case "sync_committee_message":
      return computeSigningRoot(ssz.Root, message.beaconBlockRoot, domain(DOMAIN_SYNC_COMMITTEE));
    case "sync_committee_selection_proof":
      return computeSigningRoot(ssz.altair.SyncAggregatorSelectionData, message.data, domain(DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF));
    case "sync_committee_contribution_and_proof":
      return computeSigningRoot(ssz.altair.ContributionAndProof, message.contributionAndProof, domain(DOMAIN_CONTRIBUTION_AND_PROOF));
  }
}

/** Our signing root for `request`, refusing a request whose own signingRoot differs. */
export function checkedSigningRoot(request: SignRequest, chain: ChainParams): Uint8Array {
  const root = signingRootOf(request, chain);
  if (request.signingRoot !== undefined && toHex(request.signingRoot) !== toHex(root)) {
    throw new BadSignRequestError("signingRoot", `${toHex(request.signingRoot)} is not the signing root of the request's data (${toHex(root)}): check the fork_info and the data`);
  }
  return root;
}
