/**
 * The scheduler: this cluster's duties, epoch by epoch, from the beacon node, each started at
 * its time in the slot (as a validator client times them):
 *
 *     slot start   randao, proposer (which waits for the reveal), prepare_aggregator,
 *                  prepare_sync_contribution; builder_registration at an epoch's first slot
 *     1/3 slot     attester, sync_message
 *     2/3 slot     aggregator, sync_contribution, when the selection proof selects the validator
 *
 * Duties of an epoch are fetched at the previous epoch's start and kept for lookups: a follower
 * checks that a proposal is for a duty its own beacon node knows of.
 *
 * Duties hold while the block they were computed from stays on the chain: the beacon node names
 * it with them (the dependent root: the last block two epochs back for attesters, one epoch back
 * for proposers), and each head event names the dependent roots of its epoch and the next. When
 * they differ (a re-org, or a late block the duties were fetched before), the epoch is fetched
 * again and re-planned: duties no longer assigned are not started, new ones are, none is started
 * twice. Validators the beacon node did not know (not deposited or not seen yet) are looked up
 * again at each epoch start, and their duties fetched with the others once they are known.
 * Lodestar's validator client (attestationDuties.ts, blockDuties.ts) works the same way.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ForkName } from "@lodestar/params";
import { toHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import type { BeaconClient, HeadEvent } from "../core/eth/beacon/index.js";
import type { Chain } from "./chain.js";
import { type DutyId, DutyType, dutyKey } from "./duties.js";
import { isAggregator } from "./duty/attestation.js";
import type { Duty } from "./duty/index.js";
import { isSyncAggregator, subcommitteeOf } from "./duty/sync.js";
import type { SignerMetrics } from "./metrics.js";
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
  metrics: SignerMetrics;
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

/** Why an epoch's duties are fetched again (the label of nektar_signer_duties_refetched_total). */
export type RefetchReason = "reorg" | "activation";

/** One epoch's duties by duty key, with the blocks (0x hex) they were computed from; no roots when no validator is known. */
interface EpochDuties {
  readonly attesterRoot: string | undefined;
  readonly proposerRoot: string | undefined;
  readonly duties: ReadonlyMap<string, Duty>;
}

/**
 * Attestation duties come once per validator and epoch: one a re-org moved to another slot after
 * the first had started would be a double vote, which slashing protection refuses anyway.
 */
const ONCE_PER_EPOCH: ReadonlySet<DutyType> = new Set([DutyType.Attester, DutyType.PrepareAggregator, DutyType.Aggregator]);

function startKey(id: DutyId, epoch: number): string {
  return ONCE_PER_EPOCH.has(id.type) ? `${id.type}/e${epoch}/v${id.validator}` : dutyKey(id);
}

/** When a duty starts: its slot's start, plus its offset in the slot. */
export function dutyStartMs(id: DutyId, chain: Chain): number {
  return chain.slotStartMs(id.slot) + (THIRDS[id.type] * chain.slotMs) / 3;
}

export class Scheduler {
  /** Lock index -> beacon chain index, for validators the chain knows (deposited and seen). */
  private readonly indices = new Map<number, number>();
  private readonly epochs = new Map<number, Promise<EpochDuties>>();
  /** Every pending timer, for stop(); duty timers also by epoch, so a re-plan can cancel them. */
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly dutyTimers = new Map<number, Map<string, NodeJS.Timeout>>();
  /** Duties started, by epoch (see startKey). */
  private readonly started = new Map<number, Set<string>>();
  private readonly planned = new Set<number>();
  private readonly abort = new AbortController();

  constructor(private readonly opts: SchedulerOptions) {}

  /** The chain index of the lock's validator, if known. */
  validatorIndex(validator: number): number | undefined {
    return this.indices.get(validator);
  }

  /**
   * Resolves validator indices, then plans the current and next epochs (and each next one as
   * epochs start) and follows the beacon node's head events for re-orgs.
   */
  async start(runDuties: boolean): Promise<void> {
    await this.resolveIndices();
    if (!runDuties) return;
    const epoch = Math.max(0, this.opts.chain.epochOf(this.opts.chain.currentSlot()));
    this.plan(epoch);
    this.plan(epoch + 1);
    void this.followHeads();
  }

  stop(): void {
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.dutyTimers.clear();
  }

  /** The duty `id` as the beacon node has it (fetching its epoch's duties if need be). */
  async lookup(id: DutyId): Promise<Duty | undefined> {
    const { duties } = await this.duties(this.opts.chain.epochOf(id.slot));
    return duties.get(dutyKey(id));
  }

  /** Looks up the lock's validators the chain did not know; returns those found now. */
  private async resolveIndices(): Promise<number[]> {
    const missing = this.opts.pubkeys.map((pubkey, validator) => ({ pubkey, validator })).filter((v) => !this.indices.has(v.validator));
    if (missing.length === 0) return [];
    const found = await this.opts.beacon.stateValidators(missing.map((v) => v.pubkey));
    const byKey = new Map(found.map((v) => [toHex(v.validator.pubkey), v.index]));
    const added: number[] = [];
    for (const { pubkey, validator } of missing) {
      const index = byKey.get(toHex(pubkey));
      if (index === undefined || this.indices.has(validator)) continue;
      this.indices.set(validator, index);
      added.push(validator);
    }
    return added;
  }

  private at(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.abort.signal.aborted) return undefined;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.abort.signal.aborted) fn();
    }, Math.max(0, ms - this.opts.chain.now()));
    this.timers.add(timer);
    return timer;
  }

  /** Plans `epoch`'s duties; when the epoch starts, the next one's. */
  private plan(epoch: number): void {
    const { chain } = this.opts;
    if (this.planned.has(epoch)) return;
    this.planned.add(epoch);
    this.at(chain.slotStartMs(chain.firstSlot(epoch)), () => void this.epochStarted(epoch));
    this.whenFetched(epoch, this.duties(epoch));
  }

  private async epochStarted(epoch: number): Promise<void> {
    const { log } = this.opts;
    for (const map of [this.epochs, this.dutyTimers, this.started]) for (const old of map.keys()) if (old < epoch - 2) map.delete(old);
    for (const old of this.planned) if (old < epoch - 2) this.planned.delete(old);
    this.opts.onEpoch(epoch);
    const added = await this.resolveIndices().catch((err: unknown) => {
      log.warn({ epoch, err: (err as Error).message }, "cannot look up the validators the beacon node did not know");
      return [];
    });
    if (added.length > 0) {
      log.info({ epoch, validators: added }, "validators now known to the beacon node");
      // Epochs fetched without them: planned ones are fetched again, lookups' copies dropped.
      for (const [fetchedEpoch, fetched] of [...this.epochs]) {
        if (fetchedEpoch < epoch) continue;
        if (!this.planned.has(fetchedEpoch)) {
          this.epochs.delete(fetchedEpoch);
          continue;
        }
        const duties = await fetched.catch(() => undefined); // failed: being fetched again anyway
        if (duties !== undefined && this.epochs.get(fetchedEpoch) === fetched) this.refetch(fetchedEpoch, "activation", duties, {});
      }
    }
    this.plan(epoch + 1);
  }

  /**
   * Starts each of `epoch`'s duties at its time once `fetched`, unless a later fetch replaced it.
   * A failed fetch is tried again until the epoch is over: its later duties may still be done.
   */
  private whenFetched(epoch: number, fetched: Promise<EpochDuties>, previous?: EpochDuties): void {
    const { chain, log } = this.opts;
    fetched.then(
      (duties) => {
        if (this.epochs.get(epoch) === fetched) this.schedule(epoch, duties, previous);
      },
      (err: unknown) => {
        const retry = chain.now() + chain.slotMs / 2;
        const inTime = retry < chain.slotStartMs(chain.firstSlot(epoch + 1));
        log.error({ epoch, err: (err as Error).message, retry: inTime }, "cannot fetch duties");
        if (inTime) this.at(retry, () => this.whenFetched(epoch, this.duties(epoch), previous));
      },
    );
  }

  /** (Re-)plans `epoch`: the timers of duties not started yet are replaced by those of `duties`. */
  private schedule(epoch: number, duties: EpochDuties, previous: EpochDuties | undefined): void {
    const { chain, log } = this.opts;
    const timers = this.dutyTimers.get(epoch) ?? new Map<string, NodeJS.Timeout>();
    this.dutyTimers.set(epoch, timers);
    for (const timer of timers.values()) {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
    timers.clear();
    const started = this.started.get(epoch) ?? new Set<string>();
    this.started.set(epoch, started);
    for (const [key, duty] of duties.duties) {
      const once = startKey(duty.id, epoch);
      if (started.has(once)) continue;
      const startMs = dutyStartMs(duty.id, chain);
      if (startMs + chain.slotMs < chain.now()) continue; // long past: a late start skips it
      const timer = this.at(startMs, () => {
        timers.delete(key);
        started.add(once);
        void this.begin(duty);
      });
      if (timer !== undefined) timers.set(key, timer);
    }
    if (previous !== undefined) {
      const dropped = [...previous.duties.keys()].filter((key) => !duties.duties.has(key));
      const added = [...duties.duties.keys()].filter((key) => !previous.duties.has(key));
      log.info({ epoch, dropped, added }, "duties re-planned");
    }
  }

  /** Head events until stop(), subscribing again whenever the stream ends or fails. */
  private async followHeads(): Promise<void> {
    const { beacon, chain, log } = this.opts;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        for await (const head of beacon.headEvents(signal)) {
          this.checkDependentRoots(head).catch((err: unknown) => log.error({ slot: head.slot, err: (err as Error).message }, "cannot check duties against a head event"));
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, "head events interrupted: re-orgs go unnoticed until they resume");
      }
      await sleep(chain.slotMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * A head in epoch e names the block e's attester duties depend on (previous) and the one e's
   * proposer duties and e + 1's attester duties depend on (current).
   */
  private async checkDependentRoots(head: HeadEvent): Promise<void> {
    const epoch = this.opts.chain.epochOf(head.slot);
    const previous = toHex(head.previousDutyDependentRoot);
    const current = toHex(head.currentDutyDependentRoot);
    const holds = (root: string | undefined, dependent: string) => root === undefined || root === dependent;
    await Promise.all([
      this.recheck(epoch, head, (d) => holds(d.attesterRoot, previous) && holds(d.proposerRoot, current)),
      this.recheck(epoch + 1, head, (d) => holds(d.attesterRoot, current)),
    ]);
  }

  private async recheck(epoch: number, head: HeadEvent, holds: (duties: EpochDuties) => boolean): Promise<void> {
    const fetched = this.epochs.get(epoch);
    if (fetched === undefined) return; // fetched later, from the node's new head
    const duties = await fetched.catch(() => undefined);
    // Another head event may have had it fetched again meanwhile: that fetch is the one to check.
    if (duties === undefined || this.epochs.get(epoch) !== fetched || holds(duties)) return;
    if (!this.planned.has(epoch)) return void this.epochs.delete(epoch); // a lookup's copy: fetched again when next looked up
    this.refetch(epoch, "reorg", duties, { headSlot: head.slot, attesterRoot: duties.attesterRoot, proposerRoot: duties.proposerRoot });
  }

  private refetch(epoch: number, reason: RefetchReason, previous: EpochDuties, context: Record<string, unknown>): void {
    this.opts.metrics.refetches.inc({ reason });
    this.opts.log.info({ epoch, reason, ...context }, "fetching duties again");
    this.epochs.delete(epoch);
    this.whenFetched(epoch, this.duties(epoch), previous);
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

  /** Every duty of the cluster's validators in `epoch`; fetched once, until a re-org or an activation has it fetched again. */
  private duties(epoch: number): Promise<EpochDuties> {
    let duties = this.epochs.get(epoch);
    if (duties === undefined) {
      const fetched = this.fetch(epoch);
      fetched.catch(() => {
        if (this.epochs.get(epoch) === fetched) this.epochs.delete(epoch);
      });
      this.epochs.set(epoch, fetched);
      duties = fetched;
    }
    return duties;
  }

  private async fetch(epoch: number): Promise<EpochDuties> {
    const { chain, beacon, pubkeys, types } = this.opts;
    const byIndex = new Map([...this.indices].map(([validator, index]) => [index, validator]));
    const indices = [...byIndex.keys()];
    const duties = new Map<string, Duty>();
    const add = (type: DutyType, slot: number, index: number, extra: Partial<Duty> = {}) => {
      const validator = byIndex.get(index)!;
      const duty: Duty = { id: { type, slot, validator }, pubkey: pubkeys[validator]!, validatorIndex: index, ...extra };
      if (types.has(type)) duties.set(dutyKey(duty.id), duty);
    };
    if (indices.length === 0) return { attesterRoot: undefined, proposerRoot: undefined, duties };
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
    return { attesterRoot: toHex(attesters.dependentRoot), proposerRoot: toHex(proposers.dependentRoot), duties };
  }
}
