/**
 * The distributed validator node wired: one operator's node of a cluster.
 *
 *     scheduler -> fetcher -> consensus -> signer -> parsigex -> sigagg -> broadcaster
 *
 * `startValidatorNode` is the service's one entry point (`nektar node` calls it, tests and the
 * bench start clusters of it through testing.ts). See docs/signer.md.
 */
import type { Registry } from "prom-client";
import type { ClusterLock } from "../core/cluster/lock.js";
import { NektarError } from "../core/errors.js";
import { BeaconClient, type Transport } from "../core/eth/beacon/index.js";
import { fromHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import { ClusterHost } from "../core/p2p/host.js";
import type { Identity } from "../core/p2p/identity.js";
import { Broadcaster } from "./broadcaster.js";
import { Chain } from "./chain.js";
import { Consensus } from "./consensus.js";
import { DUTY_TYPES, type DutyType, type LastDuty, dutyKey } from "./duties.js";
import type { Duty, KindContext, Recovered } from "./duty/index.js";
import { Fetcher } from "./fetcher.js";
import { SignerMetrics } from "./metrics.js";
import { ParSigEx } from "./parsigex.js";
import type { RemoteSignRequest } from "./remote.js";
import { RemoteSigner } from "./remoteSign.js";
import { Results } from "./results.js";
import { Scheduler } from "./scheduler.js";
import { SigAgg } from "./sigagg.js";
import { PartialSigner } from "./signer.js";
import type { SlashingProtection } from "./slashingProtection/index.js";
import { type DutyOutcome, Tracker } from "./tracker.js";

/** Milliseconds since the Unix epoch; tests may run a node on their own clock. */
export type Clock = () => number;

export interface ValidatorNodeOptions {
  /** The cluster: operators, threshold, validators and their public shares. */
  lock: ClusterLock;
  /** This operator's position in lock.definition.operators (its share id is operatorIndex + 1). */
  operatorIndex: number;
  /** This operator's secret share of each validator, in lock.validators order. */
  shares: readonly bigint[];
  /**
   * The p2p host among the lock's operators, not started: the node registers its protocols,
   * starts it, and stops it in stop(). Or what the node needs to make one.
   */
  p2p: ClusterHost | { identity: Identity; listen: readonly string[] };
  /** The beacon node(s): a BeaconNodes for failover, or one HttpTransport. */
  beacon: Transport;
  /** This node's store; the node does not close it (its owner does, after stop()). */
  slashingProtection: SlashingProtection;
  logger: Logger;
  registry: Registry;
  /**
   * Whether the node is itself the validator client, performing its validators' duties from the
   * beacon node (default true). False when an external validator client drives it through
   * remoteSign only: both at once would sign twice.
   */
  validatorClient?: boolean;
  /** The duties the node performs as validator client (default all). */
  duties?: readonly DutyType[];
  /** Builder registrations: the gas limit to register (default 30,000,000). Fee recipient: the lock's. */
  gasLimit?: number;
  /** Consensus and duty timing; defaults scale with the slot duration. */
  timing?: Partial<Timing>;
  clock?: Clock;
}

export interface Timing {
  /** How long round 0 waits for a proposal before moving to round 1; later rounds wait longer (linear). */
  roundTimeoutMs: number;
  /** How long after its slot's start a duty may still complete; past it, the duty fails. */
  dutyDeadlineMs: number;
  /** How long remoteSign waits for the peers' partial signatures. */
  remoteSignTimeoutMs: number;
}

/** One key share this node holds, as the node API reports it. */
export interface KeyShareStatus {
  /** The distributed validator's public key, 0x hex. */
  validatorPubkey: string;
  /** This operator's share id (operator index + 1). */
  shareIndex: number;
  /** The last duty this share signed for, if any since start. */
  lastDuty: LastDuty | undefined;
}

export interface ValidatorNode {
  readonly peerId: string;
  /** Operators connected now (this node not included). */
  connectedPeers(): { name: string; peerId: string }[];
  keyShares(): KeyShareStatus[];
  /**
   * Signs for an external validator client: this node leads one round for the given data (checks
   * and records its slashing protection, signs, asks every peer for its partial), recovers the
   * signature from t valid partials and verifies it once. Rejects with a RemoteSignError.
   */
  remoteSign(request: RemoteSignRequest): Promise<Uint8Array>;
  /** Every duty outcome this node tracked, in order (the last 10,000). */
  outcomes(): readonly DutyOutcome[];
  /** Stops duties, the p2p host and timers; the slashing protection store stays open. */
  stop(): Promise<void>;
}

export async function startValidatorNode(options: ValidatorNodeOptions): Promise<ValidatorNode> {
  const { lock, operatorIndex, shares, registry } = options;
  const log = options.logger;
  const now = options.clock ?? Date.now;
  if (shares.length !== lock.validators.length) {
    throw new NektarError(`operator ${operatorIndex}: ${shares.length} key shares for the lock's ${lock.validators.length} validators`);
  }
  const operator = lock.definition.operators[operatorIndex];
  if (operator === undefined) throw new NektarError(`operator index ${operatorIndex}: the lock has ${lock.definition.operators.length} operators`);
  const host =
    options.p2p instanceof ClusterHost
      ? options.p2p
      : new ClusterHost({ identity: options.p2p.identity, operators: lock.definition.operators, listen: options.p2p.listen, registry, logger: log });
  if (host.self.index !== operatorIndex) throw new NektarError(`operator index ${operatorIndex}: the p2p identity is operator ${host.self.index}'s (${host.self.name})`);

  const beacon = new BeaconClient(options.beacon);
  const chain = await Chain.load(beacon, now);
  const timing: Timing = {
    roundTimeoutMs: Math.max(50, Math.round(chain.slotMs / 6)),
    dutyDeadlineMs: chain.slotMs * chain.slotsPerEpoch,
    remoteSignTimeoutMs: Math.max(500, Math.round(chain.slotMs / 3)),
    ...options.timing,
  };
  const pubkeys = lock.validators.map((v, i) => fromHex(v.pubkey, `lock validator ${i}`, 48));
  const metrics = new SignerMetrics(registry);
  const tracker = new Tracker(metrics, log);

  // The components call each other through closures: each is built once, in pipeline order.
  const ctx: KindContext = {
    chain,
    beacon,
    result: (id) => results.wait(id, timing.dutyDeadlineMs),
    feeRecipient: lock.definition.feeRecipient,
    gasLimit: options.gasLimit ?? 30_000_000,
  };
  const broadcaster = new Broadcaster(ctx, log);
  const signer = new PartialSigner(shares, options.slashingProtection);
  const scheduled = new Map<string, Duty>();
  const results = new Results((id, recovered) => {
    const round = consensus.decided(id) ?? 0;
    tracker.recovered(id, round);
    const duty = scheduled.get(dutyKey(id));
    // A duty this node only followed (its scheduler has not started it, or runs no duties) is
    // done for it: the nodes that scheduled it submit.
    if (duty === undefined) tracker.done(id);
    else submit(duty, recovered);
  });
  const submit = (duty: Duty, recovered: Recovered) =>
    broadcaster.submit(duty, recovered, chain.slotStartMs(duty.id.slot) + timing.dutyDeadlineMs).then(
      () => tracker.done(duty.id),
      (err: unknown) => log.warn({ duty: dutyKey(duty.id), err: (err as Error).message }, "beacon node refused the signed duty"),
    );
  const sigagg = new SigAgg(lock, (a) => results.addSignature(a.id, a.signingRoot, a.signature), metrics, log);
  const parsigex = new ParSigEx(host, sigagg, log);
  const types = new Set(options.duties ?? DUTY_TYPES);
  const scheduler = new Scheduler({
    chain,
    beacon,
    pubkeys,
    types,
    results,
    onDuty: (duty) => {
      scheduled.set(dutyKey(duty.id), duty);
      const recovered = results.completed(duty.id);
      if (recovered !== undefined) void submit(duty, recovered);
      else consensus.start(duty);
    },
    onEpoch: (epoch) => {
      // Kept two epochs: past any duty's deadline.
      const before = chain.firstSlot(epoch - 2);
      consensus.prune(before);
      signer.prune(before);
      sigagg.prune(before);
      results.prune(before);
      tracker.prune(before);
      for (const [key, duty] of scheduled) if (duty.id.slot < before) scheduled.delete(key);
    },
    metrics,
    log,
  });
  const consensus: Consensus = new Consensus({
    host,
    ctx,
    fetcher: new Fetcher(ctx),
    signer,
    parsigex,
    sigagg,
    results,
    tracker,
    lookup: (id) => scheduler.lookup(id),
    timing,
    metrics,
    log,
  });
  const remote = new RemoteSigner({ host, lock, ctx, signer, tracker, validatorIndex: (v) => scheduler.validatorIndex(v), timeoutMs: timing.remoteSignTimeoutMs, log });

  await host.start();
  await scheduler.start(options.validatorClient ?? true);
  log.info({ operator: operator.name, validators: lock.validators.length, slotMs: chain.slotMs, timing }, "validator node started");

  let stopped = false;
  return {
    peerId: host.self.peerId,
    connectedPeers: () => host.peers.map((p) => ({ name: p.name, peerId: p.peerId })),
    keyShares: () =>
      lock.validators.map((v, i) => ({ validatorPubkey: v.pubkey, shareIndex: operatorIndex + 1, lastDuty: tracker.lastDuty(i) })),
    remoteSign: (request) => remote.sign(request),
    outcomes: () => tracker.outcomes,
    async stop() {
      if (stopped) return;
      stopped = true;
      scheduler.stop();
      consensus.stop();
      tracker.stop();
      results.prune(Infinity);
      await host.stop();
      log.info("validator node stopped");
    },
  };
}
