/**
 * What the node knows of the chain: its network (fork schedule, genesis validators root, for
 * signing domains and data shapes) and its slot clock. Read once from the beacon node at start.
 */
import type { ForkName } from "@lodestar/params";
import { NektarError } from "../core/errors.js";
import type { BeaconClient } from "../core/eth/beacon/index.js";
import { type Network, computeDomainAtEpoch, forkAtEpoch } from "../core/eth/index.js";
import type { Clock } from "./wire.js";

export class Chain {
  constructor(
    readonly network: Network,
    readonly genesisMs: number,
    readonly slotMs: number,
    readonly slotsPerEpoch: number,
    readonly now: Clock,
  ) {}

  static async load(client: BeaconClient, now: Clock): Promise<Chain> {
    const [network, spec] = await Promise.all([client.network(), client.spec()]);
    const slotMs = spec.SLOT_DURATION_MS !== undefined ? Number(spec.SLOT_DURATION_MS) : Number(spec.SECONDS_PER_SLOT) * 1000;
    const slotsPerEpoch = Number(spec.SLOTS_PER_EPOCH);
    if (!(slotMs > 0) || !Number.isSafeInteger(slotsPerEpoch) || slotsPerEpoch <= 0 || network.genesisTime === undefined) {
      throw new NektarError(`beacon node config/spec: no usable slot duration, SLOTS_PER_EPOCH or genesis time (${JSON.stringify({ slotMs, slotsPerEpoch })})`);
    }
    return new Chain(network, network.genesisTime * 1000, slotMs, slotsPerEpoch, now);
  }

  get genesisValidatorsRoot(): Uint8Array {
    return this.network.genesisValidatorsRoot!;
  }

  /** The current slot; negative before genesis. */
  currentSlot(): number {
    return Math.floor((this.now() - this.genesisMs) / this.slotMs);
  }

  slotStartMs(slot: number): number {
    return this.genesisMs + slot * this.slotMs;
  }

  epochOf(slot: number): number {
    return Math.floor(slot / this.slotsPerEpoch);
  }

  firstSlot(epoch: number): number {
    return epoch * this.slotsPerEpoch;
  }

  forkAtSlot(slot: number): ForkName {
    return forkAtEpoch(this.network, this.epochOf(slot)).name;
  }

  domain(domainType: Uint8Array, epoch: number): Uint8Array {
    return computeDomainAtEpoch(this.network, domainType, epoch);
  }
}

