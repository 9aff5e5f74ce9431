/**
 * One operator's side of a ceremony: a DKG (joint Feldman, with proofs of possession) or a
 * resharing, for all of a cluster's validators at once. Phases, each waiting for every other
 * operator (or failing at its deadline, naming who was not heard from):
 *
 *   connect   exchange hellos: everyone is up and runs this very ceremony (same definition and,
 *             when resharing, the same old lock)
 *   deal      each dealer broadcasts its commitments (and proofs of possession) and sends every
 *             operator its shares over the encrypted channel
 *   verify    check the deals every operator sees alike (shape, proofs, or for resharing that
 *             C_0 is the dealer's old public share): a dealer failing them is disqualified;
 *             check this node's shares (batched) and broadcast complaints, with a hash of every
 *             deal received
 *   justify   compare deal hashes (a dealer that showed operators different commitments stops
 *             the ceremony); each dealer complained against reveals the disputed shares; every
 *             operator checks them; unanswered or wrong: disqualified
 *   finalize  combine the qualified dealers' commitments (group-checked; see dealing.ts), this
 *             node's key shares, every public share
 *   deposit   broadcast the qualified set (all must agree) and partial signatures of every
 *             deposit message; recover and verify the signatures
 *   lock      build the lock, sign its hash, check every operator signed the same hash
 *
 * Everything that decides who is qualified is public (broadcast deals, complaints,
 * justifications) and checked deterministically, and the deal hashes, the qualified set and the
 * lock hash are compared: a faulty operator can make a ceremony fail (as it can by going
 * offline: every operator signs the lock), not end with operators holding different results.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { PublicKey, Signature } from "@chainsafe/blst";
import { FR_ORDER, add, fromBytesBE, lagrangeAtZeroFactored, mod, mul, randomScalar, secretKeyFromScalar, signPartial, toBytes32 } from "../core/crypto/index.js";
import { NektarError } from "../core/errors.js";
import {
  type DepositDataEntry,
  type Network,
  customNetwork,
  depositMessage,
  depositSigningRoot,
  eth1WithdrawalCredentials,
  networkByGenesisForkVersion,
} from "../core/eth/index.js";
import { fromHex, toHex } from "../core/hex.js";
import { type Logger, createLogger } from "../core/log/index.js";
import { type ClusterDefinition, assertFullySigned, configHash } from "../core/p2p/definition.js";
import type { Identity } from "../core/p2p/identity.js";
import { type Dealing, combine, deal, inG1, popMessage, provePossession, publicShares, sharesFor, sharesMatch, findInvalidPossessions, type Possession, verifyRevealedShares } from "./dealing.js";
import { NotEnoughPartialsError, recoverSignatures, verifiedDepositEntry } from "./deposits.js";
import { type ClusterLock, LOCK_VERSION, type UnsignedLock, lockHash, signLockHash, verifyLockSignature } from "../core/cluster/lock.js";
import { DEAL_CHUNK, type Deal, DealType, type Envelope, G1_UNCOMPRESSED, G2_UNCOMPRESSED, type MessageKind, type Messages } from "./messages.js";
import { type CeremonyNetwork, Inbox } from "./network.js";

export type Phase = "connect" | "deal" | "verify" | "justify" | "finalize" | "deposit" | "lock";

export interface Progress {
  phase: Phase;
  /** Operators heard from in this ceremony, this node not counted. */
  peersReady: number;
  peers: number;
  /** Validators whose key shares are final. */
  validatorsDone: number;
  validators: number;
}

export interface Timeouts {
  /** How long to wait for every operator to be up and running this ceremony. */
  connectMs: number;
  /** How long every later phase waits for the other operators' messages. */
  phaseMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 600_000, phaseMs: 120_000 };

/** What a resharing starts from. */
export interface ReshareSource {
  /** The cluster's lock, checked with parseLock. */
  lock: ClusterLock;
  /** This operator's shares of every validator, if it is an operator of the lock (it deals them). */
  shares?: readonly bigint[];
}

export interface CeremonyOptions {
  /** The cluster definition, signed by every operator (for resharing: the new one). */
  definition: ClusterDefinition;
  identity: Identity;
  network: CeremonyNetwork;
  reshare?: ReshareSource;
  timeouts?: Partial<Timeouts>;
  onProgress?: (progress: Progress) => void;
  logger?: Logger;
  signal?: AbortSignal;
  /** For tests only: makes this operator a faulty dealer. */
  faulty?: {
    /** The shares it sends operator `receiver` (and reveals if that operator complains). */
    shares?(receiver: number, shares: bigint[]): bigint[];
    /** The deal chunk it broadcasts. */
    deal?(chunk: Deal): Deal;
  };
}

export interface CeremonyResult {
  lock: ClusterLock;
  /** This operator's share id: its index in the definition + 1. */
  shareId: number;
  /** This operator's share of every validator's key. */
  shares: bigint[];
  /** Dealers left out of the keys, with the reason. */
  disqualified: { operator: string; reason: string }[];
}

/** A ceremony that could not finish; nothing it made may be used. `operators` names the culprits or the missing. */
export class CeremonyError extends NektarError {
  constructor(
    readonly phase: Phase,
    message: string,
    readonly operators: readonly string[] = [],
  ) {
    super(message);
  }
}

/** 32 ETH in gwei: every deposit of a DKG'd validator is a full one. */
const DEPOSIT_GWEI = 32_000_000_000;
const HELLO_INTERVAL_MS = 500;

export function runCeremony(options: CeremonyOptions): Promise<CeremonyResult> {
  return new Ceremony(options).run();
}

/** Identifies a ceremony: every operator must compute the same. */
export function ceremonyId(definition: ClusterDefinition, previousLock?: ClusterLock): Uint8Array {
  const hash = createHash("sha256").update(previousLock === undefined ? "nektar/dkg/v1" : "nektar/reshare/v1").update(configHash(definition));
  if (previousLock !== undefined) hash.update(fromHex(previousLock.lockHash, "lock hash", 32));
  return new Uint8Array(hash.digest());
}

/** A dealer's deal as this node received (or made) it. */
interface DealView {
  commitments: PublicKey[][];
  hash: Uint8Array;
}

class Ceremony {
  private readonly def: ClusterDefinition;
  private readonly n: number;
  private readonly t: number;
  private readonly validators: number;
  private readonly self: number;
  private readonly others: number[];
  private readonly id: Uint8Array;
  private readonly kind: string;
  /** Operator indices that deal: everyone in a DKG, the old operators still present when resharing. */
  private readonly dealers: number[];
  /** Resharing: each dealer's share id in the old lock. */
  private readonly oldIds = new Map<number, number>();
  /** Fewest qualified dealers that make keys: t (DKG), the old threshold (resharing). */
  private readonly required: number;
  private readonly timeouts: Timeouts;
  private readonly inbox: Inbox;
  private readonly log: Logger;
  private readonly network: Network;

  private phase: Phase = "connect";
  private validatorsDone = 0;
  private readonly deals = new Map<number, DealView>();
  /** This node's shares from each dealer, by validator. */
  private readonly received = new Map<number, bigint[]>();
  private readonly disqualified = new Map<number, string>();
  /** This node's deal, as broadcast. */
  private ownDeal: Deal[] = [];
  /** The dealers this node complained about. */
  private ownComplaints: number[] = [];
  /** The combination whose shares passed the optimistic check, if it did. */
  private sumChecked: Combination | undefined;
  private readonly combined = new Map<string, PublicKey[][]>();

  constructor(private readonly opts: CeremonyOptions) {
    const def = opts.definition;
    assertFullySigned(def, "cluster definition");
    this.def = def;
    this.n = def.operators.length;
    this.t = def.threshold;
    this.validators = def.numValidators;
    this.self = def.operators.findIndex((op) => op.peerId === opts.identity.peerId.toString());
    if (this.self < 0) throw new NektarError(`identity ${opts.identity.peerId.toString()} is not an operator of cluster definition "${def.name}"`);
    this.others = def.operators.map((_, i) => i).filter((i) => i !== this.self);
    this.id = ceremonyId(def, opts.reshare?.lock);
    this.kind = opts.reshare === undefined ? "DKG" : "resharing";
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.log = (opts.logger ?? createLogger("dkg")).child({ operator: def.operators[this.self]!.name });
    this.network = depositNetwork(def);

    if (opts.reshare === undefined) {
      this.dealers = def.operators.map((_, i) => i);
      this.required = this.t;
    } else {
      const old = opts.reshare.lock.definition;
      checkReshare(def, opts.reshare.lock);
      def.operators.forEach((op, i) => {
        const oldIndex = old.operators.findIndex((o) => o.peerId === op.peerId);
        if (oldIndex >= 0) this.oldIds.set(i, oldIndex + 1);
      });
      this.dealers = [...this.oldIds.keys()];
      this.required = old.threshold;
      if (this.dealers.length < this.required) {
        throw new NektarError(
          `resharing needs at least ${this.required} (the old threshold) of the old operators in the new definition; it has ${this.dealers.length}`,
        );
      }
      if (this.oldIds.has(this.self)) checkOldShares(opts.reshare, this.oldIds.get(this.self)!);
    }

    const chunks = Math.ceil(this.validators / DEAL_CHUNK);
    this.inbox = new Inbox({ hello: 1, deal: chunks, shares: 1, complaints: 1, justification: this.n, partials: 1, lockSignature: 1 });
    opts.network.receive((from, message) => this.onMessage(from, message));
  }

  async run(): Promise<CeremonyResult> {
    const started = performance.now();
    await this.connect();
    const dealing = this.deal();
    await this.verify();
    await this.justify(dealing);
    const keys = this.finalize();
    const deposits = await this.deposit(keys);
    const lock = await this.lock(keys, deposits);
    this.log.info({ ms: Math.round(performance.now() - started), disqualified: [...this.disqualified.keys()].map((i) => this.name(i)) }, `${this.kind} complete`);
    return {
      lock,
      shareId: this.self + 1,
      shares: keys.shares,
      disqualified: [...this.disqualified].map(([i, reason]) => ({ operator: this.name(i), reason })),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Phases

  private async connect(): Promise<void> {
    this.enter("connect");
    const deadline = performance.now() + this.timeouts.connectMs;
    const waiting = () => this.others.filter((i) => this.inbox.get("hello", i) === undefined);
    // One hello in flight per peer, repeated until the peer's own hello arrives: a peer not up
    // yet fails the send, one that is up answers with its hello (see onMessage).
    const inFlight = new Set<number>();
    let heard = 0;
    for (;;) {
      this.checkHellos();
      const missing = waiting();
      if (this.n - 1 - missing.length !== heard) {
        heard = this.n - 1 - missing.length;
        this.report();
      }
      if (missing.length === 0) return;
      if (performance.now() >= deadline || this.opts.signal?.aborted) {
        throw this.fail(`not every operator is up and running this ceremony; no answer from ${this.names(missing)} within ${seconds(this.timeouts.connectMs)}`, missing);
      }
      for (const i of missing) {
        if (inFlight.has(i)) continue;
        inFlight.add(i);
        this.opts.network
          .send(i, "hello", { ceremony: this.id, ack: false }, Math.max(1_000, Math.ceil(deadline - performance.now())))
          .catch(() => undefined)
          .finally(() => inFlight.delete(i));
      }
      await this.inbox.until(() => waiting().length < missing.length, Math.min(deadline, performance.now() + HELLO_INTERVAL_MS), this.opts.signal);
    }
  }

  /** Deals, if this operator is a dealer: broadcasts the commitments, sends each operator its shares. */
  private deal(): Dealing | undefined {
    this.enter("deal");
    if (!this.dealers.includes(this.self)) return undefined;
    const constants = this.opts.reshare?.shares ?? Array.from({ length: this.validators }, randomScalar);
    const dealing = deal(constants, this.t);
    const proofs = this.opts.reshare === undefined ? provePossession(constants, popMessage(this.id, this.self)).map((p) => p.toBytes(false)) : undefined;
    const chunks: Deal[] = [];
    for (let offset = 0; offset < this.validators; offset += DEAL_CHUNK) {
      chunks.push({
        offset,
        validators: dealing.commitments.slice(offset, offset + DEAL_CHUNK).map((c, v) => ({
          commitments: c.map((p) => p.toBytes(false)),
          proof: proofs?.[offset + v] ?? new Uint8Array(0),
        })),
      });
    }
    // This node's deal is checked below like everyone else's: every operator must judge it alike.
    this.ownDeal = chunks.map((chunk) => this.opts.faulty?.deal?.(chunk) ?? chunk);
    this.received.set(this.self, sharesFor(dealing, this.self + 1));
    const deadline = performance.now() + this.timeouts.phaseMs;
    for (const chunk of this.ownDeal) void this.broadcast("deal", chunk, deadline);
    for (const j of this.others) {
      const shares = this.sharesFor(dealing, j);
      void this.sendReliably(j, "shares", { shares: shares.map(toBytes32) }, deadline);
    }
    return dealing;
  }

  private async verify(): Promise<void> {
    this.enter("verify");
    const offsets = Array.from({ length: Math.ceil(this.validators / DEAL_CHUNK) }, (_, c) => c * DEAL_CHUNK);
    const otherDealers = this.dealers.filter((i) => i !== this.self);
    const chunksOf = (i: number) => (i === this.self ? this.ownDeal : offsets.map((offset) => this.inbox.get("deal", i, offset)));
    const missing = () => otherDealers.filter((i) => chunksOf(i).includes(undefined) || this.inbox.get("shares", i) === undefined);
    await this.waitFor(missing, "no deal (commitments and shares)");

    const complaints: number[] = [];
    const possessions: Possession[] = [];
    for (const i of this.dealers) {
      const chunks = chunksOf(i) as Deal[];
      const hash = dealHash(chunks);
      const parsed = this.parseDeal(i, chunks);
      if (typeof parsed === "string") {
        this.disqualify(i, parsed);
        this.deals.set(i, { commitments: [], hash });
        continue;
      }
      this.deals.set(i, { commitments: parsed.commitments, hash });
      if (this.opts.reshare === undefined) possessions.push({ dealer: i, message: popMessage(this.id, i), keys: parsed.commitments.map((c) => c[0]!), proofs: parsed.proofs });
    }
    for (const i of findInvalidPossessions(possessions)) this.disqualify(i, "invalid proof of possession");
    for (const i of otherDealers) {
      if (this.disqualified.has(i)) continue;
      const shares = this.parseShares(this.inbox.get("shares", i)!.shares);
      if (shares === undefined) complaints.push(i);
      else this.received.set(i, shares);
    }

    // Optimistic: one check of this node's combined share against the combined commitments.
    // Two colluding dealers could make their errors cancel in it; harmless while both stay
    // qualified (the combined share is right), and finalize checks dealer by dealer if the
    // qualified set changes.
    const checked = this.dealers.filter((i) => !this.disqualified.has(i) && this.received.has(i));
    const combination = this.combination(checked);
    if (sharesMatch(combination.commitments, this.self + 1, combination.shares)) {
      this.sumChecked = combination;
    } else {
      complaints.push(...checked.filter((i) => i !== this.self && !this.dealerSharesMatch(i)));
    }
    complaints.sort((a, b) => a - b);
    if (complaints.length > 0) this.log.warn({ against: this.names(complaints) }, "complaining: shares do not match the commitments");

    const deals = this.def.operators.map((_, i) => this.deals.get(i)?.hash ?? new Uint8Array(32));
    void this.broadcast("complaints", { against: complaints, deals }, performance.now() + this.timeouts.phaseMs);
    this.ownComplaints = complaints;
  }

  private async justify(dealing: Dealing | undefined): Promise<void> {
    this.enter("justify");
    await this.waitFor(() => this.others.filter((k) => this.inbox.get("complaints", k) === undefined), "no complaints message");

    // Everyone must have seen the same deals: the hashes would differ if a dealer equivocated.
    for (const k of this.others) {
      const { deals } = this.inbox.get("complaints", k)!;
      const differ = this.dealers.filter((i) => deals[i] === undefined || !equal(deals[i]!, this.deals.get(i)!.hash));
      if (differ.length > 0) {
        throw this.fail(
          `${this.name(k)} received a different deal than this node from ${this.names(differ)}: a dealer sent different commitments to different operators, or ${this.name(k)} is faulty`,
          [this.name(k), ...differ.map((i) => this.name(i))],
        );
      }
    }

    // Complaints against dealers still in the running, each to be answered by the dealer.
    const pending: [dealer: number, receiver: number][] = [];
    for (const k of this.def.operators.keys()) {
      const against = k === this.self ? this.ownComplaints : this.inbox.get("complaints", k)!.against;
      for (const i of new Set(against)) {
        if (i !== k && this.dealers.includes(i) && !this.disqualified.has(i)) pending.push([i, k]);
      }
    }
    const revealed = new Map<string, bigint[] | undefined>();
    if (dealing !== undefined) {
      const deadline = performance.now() + this.timeouts.phaseMs;
      for (const [i, k] of pending) {
        if (i !== this.self) continue;
        const shares = this.sharesFor(dealing, k);
        revealed.set(`${i}/${k}`, shares);
        void this.broadcast("justification", { receiver: k, shares: shares.map(toBytes32) }, deadline);
      }
    }
    const find = (i: number, k: number) => this.inbox.get("justification", i, k);
    const unanswered = () => pending.filter(([i, k]) => i !== this.self && find(i, k) === undefined);
    const answered = await this.inbox.until(() => unanswered().length === 0, performance.now() + this.timeouts.phaseMs, this.opts.signal);
    if (!answered) this.log.warn({ dealers: this.names(unanswered().map(([i]) => i)) }, "complaints left unanswered");

    for (const [i, k] of pending) {
      if (!revealed.has(`${i}/${k}`)) {
        const answer = find(i, k);
        revealed.set(`${i}/${k}`, answer === undefined ? undefined : this.parseShares(answer.shares));
      }
      const shares = revealed.get(`${i}/${k}`);
      if (this.disqualified.has(i)) continue;
      if (shares === undefined) this.disqualify(i, `did not answer ${this.name(k)}'s complaint`);
      else if (!verifyRevealedShares(this.deals.get(i)!.commitments, k + 1, shares)) this.disqualify(i, `its shares for ${this.name(k)} do not match its commitments`);
      else if (k === this.self) this.received.set(i, shares);
    }
  }

  private finalize(): Keys {
    this.enter("finalize");
    for (;;) {
      const qualified = this.qualified();
      if (qualified.length < this.required) {
        throw this.fail(
          `only ${qualified.length} dealers qualified (${this.names(qualified)}), at least ${this.required} are needed; disqualified: ${[...this.disqualified].map(([i, why]) => `${this.name(i)} (${why})`).join("; ")}`,
          [...this.disqualified.keys()].map((i) => this.name(i)),
        );
      }
      const { commitments, shares } = this.combination(qualified);
      // The combined commitments are the first points known to be in G1 (see dealing.ts).
      const outside = commitments.flatMap((c, v) => (c.every(inG1) ? [] : [v]));
      if (outside.length > 0) {
        const culprits = qualified.filter((i) => outside.some((v) => !this.deals.get(i)!.commitments[v]!.every(inG1)));
        if (culprits.length === 0) throw this.fail(`the qualified dealers' commitments of validator ${outside[0]} add up to the point at infinity`);
        for (const i of culprits) this.disqualify(i, "commitments not in G1");
        continue;
      }
      if (this.sumChecked !== undefined && this.sumChecked.dealers.join() !== qualified.join()) {
        const bad = qualified.filter((i) => i !== this.self && !this.dealerSharesMatch(i));
        if (bad.length > 0) {
          throw this.fail(
            `the shares ${this.names(bad)} sent this node do not match their commitments, which only showed once ${this.names(this.sumChecked.dealers.filter((i) => !qualified.includes(i)))} left the qualified dealers: colluding dealers`,
            bad,
          );
        }
      }
      const keys: PublicKey[] = [];
      const sharesByValidator: PublicKey[][] = [];
      for (let v = 0; v < this.validators; v++) {
        const key = commitments[v]![0]!;
        if (this.opts.reshare !== undefined && toHex(key.toBytes()) !== this.opts.reshare.lock.validators[v]!.pubkey) {
          throw this.fail(`validator ${v}: the new shares would not be shares of its key ${this.opts.reshare.lock.validators[v]!.pubkey}`);
        }
        const pub = publicShares(commitments[v]!, this.n);
        if (shares[v] === 0n || !equal(secretKeyFromScalar(shares[v]!).toPublicKey().toBytes(), pub[this.self]!.toBytes())) {
          throw this.fail(`validator ${v}: this node's key share does not match its public share`);
        }
        keys.push(key);
        sharesByValidator.push(pub);
        this.validatorsDone = v + 1;
        if (v % 16 === 15 || v === this.validators - 1) this.report();
      }
      return { qualified, keys, publicShares: sharesByValidator, shares };
    }
  }

  private async deposit(keys: Keys): Promise<DepositDataEntry[]> {
    this.enter("deposit");
    const credentials = eth1WithdrawalCredentials(this.def.withdrawalAddress);
    const fork = fromHex(this.def.forkVersion, "forkVersion", 4);
    const messages = keys.keys.map((key) => depositMessage(key.toBytes(), credentials, DEPOSIT_GWEI));
    const roots = messages.map((m) => depositSigningRoot(m, fork));
    const signatures = roots.map((root, v) => signPartial({ id: this.self + 1, value: keys.shares[v]! }, root).signature.toBytes(false));
    void this.broadcast("partials", { qualified: keys.qualified, signatures }, performance.now() + this.timeouts.phaseMs);
    await this.waitFor(() => this.others.filter((k) => this.inbox.get("partials", k) === undefined), "no partial signatures");

    for (const k of this.others) {
      const theirs = this.inbox.get("partials", k)!.qualified;
      if (theirs.join() !== keys.qualified.join()) {
        throw this.fail(
          `${this.name(k)} qualified dealers ${this.names(theirs)}, this node ${this.names(keys.qualified)}: the operators saw different complaints or justifications`,
          [this.name(k)],
        );
      }
    }
    let recovered: Signature[];
    try {
      const partials = this.def.operators.map((_, k) => ({ id: k + 1, signatures: k === this.self ? signatures : this.inbox.get("partials", k)!.signatures }));
      const result = recoverSignatures(roots, keys.keys, keys.publicShares, partials, this.t);
      if (result.faulty.length > 0) this.log.warn({ operators: this.names(result.faulty.map((id) => id - 1)) }, "invalid partial deposit signatures");
      recovered = result.signatures;
    } catch (err) {
      if (!(err instanceof NotEnoughPartialsError)) throw err;
      const faulty = err.faulty.map((id) => id - 1);
      throw this.fail(`validator ${err.index}: not enough valid partial deposit signatures; invalid ones from ${this.names(faulty)}`, this.nameList(faulty));
    }

    if (this.opts.reshare !== undefined) {
      // BLS signatures are unique: the new shares must make the very deposit signature of the lock.
      const old = this.opts.reshare.lock.validators;
      const differs = recovered.findIndex((sig, v) => toHex(sig.toBytes()).slice(2) !== old[v]!.depositData.signature);
      if (differs >= 0) throw this.fail(`validator ${differs}: the new shares sign its deposit differently from the lock's deposit data`);
      return old.map((v) => v.depositData);
    }
    return messages.map((message, v) => verifiedDepositEntry(message, recovered[v]!, this.network));
  }

  private async lock(keys: Keys, deposits: DepositDataEntry[]): Promise<ClusterLock> {
    this.enter("lock");
    const unsigned: UnsignedLock = {
      version: LOCK_VERSION,
      definition: this.def,
      ...(this.opts.reshare !== undefined && { predecessor: this.opts.reshare.lock.lockHash }),
      validators: keys.keys.map((key, v) => ({
        pubkey: toHex(key.toBytes()),
        publicShares: keys.publicShares[v]!.map((p) => toHex(p.toBytes())),
        depositData: deposits[v]!,
      })),
    };
    const hash = lockHash(unsigned);
    const signature = await signLockHash(hash, this.opts.identity);
    // Awaited: a node that is done stops its host, which must not cut off its signature.
    await Promise.all([
      this.broadcast("lockSignature", { lockHash: hash, signature }, performance.now() + this.timeouts.phaseMs),
      this.waitFor(() => this.others.filter((k) => this.inbox.get("lockSignature", k) === undefined), "no lock signature"),
    ]);

    const signatures: string[] = [];
    for (const [k, op] of this.def.operators.entries()) {
      if (k === this.self) {
        signatures.push(toHex(signature));
        continue;
      }
      const theirs = this.inbox.get("lockSignature", k)!;
      if (!equal(theirs.lockHash, hash)) throw this.fail(`${op.name} made a different lock (hash ${toHex(theirs.lockHash)}, this node ${toHex(hash)})`, [op.name]);
      if (!(await verifyLockSignature(hash, op.peerId, theirs.signature))) throw this.fail(`${op.name}'s lock signature does not verify`, [op.name]);
      signatures.push(toHex(theirs.signature));
    }
    return { ...unsigned, lockHash: toHex(hash), signatures };
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private onMessage(from: number, message: Envelope): void {
    if (from === this.self || from < 0 || from >= this.n) return;
    const key = message.kind === "deal" ? message.body.offset : message.kind === "justification" ? message.body.receiver : 0;
    this.inbox.put(from, message, key);
    if (message.kind === "hello" && !message.body.ack) {
      void this.sendReliably(from, "hello", { ceremony: this.id, ack: true }, performance.now() + this.timeouts.phaseMs);
    }
  }

  /** A peer running another ceremony (other definition or lock) is a mistake to report at once. */
  private checkHellos(): void {
    const foreign = this.others.filter((i) => {
      const hello = this.inbox.get("hello", i);
      return hello !== undefined && !equal(hello.ceremony, this.id);
    });
    if (foreign.length > 0) {
      throw this.fail(
        `${this.names(foreign)} ${foreign.length === 1 ? "runs" : "run"} a different ceremony: ${this.opts.reshare === undefined ? "its cluster definition differs" : "its definition or cluster lock differs"} from this node's`,
        foreign,
      );
    }
  }

  /** Waits until `missing()` is empty; fails naming what is still missing at the deadline. */
  private async waitFor(missing: () => number[], what: string): Promise<void> {
    const ok = await this.inbox.until(() => missing().length === 0, performance.now() + this.timeouts.phaseMs, this.opts.signal);
    if (!ok) {
      const who = missing();
      throw this.fail(`${what} from ${this.names(who)} within ${seconds(this.timeouts.phaseMs)}`, who);
    }
  }

  private broadcast<K extends MessageKind>(kind: K, body: Messages[K], deadline: number): Promise<void[]> {
    return Promise.all(this.others.map((k) => this.sendReliably(k, kind, body, deadline)));
  }

  /** Sends, retrying with backoff until `deadline`; a peer never reached is named later, by whoever waits for it. */
  private async sendReliably<K extends MessageKind>(
    to: number,
    kind: K,
    body: Messages[K],
    deadline: number,
  ): Promise<void> {
    for (let delay = 100; ; delay = Math.min(2 * delay, 2_000)) {
      try {
        await this.opts.network.send(to, kind, body, Math.max(1_000, Math.ceil(deadline - performance.now())));
        return;
      } catch (err) {
        if (this.opts.signal?.aborted || performance.now() + delay >= deadline) {
          this.log.warn({ to: this.name(to), kind, err: (err as Error).message }, "giving up sending");
          return;
        }
        await sleep(delay);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Checks

  /**
   * The commitments (and proofs of possession) of a deal, as curve points, or why every operator
   * must reject it. Resharing: also checks each C_0 is the dealer's public share in the lock.
   */
  private parseDeal(dealer: number, chunks: readonly Deal[]): { commitments: PublicKey[][]; proofs: Signature[] } | string {
    const commitments: PublicKey[][] = [];
    const proofs: Signature[] = [];
    const resharing = this.opts.reshare !== undefined;
    for (const chunk of chunks) {
      const expected = Math.min(DEAL_CHUNK, this.validators - chunk.offset);
      if (chunk.validators.length !== expected) return `deal chunk at validator ${chunk.offset}: ${chunk.validators.length} validators, expected ${expected}`;
      for (const [j, { commitments: points, proof }] of chunk.validators.entries()) {
        const v = chunk.offset + j;
        if (points.length !== this.t) return `validator ${v}: ${points.length} commitments, expected ${this.t}`;
        const parsed = points.map(parseG1);
        if (parsed.includes(undefined)) return `validator ${v}: a commitment is not a point of the curve`;
        commitments.push(parsed as PublicKey[]);
        if (resharing) {
          if (proof.length !== 0) return `validator ${v}: a proof of possession where none belongs`;
          const oldShare = this.opts.reshare!.lock.validators[v]!.publicShares[this.oldIds.get(dealer)! - 1];
          if (toHex(parsed[0]!.toBytes()) !== oldShare) return `validator ${v}: C_0 is not the dealer's public share in the lock`;
        } else {
          const parsedProof = parseG2(proof);
          if (parsedProof === undefined) return `validator ${v}: the proof of possession is not a point of the curve`;
          proofs.push(parsedProof);
        }
      }
    }
    return { commitments, proofs };
  }

  /**
   * The combined commitments of `dealers` (sums in a DKG, Lagrange-weighted when resharing),
   * memoized as verify and finalize mostly combine the same dealers, and this node's share of
   * each validator from them (from its latest shares: a justification may have replaced some).
   */
  private combination(dealers: readonly number[]): Combination {
    const lagrange = this.opts.reshare === undefined ? undefined : lagrangeAtZeroFactored(dealers.map((i) => this.oldIds.get(i)!));
    const key = dealers.join();
    let commitments = this.combined.get(key);
    if (commitments === undefined) {
      commitments = combine(
        dealers.map((i) => this.deals.get(i)!.commitments),
        lagrange,
      );
      this.combined.set(key, commitments);
    }
    const weights = lagrange === undefined ? dealers.map(() => 1n) : lagrange.numerators.map((num) => mul(lagrange.scale, mod(num)));
    const shares = Array.from({ length: this.validators }, (_, v) => dealers.reduce((sum, i, q) => add(sum, mul(weights[q]!, this.received.get(i)![v]!)), 0n));
    return { dealers: [...dealers], commitments, shares };
  }

  private dealerSharesMatch(dealer: number): boolean {
    return sharesMatch(this.deals.get(dealer)!.commitments, this.self + 1, this.received.get(dealer)!);
  }

  /** Shares from the wire: one per validator, each below r; undefined if not. */
  private parseShares(shares: readonly Uint8Array[]): bigint[] | undefined {
    if (shares.length !== this.validators) return undefined;
    const values = shares.map(fromBytesBE);
    return values.every((s) => s < FR_ORDER) ? values : undefined;
  }

  private sharesFor(dealing: Dealing, receiver: number): bigint[] {
    const shares = sharesFor(dealing, receiver + 1);
    return this.opts.faulty?.shares?.(receiver, shares) ?? shares;
  }

  private disqualify(dealer: number, reason: string): void {
    if (this.disqualified.has(dealer)) return;
    this.disqualified.set(dealer, reason);
    this.log.warn({ dealer: this.name(dealer), reason }, "dealer disqualified");
  }

  private qualified(): number[] {
    return this.dealers.filter((i) => !this.disqualified.has(i));
  }

  // -------------------------------------------------------------------------------------------
  // Reporting

  private enter(phase: Phase): void {
    this.phase = phase;
    this.log.debug({ phase }, "phase");
    this.report();
  }

  private report(): void {
    this.opts.onProgress?.({
      phase: this.phase,
      peersReady: this.others.filter((i) => this.inbox.get("hello", i) !== undefined).length,
      peers: this.n - 1,
      validatorsDone: this.validatorsDone,
      validators: this.validators,
    });
  }

  private fail(message: string, operators: readonly number[] | readonly string[] = []): CeremonyError {
    const names = operators.map((o) => (typeof o === "number" ? this.name(o) : o));
    return new CeremonyError(this.phase, `${this.kind} failed (${this.phase}): ${message}`, names);
  }

  private name(index: number): string {
    return this.def.operators[index]?.name ?? `operator ${index}`;
  }

  private nameList(indices: readonly number[]): string[] {
    return indices.map((i) => this.name(i));
  }

  private names(indices: readonly number[]): string {
    return indices.length === 0 ? "none" : this.nameList(indices).join(", ");
  }
}

interface Combination {
  dealers: number[];
  /** Each validator's combined commitments. */
  commitments: PublicKey[][];
  /** This node's share of each validator. */
  shares: bigint[];
}

interface Keys {
  qualified: number[];
  /** Each validator's public key. */
  keys: PublicKey[];
  /** Each validator's public shares, by operator index. */
  publicShares: PublicKey[][];
  /** This operator's share of each validator's key. */
  shares: bigint[];
}

/**
 * A point of the curve (not the identity) from its uncompressed encoding; blst checks it is on
 * the curve, and its subgroup is checked later (see dealing.ts).
 */
function parseG1(bytes: Uint8Array): PublicKey | undefined {
  if (bytes.length !== G1_UNCOMPRESSED || (bytes[0]! & INFINITY_FLAG) !== 0) return undefined;
  try {
    return PublicKey.fromBytes(bytes, false);
  } catch {
    return undefined;
  }
}

function parseG2(bytes: Uint8Array): Signature | undefined {
  if (bytes.length !== G2_UNCOMPRESSED || (bytes[0]! & INFINITY_FLAG) !== 0) return undefined;
  try {
    return Signature.fromBytes(bytes, false, true);
  } catch {
    return undefined;
  }
}

/** The serialization's infinity flag, in the first byte. */
const INFINITY_FLAG = 0x40;

function dealHash(chunks: readonly Deal[]): Uint8Array {
  const hash = createHash("sha256");
  for (const chunk of chunks) hash.update(DealType.serialize(chunk));
  return new Uint8Array(hash.digest());
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** The network the deposits are for: a known one by its genesis fork version, else a devnet. */
function depositNetwork(def: ClusterDefinition): Network {
  return networkByGenesisForkVersion(fromHex(def.forkVersion, "forkVersion", 4)) ?? customNetwork({ name: "devnet", genesisForkVersion: def.forkVersion });
}

/** A new definition may reshare a lock's validators only if it keeps what their deposits fixed. */
function checkReshare(def: ClusterDefinition, lock: ClusterLock): void {
  const old = lock.definition;
  const mismatch = (field: string, was: unknown, now: unknown) =>
    new NektarError(`the new definition's ${field} is ${String(now)}, the lock's ${String(was)}: resharing keeps the validators and their deposits, so it must not change`);
  if (def.numValidators !== old.numValidators) throw mismatch("numValidators", old.numValidators, def.numValidators);
  if (def.forkVersion !== old.forkVersion) throw mismatch("forkVersion", old.forkVersion, def.forkVersion);
  if (def.withdrawalAddress.toLowerCase() !== old.withdrawalAddress.toLowerCase()) throw mismatch("withdrawalAddress", old.withdrawalAddress, def.withdrawalAddress);
}

/** An old operator's shares must be its shares in the lock (the wrong keystores would otherwise fail the ceremony late). */
function checkOldShares(source: ReshareSource, oldId: number): void {
  const { lock, shares } = source;
  if (shares === undefined || shares.length !== lock.validators.length) {
    throw new NektarError(`this operator holds shares in the cluster lock (share id ${oldId}), so it must deal them: give its ${lock.validators.length} key shares`);
  }
  shares.forEach((s, v) => {
    const ok = s > 0n && s < FR_ORDER && toHex(secretKeyFromScalar(s).toPublicKey().toBytes()) === lock.validators[v]!.publicShares[oldId - 1];
    if (!ok) throw new NektarError(`the key share given for validator ${v} is not this operator's share ${oldId} in the cluster lock`);
  });
}
