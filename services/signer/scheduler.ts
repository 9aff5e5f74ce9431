/**
 * The scheduler: this cluster's duties, epoch by epoch, from the beacon node, each started at
 * its time in the slot (as a validator client times them):
 *
 *     slot start   randao, proposer (which waits for the reveal), prepare_aggregator,
 *                  prepare_sync_contribution; builder_registration at an epoch's first slot
 *     1/3 slot     attester, sync_message
 *     2/3 slot     aggregator, sync_contribution, when the selection proof selects the validator
 *
 * Duties of an epoch are fetched once (at the previous epoch's start) and kept for lookups: a
 * follower checks that a proposal is for a duty its own beacon node knows of.
 */
import { ForkName } from "@lodestar/params";
import { toHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import type { BeaconClient } from "../core/eth/beacon/index.js";
import type { Chain } from "./chain.js";
import { type DutyId, DutyType, dutyKey } from "./duties.js";
import { isAggregator } from "./duty/attestation.js";
import type { Duty } from "./duty/index.js";
import { isSyncAggregator, subcommitteeOf } from "./duty/sync.js";
import type { Results } from "./results.js";

export interface SchedulerOptions {
  chain: Chain;
  beacon: BeaconClient;
  /** The lock's validator keys, in lock order. */
  pubkeys: readonly Uint8Array[];
  /** Duties this node performs as validator client. */
  types: ReadonlySet<DutyType>;
  results: Results;
  onDuty: (duty: Duty) => void;
  /** Called as each epoch starts (the node prunes old state). */
  onEpoch: (epoch: number) => void;
  log: Logger;
}

/** When in its slot a duty starts, in thirds of a slot. */
const THIRDS: Record<DutyType, number> = {
  randao: 0,
  proposer: 0,
  prepare_aggregator: 0,
  prepare_sync_contribution: 0,
  builder_registration: 0,
  exit: 0,
  attester: 1,
  sync_message: 1,
  aggregator: 2,
  sync_contribution: 2,
};

/** When a duty starts: its slot's start, plus its offset in the slot. */
export function dutyStartMs(id: DutyId, chain: Chain): number {
  return chain.slotStartMs(id.slot) + (THIRDS[id.type] * chain.slotMs) / 3;
}

export class Scheduler {
  /** Lock index -> beacon chain index, for validators the chain knows (deposited and seen). */
  private readonly indices = new Map<number, number>();
  private readonly epochs = new Map<number, Promise<Map<string, Duty>>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly planned = new Set<number>();
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {}

  /** The chain index of the lock's validator, if known. */
  validatorIndex(validator: number): number | undefined {
    return this.indices.get(validator);
  }

  /** Resolves validator indices, then plans the current and next epochs (and each next one as epochs start). */
  async start(runDuties: boolean): Promise<void> {
    await this.resolveIndices();
    if (!runDuties) return;
    const epoch = Math.max(0, this.opts.chain.epochOf(this.opts.chain.currentSlot()));
    this.plan(epoch);
    this.plan(epoch + 1);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** The duty `id` as the beacon node has it (fetching its epoch's duties if need be). */
  async lookup(id: DutyId): Promise<Duty | undefined> {
    const duties = await this.duties(this.opts.chain.epochOf(id.slot));
    return duties.get(dutyKey(id));
  }

  private async resolveIndices(): Promise<void> {
    const missing = this.opts.pubkeys.map((pubkey, validator) => ({ pubkey, validator })).filter((v) => !this.indices.has(v.validator));
    if (missing.length === 0) return;
    const found = await this.opts.beacon.stateValidators(missing.map((v) => v.pubkey));
    const byKey = new Map(found.map((v) => [toHex(v.validator.pubkey), v.index]));
    for (const { pubkey, validator } of missing) {
      const index = byKey.get(toHex(pubkey));
      if (index !== undefined) this.indices.set(validator, index);
    }
  }

  private at(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn();
    }, Math.max(0, ms - this.opts.chain.now()));
    this.timers.add(timer);
  }

  /** Starts each duty of `epoch` at its time; when the epoch starts, plans the next one. */
  private plan(epoch: number): void {
    const { chain, log } = this.opts;
    if (this.planned.has(epoch)) return;
    this.planned.add(epoch);
    this.at(chain.slotStartMs(chain.firstSlot(epoch)), () => {
      this.plan(epoch + 1);
      for (const old of this.epochs.keys()) if (old < epoch - 2) this.epochs.delete(old);
      for (const old of this.planned) if (old < epoch - 2) this.planned.delete(old);
      this.opts.onEpoch(epoch);
    });
    const fetch = () =>
      this.duties(epoch).then(
        (duties) => {
          for (const duty of duties.values()) {
            const startMs = dutyStartMs(duty.id, chain);
            if (startMs + chain.slotMs < chain.now()) continue; // long past: a late start skips it
            this.at(startMs, () => void this.begin(duty));
          }
        },
        (err: unknown) => {
          // Tried again until the epoch is over: its later duties may still be done.
          const retry = chain.now() + chain.slotMs / 2;
          log.error({ epoch, err: (err as Error).message, retry: retry < chain.slotStartMs(chain.firstSlot(epoch + 1)) }, "cannot fetch duties");
          if (retry < chain.slotStartMs(chain.firstSlot(epoch + 1))) this.at(retry, () => void fetch());
        },
      );
    void fetch();
  }

  /** Aggregation duties start only when the cluster's selection proof selects the validator. */
  private async begin(duty: Duty): Promise<void> {
    const { results, onDuty, chain } = this.opts;
    const selection = duty.id.type === DutyType.Aggregator ? DutyType.PrepareAggregator : duty.id.type === DutyType.SyncContribution ? DutyType.PrepareSyncContribution : undefined;
    if (selection !== undefined) {
      const proof = await results.wait({ ...duty.id, type: selection }, chain.slotMs).catch(() => undefined);
      if (proof === undefined) return; // the prepare duty failed, and is counted so
      const selected = duty.id.type === DutyType.Aggregator ? isAggregator(duty.attester!.committeeLength, proof.signature) : isSyncAggregator(proof.signature);
      if (!selected) return;
    }
    onDuty(duty);
  }

  /** Every duty of the cluster's validators in `epoch`, by duty key; fetched once. */
  private duties(epoch: number): Promise<Map<string, Duty>> {
    let duties = this.epochs.get(epoch);
    if (duties === undefined) {
      duties = this.fetch(epoch);
      duties.catch(() => this.epochs.delete(epoch));
      this.epochs.set(epoch, duties);
    }
    return duties;
  }

  private async fetch(epoch: number): Promise<Map<string, Duty>> {
    const { chain, beacon, pubkeys, types } = this.opts;
    await this.resolveIndices();
    const byIndex = new Map([...this.indices].map(([validator, index]) => [index, validator]));
    const indices = [...byIndex.keys()];
    const duties = new Map<string, Duty>();
    const add = (type: DutyType, slot: number, index: number, extra: Partial<Duty> = {}) => {
      const validator = byIndex.get(index)!;
      const duty: Duty = { id: { type, slot, validator }, pubkey: pubkeys[validator]!, validatorIndex: index, ...extra };
      if (types.has(type)) duties.set(dutyKey(duty.id), duty);
    };
    if (indices.length === 0) return duties;
    const firstSlot = chain.firstSlot(epoch);
    const [attesters, proposers, syncs] = await Promise.all([
      beacon.attesterDuties(epoch, indices),
      beacon.proposerDuties(epoch),
      chain.forkAtSlot(firstSlot) === ForkName.phase0 ? Promise.resolve([]) : beacon.syncDuties(epoch, indices),
    ]);
    for (const a of attesters.duties) {
      if (!byIndex.has(a.validatorIndex)) continue;
      for (const type of [DutyType.Attester, DutyType.PrepareAggregator, DutyType.Aggregator]) add(type, a.slot, a.validatorIndex, { attester: a });
    }
    for (const p of proposers.duties) {
      if (!byIndex.has(p.validatorIndex)) continue;
      add(DutyType.Randao, p.slot, p.validatorIndex);
      add(DutyType.Proposer, p.slot, p.validatorIndex);
    }
    for (const s of syncs) {
      if (!byIndex.has(s.validatorIndex) || s.validatorSyncCommitteeIndices.length === 0) continue;
      // One contribution per validator and slot: its first subcommittee (a validator in two is rare).
      const subcommittee = subcommitteeOf(s.validatorSyncCommitteeIndices[0]!);
      for (let slot = firstSlot; slot < firstSlot + chain.slotsPerEpoch; slot++) {
        add(DutyType.SyncMessage, slot, s.validatorIndex);
        add(DutyType.PrepareSyncContribution, slot, s.validatorIndex, { subcommittee });
        add(DutyType.SyncContribution, slot, s.validatorIndex, { subcommittee });
      }
    }
    if (chain.forkAtSlot(firstSlot) !== ForkName.phase0 && chain.forkAtSlot(firstSlot) !== ForkName.altair) {
      for (const index of indices) add(DutyType.BuilderRegistration, firstSlot, index);
    }
    return duties;
  }
}
