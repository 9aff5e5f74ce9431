/**
 * remoteSign: one round led by the node an external validator client asked (the Web3Signer
 * front door). The node checks the object as a follower checks a proposal, signs it (slashing
 * protection first), and asks every peer for its partial; each peer checks the object against
 * its own view (its beacon node's fork schedule, its clock, its slashing protection) before it
 * answers. t valid partials are recovered and the signature verified once.
 */
import { verify, type PublicKey } from "@chainsafe/blst";
import { ssz, sszTypesFor, type AggregateAndProof, type phase0 } from "@lodestar/types";
import { findInvalidPartials, parsePartialSignature, parsePublicKey, recoverSignature, type PartialSignature } from "../core/crypto/index.js";
import { fromHex, toHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import type { ClusterHost, Peer } from "../core/p2p/host.js";
import type { ClusterLock } from "../core/cluster/lock.js";
import type { Chain } from "./chain.js";
import { type DutyId, DutyType, dutyKey, fromSszDutyId, toSszDutyId } from "./duties.js";
import { aggregator, attester, prepareAggregator } from "./duty/attestation.js";
import { type Duty, InvalidDataError, type KindContext, type Unsigned } from "./duty/index.js";
import { check, deserialize } from "./duty/kind.js";
import { blockSigningRoot, randao } from "./duty/proposal.js";
import { builderRegistration, voluntaryExit } from "./duty/registration.js";
import { prepareSyncContribution, syncContribution, syncMessage } from "./duty/sync.js";
import { type RemoteSignMessage, RemoteSignProtocol } from "./protocols.js";
import { RemoteSignError, RemoteSignFailure, type RemoteSignRequest, type RemoteSignType } from "./remote.js";
import { type PartialSigner, SigningRefused } from "./signer.js";
import type { Tracker } from "./tracker.js";

interface RemoteKind {
  readonly type: RemoteSignType;
  readonly duty: DutyType;
  /** Whether the object's slot must be near the clock (not exits, registrations or selection proofs). */
  readonly timely: boolean;
  encode(request: RemoteSignRequest, chain: Chain): { slot: number; bytes: Uint8Array };
  decode(duty: Duty, bytes: Uint8Array, ctx: KindContext): Unsigned;
}

type Of<T extends RemoteSignType> = Extract<RemoteSignRequest, { type: T }>;

/** In wire order: a kind travels as its index, so append, never reorder. */
const REMOTE_KINDS: readonly RemoteKind[] = [
  {
    type: "attestation",
    duty: DutyType.Attester,
    timely: true,
    encode: (r) => ({ slot: (r as Of<"attestation">).data.slot, bytes: ssz.phase0.AttestationData.serialize((r as Of<"attestation">).data) }),
    decode: (duty, bytes, ctx) => attester.decode(duty, bytes, ctx),
  },
  {
    type: "block",
    duty: DutyType.Proposer,
    timely: true,
    encode: (r) => ({ slot: (r as Of<"block">).header.slot, bytes: ssz.phase0.BeaconBlockHeader.serialize((r as Of<"block">).header) }),
    decode: (duty, bytes, { chain }) => {
      const header = deserialize(ssz.phase0.BeaconBlockHeader, bytes, `block header for slot ${duty.id.slot}`);
      check(header.slot === duty.id.slot, `block header for slot ${header.slot}, not ${duty.id.slot}`);
      if (duty.validatorIndex >= 0) check(header.proposerIndex === duty.validatorIndex, `block header of proposer ${header.proposerIndex}, not the validator's ${duty.validatorIndex}`);
      const root = ssz.phase0.BeaconBlockHeader.hashTreeRoot(header);
      return { value: header, bytes, signingRoot: blockSigningRoot(root, header.slot, chain), slashing: { kind: "block", slot: header.slot } };
    },
  },
  {
    type: "randao_reveal",
    duty: DutyType.Randao,
    timely: true,
    encode: (r, chain) => ({ slot: chain.firstSlot((r as Of<"randao_reveal">).epoch), bytes: ssz.Epoch.serialize((r as Of<"randao_reveal">).epoch) }),
    decode: (duty, bytes, ctx) => randao.decode(duty, bytes, ctx),
  },
  {
    type: "aggregation_slot",
    duty: DutyType.PrepareAggregator,
    // Never slashable, and a validator client signs it when it fetches duties, up to two epochs ahead.
    timely: false,
    encode: (r) => ({ slot: (r as Of<"aggregation_slot">).slot, bytes: ssz.Slot.serialize((r as Of<"aggregation_slot">).slot) }),
    decode: (duty, bytes, ctx) => prepareAggregator.decode(duty, bytes, ctx),
  },
  {
    type: "aggregate_and_proof",
    duty: DutyType.Aggregator,
    timely: true,
    encode: (r, chain) => {
      const { aggregateAndProof, fork } = r as Of<"aggregate_and_proof">;
      const slot = aggregateAndProof.aggregate.data.slot;
      if (fork !== chain.forkAtSlot(slot)) throw new InvalidDataError(`aggregate and proof in ${fork} format for a ${chain.forkAtSlot(slot)} slot ${slot}`);
      return { slot, bytes: sszTypesFor(fork).AggregateAndProof.serialize(aggregateAndProof as AggregateAndProof as never) };
    },
    decode: (duty, bytes, ctx) => aggregator.decode(duty, bytes, ctx),
  },
  {
    type: "voluntary_exit",
    duty: DutyType.Exit,
    timely: false,
    encode: (r, chain) => ({ slot: chain.firstSlot((r as Of<"voluntary_exit">).exit.epoch), bytes: ssz.phase0.VoluntaryExit.serialize((r as Of<"voluntary_exit">).exit) }),
    decode: (duty, bytes, ctx) => {
      const unsigned = voluntaryExit.decode(duty, bytes, ctx);
      check((unsigned.value as phase0.VoluntaryExit).epoch === ctx.chain.epochOf(duty.id.slot), "voluntary exit for another epoch than its duty");
      return unsigned;
    },
  },
  {
    type: "sync_committee_message",
    duty: DutyType.SyncMessage,
    timely: true,
    encode: (r) => ({ slot: (r as Of<"sync_committee_message">).slot, bytes: ssz.Root.serialize((r as Of<"sync_committee_message">).beaconBlockRoot) }),
    decode: (duty, bytes, ctx) => syncMessage.decode(duty, bytes, ctx),
  },
  {
    type: "sync_committee_selection_proof",
    duty: DutyType.PrepareSyncContribution,
    // Never slashable, and a validator client signs it when it fetches duties, up to two epochs ahead.
    timely: false,
    encode: (r) => {
      const { data } = r as Of<"sync_committee_selection_proof">;
      return { slot: data.slot, bytes: ssz.altair.SyncAggregatorSelectionData.serialize(data) };
    },
    decode: (duty, bytes, ctx) => prepareSyncContribution.decode(duty, bytes, ctx),
  },
  {
    type: "sync_committee_contribution_and_proof",
    duty: DutyType.SyncContribution,
    timely: true,
    encode: (r) => {
      const { contributionAndProof } = r as Of<"sync_committee_contribution_and_proof">;
      return { slot: contributionAndProof.contribution.slot, bytes: ssz.altair.ContributionAndProof.serialize(contributionAndProof) };
    },
    decode: (duty, bytes, ctx) => syncContribution.decode(duty, bytes, ctx),
  },
  {
    type: "validator_registration",
    duty: DutyType.BuilderRegistration,
    timely: false,
    // Registrations are not tied to a slot: filed under the slot of their timestamp.
    encode: (r, chain) => {
      const { registration } = r as Of<"validator_registration">;
      return { slot: Math.max(0, Math.floor((registration.timestamp * 1000 - chain.genesisMs) / chain.slotMs)), bytes: ssz.bellatrix.ValidatorRegistrationV1.serialize(registration) };
    },
    decode: (duty, bytes, ctx) => builderRegistration.decode(duty, bytes, ctx),
  },
];

export interface RemoteSignerDeps {
  host: ClusterHost;
  lock: ClusterLock;
  ctx: KindContext;
  signer: PartialSigner;
  tracker: Tracker;
  /** The beacon chain index of the lock's validator, if known. */
  validatorIndex(validator: number): number | undefined;
  timeoutMs: number;
  log: Logger;
}

export class RemoteSigner {
  private readonly validators: Map<string, number>;
  private readonly validatorKeys: PublicKey[];
  private readonly publicShares: Map<number, PublicKey>[];
  private readonly threshold: number;

  constructor(private readonly deps: RemoteSignerDeps) {
    const { lock } = deps;
    this.threshold = lock.definition.threshold;
    this.validators = new Map(lock.validators.map((v, i) => [v.pubkey, i]));
    this.validatorKeys = lock.validators.map((v, i) => parsePublicKey(fromHex(v.pubkey, `lock validator ${i}`, 48), `lock validator ${i}`));
    this.publicShares = lock.validators.map((v, i) => new Map(v.publicShares.map((s, j) => [j + 1, parsePublicKey(fromHex(s, `lock validator ${i} share ${j}`, 48), `share ${j + 1}`)])));
    deps.host.handle(RemoteSignProtocol, (message, from) => this.answer(message, from));
  }

  async sign(request: RemoteSignRequest): Promise<Uint8Array> {
    const { ctx, host, log } = this.deps;
    const pubkey = toHex(request.pubkey);
    const validator = this.validators.get(pubkey);
    if (validator === undefined) throw new RemoteSignError(RemoteSignFailure.UnknownValidator, `${pubkey} is not a validator of this cluster`);
    if (request.genesisValidatorsRoot !== undefined && toHex(request.genesisValidatorsRoot) !== toHex(ctx.chain.genesisValidatorsRoot)) {
      throw new RemoteSignError(RemoteSignFailure.InvalidRequest, `fork_info.genesis_validators_root ${toHex(request.genesisValidatorsRoot)} is not this node's network's`);
    }
    const kindIndex = REMOTE_KINDS.findIndex((k) => k.type === request.type);
    const kind = REMOTE_KINDS[kindIndex]!;
    let slot: number;
    let bytes: Uint8Array;
    let duty: Duty;
    let unsigned: Unsigned;
    try {
      ({ slot, bytes } = kind.encode(request, ctx.chain));
      duty = this.duty({ type: kind.duty, slot, validator });
      unsigned = this.check(kind, duty, bytes);
    } catch (err) {
      throw new RemoteSignError(RemoteSignFailure.InvalidRequest, `${request.type} for ${pubkey}: ${(err as Error).message}`, { cause: err });
    }
    const own = await this.signOwn(duty, unsigned);
    const partials: PartialSignature[] = [{ id: host.self.index + 1, signature: parsePartialSignature(host.self.index + 1, own).signature }];
    const message = { duty: toSszDutyId(duty.id), kind: kindIndex, data: bytes };
    const root = unsigned.signingRoot;

    const signature = await new Promise<Uint8Array | undefined>((resolve, reject) => {
      let outstanding = host.operators.length - 1;
      const settle = () => {
        try {
          const recovered = partials.length >= this.threshold ? this.recover(duty.id, root, partials) : undefined;
          if (recovered !== undefined) return resolve(recovered);
          if (outstanding === 0) resolve(undefined);
        } catch (err) {
          reject(err as Error);
        }
      };
      for (const peer of host.operators) {
        if (peer.index === host.self.index) continue;
        host.send(peer.peerId, RemoteSignProtocol, message, { timeoutMs: this.deps.timeoutMs }).then(
          (partial) => {
            try {
              partials.push(parsePartialSignature(peer.index + 1, partial));
            } catch (err) {
              log.warn({ duty: dutyKey(duty.id), peer: peer.name, err: (err as Error).message }, "dropped a partial that is not a G2 point");
            }
            outstanding--;
            settle();
          },
          (err: unknown) => {
            log.debug({ duty: dutyKey(duty.id), peer: peer.name, err: (err as Error).message }, "no partial from peer");
            outstanding--;
            settle();
          },
        );
      }
      settle();
    });
    if (signature === undefined) {
      throw new RemoteSignError(RemoteSignFailure.InsufficientPartials, `${request.type} for ${pubkey}: ${partials.length} valid partial signatures, ${this.threshold} needed`);
    }
    return signature;
  }

  /** A peer's request: checked as this node would check it, signed, answered with the partial. */
  private async answer(message: RemoteSignMessage, from: Peer): Promise<Uint8Array> {
    const kind = REMOTE_KINDS[message.kind];
    if (kind === undefined) throw new InvalidDataError(`remote sign request from ${from.name}: unknown kind ${message.kind}`);
    const id = fromSszDutyId(message.duty, `remote sign request from ${from.name}`);
    if (id.type !== kind.duty || id.validator >= this.validatorKeys.length) throw new InvalidDataError(`remote sign request from ${from.name}: ${kind.type} is not a ${id.type} duty of a validator of the cluster`);
    const duty = this.duty(id);
    const unsigned = this.check(kind, duty, message.data);
    try {
      return await this.signOwn(duty, unsigned);
    } catch (err) {
      this.deps.log.warn({ duty: dutyKey(id), from: from.name, err: (err as Error).message }, "refused a remote signing request");
      throw err;
    }
  }

  private duty(id: DutyId): Duty {
    return { id, pubkey: fromHex(this.deps.lock.validators[id.validator]!.pubkey, "validator pubkey", 48), validatorIndex: this.deps.validatorIndex(id.validator) ?? -1 };
  }

  /** The object's own checks, and for a timely one a slot within an epoch of now (or the next slot). */
  private check(kind: RemoteKind, duty: Duty, bytes: Uint8Array): Unsigned {
    const { chain } = this.deps.ctx;
    if (kind.timely) {
      const current = chain.currentSlot();
      check(duty.id.slot <= current + 1 && duty.id.slot + chain.slotsPerEpoch >= current, `slot ${duty.id.slot} is not within an epoch of the current slot ${current}`);
    }
    return kind.decode(duty, bytes, this.deps.ctx);
  }

  private async signOwn(duty: Duty, unsigned: Unsigned): Promise<Uint8Array> {
    try {
      const partial = await this.deps.signer.sign(duty, unsigned, false);
      this.deps.tracker.signed(duty.id);
      return partial;
    } catch (err) {
      if (err instanceof SigningRefused) throw new RemoteSignError(RemoteSignFailure.SlashingProtection, err.message, { cause: err });
      throw err;
    }
  }

  /** The signature from t valid partials (invalid ones are dropped from `partials`), or undefined. */
  private recover(id: DutyId, root: Uint8Array, partials: PartialSignature[]): Uint8Array | undefined {
    const invalid = new Set(findInvalidPartials(root, partials.slice(0, this.threshold), this.publicShares[id.validator]!));
    if (invalid.size > 0) {
      const valid = partials.filter((p) => !invalid.has(p.id));
      partials.splice(0, partials.length, ...valid);
      if (partials.length < this.threshold) return undefined;
      return this.recover(id, root, partials);
    }
    const signature = recoverSignature(partials.slice(0, this.threshold), this.threshold);
    if (!verify(root, this.validatorKeys[id.validator]!, signature)) {
      throw new RemoteSignError(RemoteSignFailure.InvalidSignature, `${dutyKey(id)}: the recovered signature does not verify against the validator key`);
    }
    return signature.toBytes();
  }
}
