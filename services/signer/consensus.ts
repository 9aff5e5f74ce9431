/**
 * Consensus: a rotating leader and one round trip (docs/signer.md).
 *
 * For duty D in round r the leader is operator (slot + type + validator + r) mod n. It proposes
 * its data with its own partial signature; each follower checks the data, signs it (slashing
 * protection first, and never two roots for one duty) and broadcasts its partial. Nothing else
 * is exchanged: t partials of one root are the decision. A round with no decision in time hands
 * over to the next leader (a leader that is merely slow may still propose late), who proposes what it already signed for the duty if it signed
 * anything (so an honest node never splits its own vote), else fresh data.
 *
 * Safety does not rest on this component: an honest node signs at most one root per duty, so with
 * at most n - t faulty nodes and 2t > n + (n - t), two roots cannot both gather t partials.
 */
import { toHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import type { ClusterHost, Peer } from "../core/p2p/host.js";
import { DUTY_TYPES, type DutyId, dutyKey, fromSszDutyId, toSszDutyId } from "./duties.js";
import { type Duty, FetchError, InvalidDataError, type KindContext, KINDS, type Unsigned } from "./duty/index.js";
import type { Fetcher } from "./fetcher.js";
import type { SignerMetrics } from "./metrics.js";
import type { ParSigEx } from "./parsigex.js";
import { type ProposalMessage, ProposalProtocol } from "./protocols.js";
import type { Results } from "./results.js";
import type { SigAgg } from "./sigagg.js";
import { type PartialSigner, SigningRefused } from "./signer.js";
import { dutyStartMs } from "./scheduler.js";
import type { Tracker } from "./tracker.js";
import type { Timing } from "./wire.js";

/** The leader of round `round` of duty `id` among `n` operators. */
export function leaderOf(id: DutyId, round: number, n: number): number {
  return (id.slot + DUTY_TYPES.indexOf(id.type) + id.validator + round) % n;
}

export interface ConsensusDeps {
  host: ClusterHost;
  ctx: KindContext;
  fetcher: Fetcher;
  signer: PartialSigner;
  parsigex: ParSigEx;
  sigagg: SigAgg;
  results: Results;
  tracker: Tracker;
  /** The duty `id` as this node's scheduler knows it; undefined if the validator has no such duty. */
  lookup(id: DutyId): Promise<Duty | undefined>;
  timing: Timing;
  metrics: SignerMetrics;
  log: Logger;
}

interface Instance {
  readonly duty: Duty;
  /** The current round; -1 before the first. */
  round: number;
  timer: NodeJS.Timeout | undefined;
  /** What this node signed for the duty: proposed again if it leads a later round. */
  signed: Unsigned | undefined;
  /** Its partial of `signed`: sent again each round until the duty is decided (a peer may have missed it). */
  partial: Uint8Array | undefined;
  finished: boolean;
}

export class Consensus {
  private readonly instances = new Map<string, Instance>();
  private readonly n: number;
  private readonly self: number;
  private stopped = false;

  constructor(private readonly deps: ConsensusDeps) {
    this.n = deps.host.operators.length;
    this.self = deps.host.self.index;
    deps.host.handle(ProposalProtocol, (message, from) => this.onProposal(message, from));
  }

  /** Starts a duty: round 0 for a decided one, signing at once for a deterministic one. */
  start(duty: Duty): void {
    this.instance(duty);
  }

  /** The duty's signature was recovered: no more rounds. */
  decided(id: DutyId): number | undefined {
    const instance = this.instances.get(dutyKey(id));
    if (instance === undefined) return undefined;
    this.finish(instance);
    return instance.round;
  }

  stop(): void {
    this.stopped = true;
    for (const instance of this.instances.values()) this.finish(instance);
  }

  prune(slot: number): void {
    for (const [key, instance] of this.instances) {
      if (instance.duty.id.slot >= slot) continue;
      this.finish(instance);
      this.instances.delete(key);
    }
  }

  private instance(duty: Duty): Instance {
    const key = dutyKey(duty.id);
    let instance = this.instances.get(key);
    if (instance !== undefined) return instance;
    instance = { duty, round: -1, timer: undefined, signed: undefined, partial: undefined, finished: false };
    this.instances.set(key, instance);
    const { ctx, timing, tracker } = this.deps;
    const created = instance;
    tracker.start(duty.id, ctx.chain.slotStartMs(duty.id.slot) + timing.dutyDeadlineMs, ctx.chain.now(), () => this.finish(created));
    if (KINDS.get(duty.id.type)!.deterministic) void this.signOwn(instance);
    this.enterRound(instance);
    return instance;
  }

  private finish(instance: Instance): void {
    instance.finished = true;
    clearTimeout(instance.timer);
  }

  /**
   * Rounds follow the clock from the duty's start (round r lasts 1 + r/4 round timeouts), not
   * the moment this node heard of the duty: nodes that start a duty late still agree on the round.
   */
  private roundAt(id: DutyId, now: number): { round: number; endsMs: number } {
    const { roundTimeoutMs } = this.deps.timing;
    let round = 0;
    let endsMs = dutyStartMs(id, this.deps.ctx.chain) + roundTimeoutMs;
    while (endsMs <= now) endsMs += roundTimeoutMs * (1 + ++round / 4);
    return { round, endsMs };
  }

  private enterRound(instance: Instance): void {
    if (instance.finished || this.stopped) return;
    clearTimeout(instance.timer);
    const now = this.deps.ctx.chain.now();
    const { round, endsMs } = this.roundAt(instance.duty.id, now);
    const first = instance.round < 0;
    instance.round = round;
    instance.timer = setTimeout(() => this.enterRound(instance), endsMs - now);
    instance.timer.unref();
    const { duty, signed, partial } = instance;
    if (KINDS.get(duty.id.type)!.deterministic) {
      // No leader: each round is a resend of this node's partial.
      if (!first && signed !== undefined && partial !== undefined) void this.deps.parsigex.broadcast(duty.id, signed.signingRoot, partial);
    } else if (leaderOf(duty.id, round, this.n) === this.self) {
      void this.lead(instance, round);
    } else if (!first && signed !== undefined && partial !== undefined) {
      void this.deps.parsigex.broadcast(duty.id, signed.signingRoot, partial);
    }
  }

  private async lead(instance: Instance, round: number): Promise<void> {
    const { duty } = instance;
    const { host, sigagg, results, log } = this.deps;
    try {
      const unsigned = instance.signed ?? this.decode(duty, await this.deps.fetcher.fetch(duty));
      // Proposed even if fetching took past the round: followers take a late round's proposal,
      // and a slow beacon node then costs rounds, not the duty.
      if (instance.finished) return;
      const partial = await this.sign(instance, unsigned);
      results.addData(duty.id, unsigned);
      sigagg.add(duty.id, unsigned.signingRoot, this.self + 1, partial, "self");
      log.debug({ duty: dutyKey(duty.id), round, root: toHex(unsigned.signingRoot) }, "proposing");
      await host.broadcast(ProposalProtocol, { duty: toSszDutyId(duty.id), round, data: unsigned.bytes, partial });
    } catch (err) {
      this.failed(duty.id, err, "leading");
    }
  }

  /** A deterministic duty: no proposal, every node signs what it computes. */
  private async signOwn(instance: Instance): Promise<void> {
    const { duty } = instance;
    try {
      const unsigned = this.decode(duty, await this.deps.fetcher.fetch(duty));
      const partial = await this.sign(instance, unsigned);
      this.deps.results.addData(duty.id, unsigned);
      await this.deps.parsigex.broadcast(duty.id, unsigned.signingRoot, partial);
    } catch (err) {
      this.failed(duty.id, err, "signing");
    }
  }

  private async onProposal(message: ProposalMessage, from: Peer): Promise<void> {
    const { tracker, results, sigagg, parsigex, metrics, log } = this.deps;
    const id = fromSszDutyId(message.duty, `proposal from ${from.name}`);
    const refuse = (reason: string, detail: string) => {
      metrics.refusals.inc({ type: id.type, reason });
      log.warn({ duty: dutyKey(id), round: message.round, from: from.name, reason }, `refused a proposal: ${detail}`);
    };
    if (KINDS.get(id.type)?.deterministic !== false) return refuse("invalid_data", `${id.type} duties are not proposed`);
    if (leaderOf(id, message.round, this.n) !== from.index) return refuse("not_leader", `${from.name} does not lead round ${message.round}`);
    const { chain } = this.deps.ctx;
    if (chain.now() > chain.slotStartMs(id.slot) + this.deps.timing.dutyDeadlineMs) return refuse("expired", "past the duty's deadline");
    let instance = this.instances.get(dutyKey(id));
    if (instance === undefined) {
      const duty = await this.deps.lookup(id).catch(() => undefined);
      if (duty === undefined) return refuse("unknown_duty", `no such duty for validator ${id.validator}`);
      instance = this.instance(duty);
    }
    if (!tracker.isPending(id) && results.completed(id) === undefined) return refuse("expired", "past the duty's deadline");
    // A proposal may come a round early (the leader's timer ran first), not more: a node that
    // leads some later round cannot jump the queue of leaders before it.
    const current = this.roundAt(id, chain.now()).round;
    if (message.round > current + 1) return refuse("future_round", `round ${message.round} while this node is in round ${current}`);
    let unsigned: Unsigned;
    try {
      unsigned = this.decode(instance.duty, message.data);
    } catch (err) {
      return refuse("invalid_data", (err as Error).message);
    }
    results.addData(id, unsigned);
    sigagg.add(id, unsigned.signingRoot, from.index + 1, message.partial, "peer");
    if (instance.finished) return;
    let partial: Uint8Array;
    try {
      partial = await this.sign(instance, unsigned);
    } catch (err) {
      if (err instanceof SigningRefused) return refuse(err.reason, err.message);
      throw err;
    }
    await parsigex.broadcast(id, unsigned.signingRoot, partial);
  }

  private decode(duty: Duty, bytes: Uint8Array): Unsigned {
    return KINDS.get(duty.id.type)!.decode(duty, bytes, this.deps.ctx);
  }

  private async sign(instance: Instance, unsigned: Unsigned): Promise<Uint8Array> {
    const partial = await this.deps.signer.sign(instance.duty, unsigned);
    instance.signed = unsigned;
    instance.partial = partial;
    this.deps.tracker.signed(instance.duty.id);
    return partial;
  }

  private failed(id: DutyId, err: unknown, doing: string): void {
    const reason =
      err instanceof FetchError ? err.reason : err instanceof SigningRefused ? err.reason : err instanceof InvalidDataError ? "invalid_data" : "unknown";
    this.deps.tracker.reason(id, reason);
    this.deps.log.warn({ duty: dutyKey(id), reason, err: (err as Error).message }, `failed ${doing} a duty`);
  }
}
