/**
 * A typed client for the Beacon API endpoints a validator client uses
 * (https://ethereum.github.io/beacon-APIs/). Values are @lodestar/types' SSZ values, converted
 * from and to the API's JSON with their types' `fromJson`/`toJson`, so what the client returns
 * can be hashed and signed as is.
 *
 * Forks: a request whose shape changed with a fork takes the fork of the slot it is for
 * (`forkAtEpoch(await client.network(), epoch).name`). Attestations and aggregates use the v1 endpoints before Electra
 * and v2 (with committee bits, SingleAttestation and an Eth-Consensus-Version header) from
 * Electra on; blocks are produced with v3 (or v2 on nodes from before Deneb, such as Lodestar
 * 1.5.1) and published with v1 before Deneb, v2 from Deneb on; blinded blocks (a builder's
 * payload, Bellatrix on) come from v3 only and are published with v2 in every fork.
 *
 * Presets: @lodestar/types sizes blocks (sync aggregates, payload lists) by the preset chosen when
 * it is first loaded, mainnet unless LODESTAR_PRESET=minimal is set. Blocks of a minimal-preset
 * devnet therefore need that variable in the process; attestations, duties and every other
 * value here have the same shape in both presets.
 */
import { ForkName, isForkPostDeneb, isForkPostElectra } from "@lodestar/params";
import {
  ssz,
  sszTypesFor,
  type altair,
  type Attestation,
  type BeaconBlock,
  type BlindedBeaconBlock,
  type BlockContents,
  type phase0,
  type SignedAggregateAndProof,
  type SignedBeaconBlock,
  type SignedBlindedBeaconBlock,
  type SignedBlockContents,
  type SingleAttestation,
  type bellatrix,
} from "@lodestar/types";
import { NektarError } from "../../errors.js";
import { fromHex, toHex } from "../../hex.js";
import { customNetwork, isKnownNetworkName, networkByName, type Network } from "../networks.js";
import { BeaconNodes } from "./nodes.js";
import { BeaconApiError, HttpTransport, type BeaconResponse, type Transport } from "./transport.js";

export interface Genesis {
  readonly genesisTime: number;
  readonly genesisValidatorsRoot: Uint8Array;
  readonly genesisForkVersion: Uint8Array;
}

export interface NodeSyncing {
  readonly headSlot: number;
  readonly syncDistance: number;
  readonly isSyncing: boolean;
  /** Absent on nodes from before the merge (Lodestar 1.5.1 has it). */
  readonly isOptimistic: boolean | undefined;
}

export type ValidatorStatus =
  | "pending_initialized"
  | "pending_queued"
  | "active_ongoing"
  | "active_exiting"
  | "active_slashed"
  | "exited_unslashed"
  | "exited_slashed"
  | "withdrawal_possible"
  | "withdrawal_done";

export interface StateValidator {
  readonly index: number;
  readonly balance: bigint;
  readonly status: ValidatorStatus;
  readonly validator: phase0.Validator;
}

export interface AttesterDuty {
  readonly pubkey: Uint8Array;
  readonly validatorIndex: number;
  readonly committeeIndex: number;
  readonly committeeLength: number;
  readonly committeesAtSlot: number;
  readonly validatorCommitteeIndex: number;
  readonly slot: number;
}

export interface ProposerDuty {
  readonly pubkey: Uint8Array;
  readonly validatorIndex: number;
  readonly slot: number;
}

export interface SyncDuty {
  readonly pubkey: Uint8Array;
  readonly validatorIndex: number;
  readonly validatorSyncCommitteeIndices: readonly number[];
}

/** Duties with the block root they depend on: when it changes (a re-org), fetch them again. */
export interface Duties<D> {
  readonly dependentRoot: Uint8Array;
  readonly duties: readonly D[];
}

export interface BeaconCommitteeSubscription {
  readonly validatorIndex: number;
  readonly committeeIndex: number;
  readonly committeesAtSlot: number;
  readonly slot: number;
  readonly isAggregator: boolean;
}

/** A block to sign, as produced by the node: full, or blinded when a builder supplies the payload. */
export type ProducedBlock =
  | { readonly fork: ForkName; readonly blinded: false; readonly block: BeaconBlock; readonly contents: BlockContents | undefined; readonly executionPayloadValue: bigint; readonly consensusBlockValue: bigint }
  | { readonly fork: ForkName; readonly blinded: true; readonly block: BlindedBeaconBlock; readonly executionPayloadValue: bigint; readonly consensusBlockValue: bigint };

export interface HeadEvent {
  readonly slot: number;
  readonly block: Uint8Array;
  readonly epochTransition: boolean;
  /** The block the attester duties of the event's epoch depend on: when it changes, they may have (a re-org). */
  readonly previousDutyDependentRoot: Uint8Array;
  /** The block the proposer duties of the event's epoch, and the attester duties of the next, depend on. */
  readonly currentDutyDependentRoot: Uint8Array;
}

export class BeaconClient {
  readonly transport: Transport;

  /** A client of one node (a URL) or of whatever transport is given (e.g. BeaconNodes). */
  constructor(node: string | Transport) {
    this.transport = typeof node === "string" ? new HttpTransport(node) : node;
  }

  // --- node and chain ---

  async genesis(): Promise<Genesis> {
    const data = record(await this.data("GET", "/eth/v1/beacon/genesis"), "genesis");
    return {
      genesisTime: int(data.genesis_time, "genesis.genesis_time"),
      genesisValidatorsRoot: fromHex(str(data.genesis_validators_root, "genesis.genesis_validators_root"), "genesis.genesis_validators_root", 32),
      genesisForkVersion: fromHex(str(data.genesis_fork_version, "genesis.genesis_fork_version"), "genesis.genesis_fork_version", 4),
    };
  }

  /** The chain's configuration and preset, as the node's strings (`SECONDS_PER_SLOT: "12"`); `network()` reads the fork schedule from it. */
  async spec(): Promise<Record<string, string>> {
    const data = record(await this.data("GET", "/eth/v1/config/spec"), "config/spec");
    return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, String(value)]));
  }

  /**
   * The network the node follows, as services/core/eth describes networks (fork schedule,
   * genesis), from its config/spec and genesis: what signing domains and fork choices need.
   */
  async network(): Promise<Network> {
    const [spec, genesis] = await Promise.all([this.spec(), this.genesis()]);
    const name = spec.CONFIG_NAME ?? "unknown";
    const genesisValidatorsRoot = toHex(genesis.genesisValidatorsRoot);
    if (isKnownNetworkName(name)) {
      const known = networkByName(name);
      if (toHex(known.genesisForkVersion) !== toHex(genesis.genesisForkVersion)) {
        throw new BeaconResponseError("config/spec", `says ${name}, whose genesis fork version is not the node's ${toHex(genesis.genesisForkVersion)}`);
      }
      return { ...known, genesisValidatorsRoot: genesis.genesisValidatorsRoot, genesisTime: genesis.genesisTime };
    }
    // Forks not scheduled have FAR_FUTURE_EPOCH (2^64 - 1) or no entry at all.
    const forks = Object.values(ForkName).flatMap((fork) => {
      const version = spec[`${fork.toUpperCase()}_FORK_VERSION`];
      const epoch = Number(spec[`${fork.toUpperCase()}_FORK_EPOCH`]);
      return fork !== ForkName.phase0 && version !== undefined && Number.isSafeInteger(epoch) ? [{ name: fork, version, epoch }] : [];
    });
    return customNetwork({ name, genesisForkVersion: toHex(genesis.genesisForkVersion), genesisValidatorsRoot, genesisTime: genesis.genesisTime, forks });
  }

  async fork(stateId: StateId = "head"): Promise<phase0.Fork> {
    return ssz.phase0.Fork.fromJson(await this.data("GET", `/eth/v1/beacon/states/${stateId}/fork`));
  }

  async nodeVersion(): Promise<string> {
    return str(record(await this.data("GET", "/eth/v1/node/version"), "node/version").version, "node/version.version");
  }

  async syncing(): Promise<NodeSyncing> {
    const data = record(await this.data("GET", "/eth/v1/node/syncing"), "node/syncing");
    return {
      headSlot: int(data.head_slot, "node/syncing.head_slot"),
      syncDistance: int(data.sync_distance, "node/syncing.sync_distance"),
      isSyncing: data.is_syncing === true,
      isOptimistic: typeof data.is_optimistic === "boolean" ? data.is_optimistic : undefined,
    };
  }

  /** 200 ready, 206 syncing; any other answer rejects with a BeaconApiError. */
  async health(): Promise<"ready" | "syncing"> {
    const { status } = await this.transport.request({ method: "GET", path: "/eth/v1/node/health" });
    return status === 206 ? "syncing" : "ready";
  }

  /**
   * Validators by index or public key. GET with one `id=` per validator: every node takes that
   * form (Lodestar 1.5.1 ignores a comma-separated list; POST came in 2023), so keep a call to a
   * few hundred ids to stay within URL limits.
   */
  async stateValidators(ids: readonly (number | Uint8Array)[], stateId: StateId = "head"): Promise<StateValidator[]> {
    const query = ids.length === 0 ? "" : `?${ids.map((id) => `id=${typeof id === "number" ? String(id) : toHex(id)}`).join("&")}`;
    const data = list(await this.data("GET", `/eth/v1/beacon/states/${stateId}/validators${query}`), "validators");
    return data.map((item, i) => {
      const entry = record(item, `validators[${i}]`);
      return {
        index: int(entry.index, `validators[${i}].index`),
        balance: BigInt(str(entry.balance, `validators[${i}].balance`)),
        status: str(entry.status, `validators[${i}].status`) as ValidatorStatus,
        validator: ssz.phase0.Validator.fromJson(entry.validator),
      };
    });
  }

  async blockRoot(blockId: BlockId = "head"): Promise<Uint8Array> {
    const data = record(await this.data("GET", `/eth/v1/beacon/blocks/${blockId}/root`), "block root");
    return fromHex(str(data.root, "block root"), "block root", 32);
  }

  /** A block with its fork. */
  async block(blockId: BlockId = "head"): Promise<{ fork: ForkName; block: SignedBeaconBlock }> {
    const response = await this.transport.request({ method: "GET", path: `/eth/v2/beacon/blocks/${blockId}` });
    const fork = forkOf(response, "GET /eth/v2/beacon/blocks");
    return { fork, block: sszTypesFor(fork).SignedBeaconBlock.fromJson(dataOf(response, "block")) };
  }

  /**
   * The attestations a block includes: how a validator sees its votes land. v1 before Electra,
   * v2 (with committee bits) from Electra on. Unlike whole blocks, attestations have the same
   * shape in every preset.
   */
  async blockAttestations<F extends ForkName>(fork: F, blockId: BlockId = "head"): Promise<Attestation<F>[]> {
    if (isForkPostElectra(fork)) {
      const data = list(await this.data("GET", `/eth/v2/beacon/blocks/${blockId}/attestations`), "block attestations");
      return data.map((a) => ssz.electra.Attestation.fromJson(a) as Attestation<F>);
    }
    const data = list(await this.data("GET", `/eth/v1/beacon/blocks/${blockId}/attestations`), "block attestations");
    return data.map((a) => ssz.phase0.Attestation.fromJson(a) as Attestation<F>);
  }

  /**
   * The head events of the node requests go to (of several nodes, the one preferred now), until
   * `signal` aborts or the node ends the stream.
   */
  headEvents(signal: AbortSignal): AsyncGenerator<HeadEvent> {
    const transport = this.transport;
    if (transport instanceof HttpTransport) return headEvents(transport.baseUrl, signal);
    if (transport instanceof BeaconNodes) return headEvents(transport.states()[0]!.baseUrl, signal);
    throw new NektarError("head events need an HttpTransport or BeaconNodes: the event stream is not a request");
  }

  // --- duties ---

  async attesterDuties(epoch: number, indices: readonly number[]): Promise<Duties<AttesterDuty>> {
    const response = await this.transport.request({ method: "POST", path: `/eth/v1/validator/duties/attester/${epoch}`, body: indices.map(String) });
    return duties(response, "attester duties", (d, what) => ({
      pubkey: fromHex(str(d.pubkey, `${what}.pubkey`), `${what}.pubkey`, 48),
      validatorIndex: int(d.validator_index, `${what}.validator_index`),
      committeeIndex: int(d.committee_index, `${what}.committee_index`),
      committeeLength: int(d.committee_length, `${what}.committee_length`),
      committeesAtSlot: int(d.committees_at_slot, `${what}.committees_at_slot`),
      validatorCommitteeIndex: int(d.validator_committee_index, `${what}.validator_committee_index`),
      slot: int(d.slot, `${what}.slot`),
    }));
  }

  async proposerDuties(epoch: number): Promise<Duties<ProposerDuty>> {
    const response = await this.transport.request({ method: "GET", path: `/eth/v1/validator/duties/proposer/${epoch}` });
    return duties(response, "proposer duties", (d, what) => ({
      pubkey: fromHex(str(d.pubkey, `${what}.pubkey`), `${what}.pubkey`, 48),
      validatorIndex: int(d.validator_index, `${what}.validator_index`),
      slot: int(d.slot, `${what}.slot`),
    }));
  }

  /** Sync committee duties (Altair on) for the sync committee period of `epoch`. */
  async syncDuties(epoch: number, indices: readonly number[]): Promise<SyncDuty[]> {
    const data = list(await this.data("POST", `/eth/v1/validator/duties/sync/${epoch}`, indices.map(String)), "sync duties");
    return data.map((item, i) => {
      const d = record(item, `sync duties[${i}]`);
      return {
        pubkey: fromHex(str(d.pubkey, `sync duties[${i}].pubkey`), `sync duties[${i}].pubkey`, 48),
        validatorIndex: int(d.validator_index, `sync duties[${i}].validator_index`),
        validatorSyncCommitteeIndices: list(d.validator_sync_committee_indices, `sync duties[${i}].validator_sync_committee_indices`).map((x, j) =>
          int(x, `sync duties[${i}].validator_sync_committee_indices[${j}]`),
        ),
      };
    });
  }

  /** Asks the node to subscribe to the attestation subnets of these duties (aggregators need it). */
  async subscribeToBeaconCommittees(subscriptions: readonly BeaconCommitteeSubscription[]): Promise<void> {
    await this.submit(
      "/eth/v1/validator/beacon_committee_subscriptions",
      subscriptions.map((s) => ({
        validator_index: String(s.validatorIndex),
        committee_index: String(s.committeeIndex),
        committees_at_slot: String(s.committeesAtSlot),
        slot: String(s.slot),
        is_aggregator: s.isAggregator,
      })),
    );
  }

  /** Asks the node to join the sync committee subnets of these validators until `untilEpoch` (exclusive). */
  async subscribeToSyncCommittees(subscriptions: readonly { validatorIndex: number; syncCommitteeIndices: readonly number[]; untilEpoch: number }[]): Promise<void> {
    await this.submit(
      "/eth/v1/validator/sync_committee_subscriptions",
      subscriptions.map((s) => ({
        validator_index: String(s.validatorIndex),
        sync_committee_indices: s.syncCommitteeIndices.map(String),
        until_epoch: String(s.untilEpoch),
      })),
    );
  }

  // --- attestations and aggregates ---

  /** Pre-Electra the committee index is part of the data; from Electra on it is 0 and the committee is in committee_bits. */
  async attestationData(slot: number, committeeIndex: number): Promise<phase0.AttestationData> {
    return ssz.phase0.AttestationData.fromJson(
      await this.data("GET", `/eth/v1/validator/attestation_data?slot=${slot}&committee_index=${committeeIndex}`),
    );
  }

  /** Phase0 to Deneb: full Attestations (one bit set) on v1; Electra on: SingleAttestations on v2. */
  async submitAttestations<F extends ForkName>(fork: F, attestations: readonly SingleAttestation<F>[]): Promise<void> {
    if (isForkPostElectra(fork)) {
      const type = ssz.electra.SingleAttestation;
      await this.submit("/eth/v2/beacon/pool/attestations", attestations.map((a) => type.toJson(a as SingleAttestation<ForkName.electra>)), fork);
    } else {
      const type = ssz.phase0.Attestation;
      await this.submit("/eth/v1/beacon/pool/attestations", attestations.map((a) => type.toJson(a as phase0.Attestation)));
    }
  }

  /** The node's aggregate of the attestations it has seen for one data (and, from Electra on, one committee). */
  async aggregateAttestation<F extends ForkName>(fork: F, slot: number, attestationDataRoot: Uint8Array, committeeIndex: number): Promise<Attestation<F>> {
    const root = toHex(attestationDataRoot);
    if (isForkPostElectra(fork)) {
      const data = await this.data("GET", `/eth/v2/validator/aggregate_attestation?attestation_data_root=${root}&slot=${slot}&committee_index=${committeeIndex}`);
      return ssz.electra.Attestation.fromJson(data) as Attestation<F>;
    }
    return ssz.phase0.Attestation.fromJson(await this.data("GET", `/eth/v1/validator/aggregate_attestation?attestation_data_root=${root}&slot=${slot}`)) as Attestation<F>;
  }

  async submitAggregateAndProofs<F extends ForkName>(fork: F, aggregates: readonly SignedAggregateAndProof<F>[]): Promise<void> {
    if (isForkPostElectra(fork)) {
      const type = ssz.electra.SignedAggregateAndProof;
      await this.submit("/eth/v2/validator/aggregate_and_proofs", aggregates.map((a) => type.toJson(a as SignedAggregateAndProof<ForkName.electra>)), fork);
    } else {
      const type = ssz.phase0.SignedAggregateAndProof;
      await this.submit("/eth/v1/validator/aggregate_and_proofs", aggregates.map((a) => type.toJson(a as phase0.SignedAggregateAndProof)));
    }
  }

  // --- blocks ---

  /**
   * Produces a block with v3 (Deneb-era nodes on), which may answer a blinded block when a
   * builder's payload pays more. `legacy: true` uses v2 for nodes older than that (Lodestar 1.5.1).
   */
  async produceBlock(slot: number, randaoReveal: Uint8Array, graffiti: Uint8Array, options: { legacy?: boolean } = {}): Promise<ProducedBlock> {
    const query = `randao_reveal=${toHex(randaoReveal)}&graffiti=${toHex(graffiti)}`;
    // Block production asks the execution client for a payload: give it more than a plain read.
    const timeoutMs = 8000;
    if (options.legacy === true) {
      const response = await this.transport.request({ method: "GET", path: `/eth/v2/validator/blocks/${slot}?${query}`, timeoutMs });
      const fork = forkOf(response, "GET /eth/v2/validator/blocks");
      const block = sszTypesFor(fork).BeaconBlock.fromJson(dataOf(response, "block"));
      return { fork, blinded: false, block, contents: undefined, executionPayloadValue: 0n, consensusBlockValue: 0n };
    }
    const response = await this.transport.request({ method: "GET", path: `/eth/v3/validator/blocks/${slot}?${query}`, timeoutMs });
    const fork = forkOf(response, "GET /eth/v3/validator/blocks");
    const body = record(response.body, "produced block");
    const blinded = response.headers.get("eth-execution-payload-blinded") === "true" || body.execution_payload_blinded === true;
    const values = {
      executionPayloadValue: BigInt(response.headers.get("eth-execution-payload-value") ?? String(body.execution_payload_value ?? "0")),
      consensusBlockValue: BigInt(response.headers.get("eth-consensus-block-value") ?? String(body.consensus_block_value ?? "0")),
    };
    if (blinded) {
      const types = sszTypesFor(fork as ForkName.bellatrix);
      return { fork, blinded: true, block: types.BlindedBeaconBlock.fromJson(body.data), ...values };
    }
    if (isForkPostDeneb(fork)) {
      const contents = sszTypesFor(fork).BlockContents.fromJson(body.data) as BlockContents;
      return { fork, blinded: false, block: contents.block, contents, ...values };
    }
    return { fork, blinded: false, block: sszTypesFor(fork).BeaconBlock.fromJson(body.data), contents: undefined, ...values };
  }

  /** Pre-Deneb: a SignedBeaconBlock on v1. Deneb on: SignedBlockContents (block, KZG proofs, blobs) on v2. */
  async publishBlock(fork: ForkName, signed: SignedBeaconBlock | SignedBlockContents): Promise<void> {
    if (isForkPostDeneb(fork)) {
      await this.submit("/eth/v2/beacon/blocks", sszTypesFor(fork).SignedBlockContents.toJson(signed as SignedBlockContents<ForkName.deneb>), fork);
    } else {
      await this.submit("/eth/v1/beacon/blocks", sszTypesFor(fork).SignedBeaconBlock.toJson(signed as SignedBeaconBlock<ForkName.phase0>));
    }
  }

  /**
   * A signed blinded block (Bellatrix on) on v2, whose Eth-Consensus-Version header names its
   * fork; the node gets the payload from the builder. Every node that produces blinded blocks
   * (v3) has v2: the v1 endpoint is deprecated.
   */
  async publishBlindedBlock(fork: ForkName, signed: SignedBlindedBeaconBlock): Promise<void> {
    const json = sszTypesFor(fork as ForkName.bellatrix).SignedBlindedBeaconBlock.toJson(signed as SignedBlindedBeaconBlock<ForkName.bellatrix>);
    await this.submit("/eth/v2/beacon/blinded_blocks", json, fork);
  }

  // --- sync committee (Altair on) ---

  async submitSyncCommitteeMessages(messages: readonly altair.SyncCommitteeMessage[]): Promise<void> {
    await this.submit("/eth/v1/beacon/pool/sync_committees", messages.map((m) => ssz.altair.SyncCommitteeMessage.toJson(m)));
  }

  async syncCommitteeContribution(slot: number, subcommitteeIndex: number, beaconBlockRoot: Uint8Array): Promise<altair.SyncCommitteeContribution> {
    return ssz.altair.SyncCommitteeContribution.fromJson(
      await this.data(
        "GET",
        `/eth/v1/validator/sync_committee_contribution?slot=${slot}&subcommittee_index=${subcommitteeIndex}&beacon_block_root=${toHex(beaconBlockRoot)}`,
      ),
    );
  }

  async submitContributionAndProofs(contributions: readonly altair.SignedContributionAndProof[]): Promise<void> {
    await this.submit("/eth/v1/validator/contribution_and_proofs", contributions.map((c) => ssz.altair.SignedContributionAndProof.toJson(c)));
  }

  // --- exits and builder registrations ---

  async submitVoluntaryExit(exit: phase0.SignedVoluntaryExit): Promise<void> {
    await this.submit("/eth/v1/beacon/pool/voluntary_exits", ssz.phase0.SignedVoluntaryExit.toJson(exit));
  }

  async registerValidators(registrations: readonly bellatrix.SignedValidatorRegistrationV1[]): Promise<void> {
    await this.submit("/eth/v1/validator/register_validator", registrations.map((r) => ssz.bellatrix.SignedValidatorRegistrationV1.toJson(r)));
  }

  // --- plumbing ---

  private async data(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    return dataOf(await this.transport.request({ method, path, body }), path.split("?")[0] ?? path);
  }

  private async submit(path: string, body: unknown, fork?: ForkName): Promise<void> {
    await this.transport.request({ method: "POST", path, body, headers: fork === undefined ? undefined : { "eth-consensus-version": fork } });
  }
}

export type StateId = "head" | "genesis" | "finalized" | "justified" | number | `0x${string}`;
export type BlockId = StateId;

/** The SSE stream of `/eth/v1/events?topics=head` from one node, until `signal` aborts. */
export async function* headEvents(baseUrl: string, signal: AbortSignal): AsyncGenerator<HeadEvent> {
  const url = `${baseUrl.replace(/\/+$/, "")}/eth/v1/events?topics=head`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "text/event-stream" }, signal });
  } catch (error) {
    if (signal.aborted) return;
    throw new BeaconApiError(baseUrl, "GET /eth/v1/events", "unreachable", undefined, String(error), { cause: error });
  }
  if (!response.ok || response.body === null) {
    throw new BeaconApiError(baseUrl, "GET /eth/v1/events", "status", response.status, await response.text());
  }
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      // Events are separated by a blank line; a partial one waits for the next chunk.
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(event.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]));
        if (fields.event !== "head" || fields.data === undefined) continue;
        const data = record(JSON.parse(fields.data) as unknown, "head event");
        const root = (field: string) => fromHex(str(data[field], `head event.${field}`), `head event.${field}`, 32);
        yield {
          slot: int(data.slot, "head event.slot"),
          block: root("block"),
          epochTransition: data.epoch_transition === true,
          previousDutyDependentRoot: root("previous_duty_dependent_root"),
          currentDutyDependentRoot: root("current_duty_dependent_root"),
        };
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

// --- JSON helpers: every field is checked, so a node's bad answer names the field ---

function dataOf(response: BeaconResponse, what: string): unknown {
  const body = response.body;
  if (typeof body !== "object" || body === null || !("data" in body)) throw new BeaconResponseError(what, "has no `data`");
  return body.data;
}

function forkOf(response: BeaconResponse, what: string): ForkName {
  const version = response.headers.get("eth-consensus-version") ?? (response.body as { version?: unknown } | undefined)?.version;
  if (typeof version !== "string" || !(Object.values(ForkName) as string[]).includes(version)) {
    throw new BeaconResponseError(what, `names no known fork (version ${JSON.stringify(version)})`);
  }
  return version as ForkName;
}

function duties<D>(response: BeaconResponse, what: string, parse: (d: Record<string, unknown>, what: string) => D): Duties<D> {
  const body = record(response.body, what);
  return {
    dependentRoot: fromHex(str(body.dependent_root, `${what}.dependent_root`), `${what}.dependent_root`, 32),
    duties: list(body.data, what).map((item, i) => parse(record(item, `${what}[${i}]`), `${what}[${i}]`)),
  };
}

/** A node answered 2xx with a body that is not what the Beacon API specifies. */
export class BeaconResponseError extends NektarError {
  constructor(what: string, problem: string) {
    super(`beacon node answer for ${what} ${problem}`);
  }
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new BeaconResponseError(what, "is not an object");
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new BeaconResponseError(what, "is not an array");
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== "string") throw new BeaconResponseError(what, `is not a string (${JSON.stringify(value)})`);
  return value;
}

/** Integers are quoted decimal strings in the Beacon API. */
function int(value: unknown, what: string): number {
  const s = typeof value === "number" ? String(value) : value;
  if (typeof s !== "string" || !/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw new BeaconResponseError(what, `is not an unsigned integer (${JSON.stringify(value)})`);
  }
  return Number(s);
}
