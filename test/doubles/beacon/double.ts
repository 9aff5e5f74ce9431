/**
 * A beacon node test double: the Beacon API endpoints a validator client uses, over real HTTP on
 * 127.0.0.1, with a slot clock as fast as a test wants, deterministic duties, a record of every
 * submission, and scripted faults (error statuses, delays, going down and coming back).
 *
 * It is for what a real node cannot do in a unit test: slots of 100 ms, faults on cue, Electra
 * shapes (the Lodestar that runs here stops at Altair). What a real chain checks (signatures,
 * inclusion) is the Lodestar dev chain's job (test/system/lodestar/).
 *
 * Chain model: validator i (an interop key) attests at slot `epoch * slotsPerEpoch + (i + shift) %
 * slotsPerEpoch` in committee 0, proposes slots s with (s + shift) % genesis validators == i, and
 * sits in the sync committee. Every slot has a block; its root is sha256("block" || slot), or,
 * after `reorg(from)` replaced the blocks from `from` on, sha256("block" || slot || generation),
 * the generation counting the re-orgs that replaced it. An epoch's shift is the generation of the
 * block its duties depend on (as the Beacon API's dependent_root names it: the last block two
 * epochs before for attesters, one epoch before for proposers), so it is 0 until a re-org reaches
 * that block, and a re-org moves the duties that depend on the blocks it replaced. Validators
 * added with `addValidator()` are known at once and active (in committees) from the next epoch.
 * Submissions are parsed with @lodestar/types (a malformed body is a 400, as on a real node) and
 * recorded as JSON. In builder mode (`builder = true`, from Bellatrix on) v3 block production
 * answers the block it would produce blinded, as a node does when a builder's bid wins.
 */
import { aggregateSerializedSignatures } from "@chainsafe/blst";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ForkName, type ForkPostBellatrix, isForkPostBellatrix, isForkPostDeneb, isForkPostElectra } from "@lodestar/params";
import { ssz, sszTypesFor, type BeaconBlock, type BlindedBeaconBlock, type phase0 } from "@lodestar/types";
import { BitArray } from "@chainsafe/ssz";
import { toHex, fromHex } from "../../../services/core/hex.js";
import { interopSecretKey } from "../../system/lodestar/interop.js";

export interface BeaconDoubleOptions {
  /** Slot length; the double publishes it as SLOT_DURATION_MS in config/spec. Default 100 ms. */
  readonly slotMs?: number;
  /** Default 8 (the minimal preset). */
  readonly slotsPerEpoch?: number;
  /** How many (interop) validators the chain has. Default 8. */
  readonly validators?: number;
  /** The fork of every epoch: decides the shapes of attestations, aggregates and blocks. Default altair. */
  readonly fork?: ForkName;
  /** Reported by /eth/v1/node/version. */
  readonly version?: string;
  /** How long from now the chain starts (rounded up to a whole second; negative: it started that long ago). Default one slot. */
  readonly genesisDelayMs?: number;
}

export interface Submission {
  readonly endpoint: string;
  /** The Eth-Consensus-Version header, if sent. */
  readonly consensusVersion: string | undefined;
  readonly body: unknown;
}

/** A scripted fault: answer `status` (default 500) to requests whose path starts with `path`, `times` times (default always). */
export interface Fault {
  readonly status?: number;
  readonly path?: string;
  readonly times?: number;
}

interface Route {
  readonly method: "GET" | "POST";
  readonly pattern: RegExp;
  readonly handle: (match: RegExpExecArray, query: URLSearchParams, body: unknown, request: IncomingMessage) => Answer;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

export class BeaconDouble {
  readonly slotMs: number;
  readonly slotsPerEpoch: number;
  readonly fork: ForkName;
  /** Milliseconds since the epoch; a whole second, as genesis_time is in seconds. */
  readonly genesisMs: number;
  /** Every accepted submission, in order. */
  readonly submissions: Submission[] = [];
  /** Every request received, as "METHOD /path", faults included. */
  readonly requests: string[] = [];
  /** When true, /eth/v1/node/health answers 206 and duties 503, as a syncing node does. */
  syncing = false;
  /**
   * When true (and the fork is Bellatrix or later), v3 block production answers blinded blocks:
   * a builder's bid won (MEV-boost). v2 production answers full blocks either way, as on a real node.
   */
  builder = false;

  private readonly version: string;
  private server: Server | undefined;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly events = new Set<ServerResponse>();
  private ticker: NodeJS.Timeout | undefined;
  private faults: { status: number; path: string; remaining: number }[] = [];
  private delayMs = 0;
  private readonly routes: Route[];
  /** Every validator, by index: its key and the epoch from which it is in committees. */
  private readonly validators: { pubkey: Uint8Array; activationEpoch: number }[];
  /** Proposers are drawn from the validators of genesis: adding one changes no epoch's proposers. */
  private readonly genesisValidators: number;
  /** The first slot each scripted re-org replaced, in order. */
  private readonly reorgs: number[] = [];

  private constructor(options: BeaconDoubleOptions) {
    this.slotMs = options.slotMs ?? 100;
    this.slotsPerEpoch = options.slotsPerEpoch ?? 8;
    this.fork = options.fork ?? ForkName.altair;
    this.version = options.version ?? "BeaconDouble/v0.1.0";
    // Genesis one slot (or the given delay) from now, rounded up to a whole second: the first
    // duties are in the future.
    this.genesisMs = Math.ceil((Date.now() + (options.genesisDelayMs ?? this.slotMs)) / 1000) * 1000;
    this.genesisValidators = options.validators ?? 8;
    this.validators = Array.from({ length: this.genesisValidators }, (_, i) => ({ pubkey: interopSecretKey(i).toPublicKey().toBytes(), activationEpoch: 0 }));
    this.routes = this.makeRoutes();
  }

  static async start(options: BeaconDoubleOptions = {}): Promise<BeaconDouble> {
    const double = new BeaconDouble(options);
    await double.up();
    return double;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The current slot (negative before genesis). */
  currentSlot(now = Date.now()): number {
    return Math.floor((now - this.genesisMs) / this.slotMs);
  }

  /** When `slot` starts, in ms since the epoch. */
  slotStartMs(slot: number): number {
    return this.genesisMs + slot * this.slotMs;
  }

  /** Every validator's key, by index (interop keys 0, 1, ...). */
  get pubkeys(): readonly Uint8Array[] {
    return this.validators.map((v) => v.pubkey);
  }

  /** The root of the block at `slot` on the current chain. */
  blockRoot(slot: number): Uint8Array {
    const generation = this.generation(slot);
    const seed = Buffer.alloc(generation === 0 ? 13 : 21);
    seed.write("block");
    seed.writeBigUInt64LE(BigInt(slot), 5);
    if (generation > 0) seed.writeBigUInt64LE(BigInt(generation), 13);
    return new Uint8Array(createHash("sha256").update(seed).digest());
  }

  /**
   * Replaces the blocks from `fromSlot` on (a re-org to another branch): their roots change, and
   * so do the duties of the epochs that depend on them. Head subscribers get the new head at once.
   */
  reorg(fromSlot: number): void {
    this.reorgs.push(fromSlot);
    this.emitHead(this.currentSlot());
  }

  /** Adds the next interop validator: known now (pending), in committees from the next epoch. Returns its index. */
  addValidator(): number {
    const index = this.validators.length;
    this.validators.push({ pubkey: interopSecretKey(index).toPublicKey().toBytes(), activationEpoch: Math.max(0, this.epochOf(this.currentSlot())) + 1 });
    return index;
  }

  /** The slot at which validator `index` attests in `epoch`, or undefined while it is not active. */
  attesterSlot(index: number, epoch: number): number | undefined {
    const validator = this.validators[index];
    if (validator === undefined || validator.activationEpoch > epoch) return undefined;
    return epoch * this.slotsPerEpoch + ((index + this.generation(this.attesterDependentSlot(epoch))) % this.slotsPerEpoch);
  }

  /** The validators attesting at `slot` (committee 0, the only one), in committee order. */
  committee(slot: number): number[] {
    const epoch = this.epochOf(slot);
    return this.validators.map((_, i) => i).filter((i) => this.attesterSlot(i, epoch) === slot);
  }

  /** The validator proposing at `slot`. */
  proposer(slot: number): number {
    return (slot + this.generation(this.proposerDependentSlot(this.epochOf(slot)))) % this.genesisValidators;
  }

  /** Submissions to one endpoint, e.g. "POST /eth/v1/beacon/pool/attestations". */
  submitted(endpoint: string): unknown[] {
    return this.submissions.filter((s) => s.endpoint === endpoint).map((s) => s.body);
  }

  /** Adds a scripted fault; the first matching fault answers. */
  fail(fault: Fault = {}): void {
    this.faults.push({ status: fault.status ?? 500, path: fault.path ?? "/", remaining: fault.times ?? Infinity });
  }

  /** Delays every answer by `ms` (0 to stop). */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** Clears faults and delays. */
  heal(): void {
    this.faults = [];
    this.delayMs = 0;
    this.syncing = false;
  }

  /** Stops answering: the port refuses connections, open connections are cut. */
  async down(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    clearInterval(this.ticker);
    for (const response of this.events) response.destroy();
    this.events.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answers again, on the same port as before (a fresh one the first time). */
  async up(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((request, response) => void this.serve(request, response));
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.startTicker();
  }

  stop(): Promise<void> {
    return this.down();
  }

  // --- HTTP ---

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://double");
    this.requests.push(`${request.method} ${url.pathname}`);
    let text = "";
    for await (const chunk of request) text += String(chunk);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.server === undefined) return void response.destroy(); // went down meanwhile

    const fault = this.faults.find((f) => f.remaining > 0 && url.pathname.startsWith(f.path));
    if (fault !== undefined) {
      fault.remaining--;
      return send(response, { status: fault.status, body: { code: fault.status, message: "scripted fault" } });
    }
    if (url.pathname === "/eth/v1/events") return this.subscribe(url.searchParams, response);

    for (const route of this.routes) {
      const match = route.method === request.method ? route.pattern.exec(url.pathname) : null;
      if (match === null) continue;
      let answer: Answer;
      try {
        answer = route.handle(match, url.searchParams, text === "" ? undefined : JSON.parse(text), request);
      } catch (error) {
        answer = { status: 400, body: { code: 400, message: error instanceof Error ? error.message : String(error) } };
      }
      return send(response, answer);
    }
    send(response, { status: 404, body: { code: 404, message: `no route ${request.method} ${url.pathname}` } });
  }

  private subscribe(query: URLSearchParams, response: ServerResponse): void {
    if (!(query.get("topics") ?? "").split(",").includes("head")) {
      return send(response, { status: 400, body: { code: 400, message: "only the head topic is served" } });
    }
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    response.flushHeaders();
    this.events.add(response);
    response.once("close", () => this.events.delete(response));
  }

  /** A head event for `slot`'s block, with the dependent roots of its epoch's and the next epoch's duties. */
  private emitHead(slot: number): void {
    if (slot < 0) return;
    const epoch = this.epochOf(slot);
    const data = {
      slot: String(slot),
      block: toHex(this.blockRoot(slot)),
      epoch_transition: slot % this.slotsPerEpoch === 0,
      previous_duty_dependent_root: toHex(this.blockRoot(this.attesterDependentSlot(epoch))),
      current_duty_dependent_root: toHex(this.blockRoot(this.proposerDependentSlot(epoch))),
    };
    for (const response of this.events) response.write(`event: head\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private startTicker(): void {
    // Each slot's start, a head event for its block (every slot has one in this chain).
    const tick = () => {
      const slot = this.currentSlot();
      this.emitHead(slot);
      this.ticker = setTimeout(tick, this.slotStartMs(slot + 1) - Date.now());
      this.ticker.unref();
    };
    this.ticker = setTimeout(tick, Math.max(0, this.slotStartMs(this.currentSlot() + 1) - Date.now()));
    this.ticker.unref();
  }

  // --- the chain ---

  private epochOf(slot: number): number {
    return Math.floor(slot / this.slotsPerEpoch);
  }

  /** How many re-orgs replaced the block at `slot`. */
  private generation(slot: number): number {
    return this.reorgs.filter((from) => from <= slot).length;
  }

  /** The block attester duties of `epoch` depend on: the last of epoch - 2 (genesis on underflow). */
  private attesterDependentSlot(epoch: number): number {
    return Math.max(0, (epoch - 1) * this.slotsPerEpoch - 1);
  }

  /** The block proposer duties of `epoch` depend on: the last of epoch - 1 (genesis on underflow). */
  private proposerDependentSlot(epoch: number): number {
    return Math.max(0, epoch * this.slotsPerEpoch - 1);
  }

  private attestationData(slot: number, committeeIndex: number) {
    const epoch = Math.floor(slot / this.slotsPerEpoch);
    const checkpoint = (e: number) => ({ epoch: e, root: this.blockRoot(Math.max(0, e * this.slotsPerEpoch)) });
    return {
      slot,
      // From Electra on, the committee is in committee_bits and the data's index is 0.
      index: isForkPostElectra(this.fork) ? 0 : committeeIndex,
      beaconBlockRoot: this.blockRoot(slot),
      source: checkpoint(Math.max(0, epoch - 1)),
      target: checkpoint(epoch),
    };
  }

  private validatorIndex(id: string): number | undefined {
    if (/^\d+$/.test(id)) return Number(id) < this.pubkeys.length ? Number(id) : undefined;
    const index = this.pubkeys.findIndex((pubkey) => toHex(pubkey) === id.toLowerCase());
    return index === -1 ? undefined : index;
  }

  private record(request: IncomingMessage, endpoint: string, body: unknown): Answer {
    const header = request.headers["eth-consensus-version"];
    this.submissions.push({ endpoint, consensusVersion: typeof header === "string" ? header : undefined, body });
    return { status: 200 };
  }

  /** v2 endpoints (and v1 from Deneb on for blocks) need the header naming the fork of the body. */
  private requireVersion(request: IncomingMessage): ForkName {
    const header = request.headers["eth-consensus-version"];
    if (header !== this.fork) throw new Error(`Eth-Consensus-Version is ${String(header)}, expected ${this.fork}`);
    return this.fork;
  }

  private unlessSyncing(answer: () => Answer): Answer {
    return this.syncing ? { status: 503, body: { code: 503, message: "node is syncing" } } : answer();
  }

  private makeRoutes(): Route[] {
    const data = (body: unknown, extra: Record<string, unknown> = {}): Answer => ({ status: 200, body: { data: body, ...extra } });
    const versioned = (json: unknown): Answer => ({
      status: 200,
      body: { version: this.fork, data: json },
      headers: { "eth-consensus-version": this.fork },
    });
    const array = (body: unknown, what: string): unknown[] => {
      if (!Array.isArray(body)) throw new Error(`${what}: expected a JSON array`);
      return body;
    };
    const epochOf = (match: RegExpExecArray) => Number(match[1]);
    const types = sszTypesFor(this.fork);
    const forkEpoch = (fork: ForkName) => (fork === ForkName.phase0 || Object.values(ForkName).indexOf(fork) <= Object.values(ForkName).indexOf(this.fork) ? "0" : "18446744073709551615");

    return [
      { method: "GET", pattern: /^\/eth\/v1\/node\/version$/, handle: () => data({ version: this.version }) },
      { method: "GET", pattern: /^\/eth\/v1\/node\/health$/, handle: () => ({ status: this.syncing ? 206 : 200 }) },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/node\/syncing$/,
        handle: () => data({ head_slot: String(Math.max(0, this.currentSlot())), sync_distance: this.syncing ? "64" : "0", is_syncing: this.syncing, is_optimistic: false, el_offline: false }),
      },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/beacon\/genesis$/,
        handle: () => data({ genesis_time: String(this.genesisMs / 1000), genesis_validators_root: toHex(new Uint8Array(32).fill(0x42)), genesis_fork_version: "0x00000001" }),
      },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/config\/spec$/,
        handle: () =>
          data({
            PRESET_BASE: "minimal",
            SLOTS_PER_EPOCH: String(this.slotsPerEpoch),
            SECONDS_PER_SLOT: String(Math.max(1, Math.round(this.slotMs / 1000))),
            SLOT_DURATION_MS: String(this.slotMs),
            CONFIG_NAME: "beacon-double",
            ...Object.fromEntries(
              Object.values(ForkName)
                .filter((f) => f !== ForkName.phase0)
                .flatMap((f, i) => [
                  [`${f.toUpperCase()}_FORK_EPOCH`, forkEpoch(f)],
                  [`${f.toUpperCase()}_FORK_VERSION`, toHex(Uint8Array.of(i + 1, 0, 0, 1))],
                ]),
            ),
          }),
      },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/beacon\/states\/[^/]+\/fork$/,
        handle: () => {
          const seq = Object.values(ForkName).indexOf(this.fork);
          const version = (n: number) => toHex(Uint8Array.of(n, 0, 0, 1));
          return data({ previous_version: version(Math.max(0, seq - 1)), current_version: version(seq), epoch: "0" });
        },
      },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/beacon\/states\/[^/]+\/validators$/,
        handle: (_m, query) => {
          const ids = query.getAll("id").flatMap((id) => id.split(","));
          const indices = ids.length === 0 ? this.pubkeys.map((_, i) => i) : ids.map((id) => this.validatorIndex(id)).filter((i) => i !== undefined);
          const epoch = Math.max(0, this.epochOf(this.currentSlot()));
          return data(
            indices.map((i) => ({
              index: String(i),
              balance: "32000000000",
              status: this.validators[i]!.activationEpoch > epoch ? "pending_queued" : "active_ongoing",
              validator: ssz.phase0.Validator.toJson({
                ...ssz.phase0.Validator.defaultValue(),
                pubkey: this.pubkeys[i] as Uint8Array,
                effectiveBalance: 32_000_000_000,
                activationEpoch: this.validators[i]!.activationEpoch,
                exitEpoch: Infinity,
                withdrawableEpoch: Infinity,
              }),
            })),
          );
        },
      },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/beacon\/blocks\/([^/]+)\/root$/,
        handle: (match) => {
          const id = match[1] as string;
          const slot = id === "head" ? Math.max(0, this.currentSlot()) : /^\d+$/.test(id) ? Number(id) : undefined;
          if (slot === undefined) return { status: 400, body: { code: 400, message: `block id ${id} is not served by the double` } };
          return data({ root: toHex(this.blockRoot(slot)) });
        },
      },
      {
        method: "GET",
        pattern: /^\/eth\/v(1|2)\/beacon\/blocks\/([^/]+)\/attestations$/,
        handle: (match) => this.blockAttestations(match[1] === "2", match[2] as string),
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/validator\/duties\/attester\/(\d+)$/,
        handle: (match, _q, body) =>
          this.unlessSyncing(() => {
            const epoch = epochOf(match);
            const duties = array(body, "validator indices").flatMap((id) => {
              const i = this.validatorIndex(String(id));
              if (i === undefined) throw new Error(`unknown validator index ${String(id)}`);
              const slot = this.attesterSlot(i, epoch);
              if (slot === undefined) return []; // not active yet: no duty, as on a real node
              const committee = this.committee(slot);
              return {
                pubkey: toHex(this.pubkeys[i] as Uint8Array),
                validator_index: String(i),
                committee_index: "0",
                committee_length: String(committee.length),
                committees_at_slot: "1",
                validator_committee_index: String(committee.indexOf(i)),
                slot: String(slot),
              };
            });
            return data(duties, { dependent_root: toHex(this.blockRoot(this.attesterDependentSlot(epoch))), execution_optimistic: false });
          }),
      },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/validator\/duties\/proposer\/(\d+)$/,
        handle: (match) =>
          this.unlessSyncing(() => {
            const epoch = epochOf(match);
            const slots = Array.from({ length: this.slotsPerEpoch }, (_, k) => epoch * this.slotsPerEpoch + k);
            const duties = slots.map((slot) => {
              const i = this.proposer(slot);
              return { pubkey: toHex(this.pubkeys[i] as Uint8Array), validator_index: String(i), slot: String(slot) };
            });
            return data(duties, { dependent_root: toHex(this.blockRoot(this.proposerDependentSlot(epoch))), execution_optimistic: false });
          }),
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/validator\/duties\/sync\/(\d+)$/,
        handle: (_m, _q, body) =>
          this.unlessSyncing(() =>
            data(
              array(body, "validator indices").map((id) => {
                const i = this.validatorIndex(String(id));
                if (i === undefined) throw new Error(`unknown validator index ${String(id)}`);
                return { pubkey: toHex(this.pubkeys[i] as Uint8Array), validator_index: String(i), validator_sync_committee_indices: [String(i)] };
              }),
            ),
          ),
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/validator\/beacon_committee_subscriptions$/,
        handle: (_m, _q, body, request) => this.record(request, "POST /eth/v1/validator/beacon_committee_subscriptions", array(body, "subscriptions")),
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/validator\/sync_committee_subscriptions$/,
        handle: (_m, _q, body, request) => this.record(request, "POST /eth/v1/validator/sync_committee_subscriptions", array(body, "subscriptions")),
      },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/validator\/attestation_data$/,
        handle: (_m, query) =>
          this.unlessSyncing(() => data(ssz.phase0.AttestationData.toJson(this.attestationData(Number(query.get("slot")), Number(query.get("committee_index")))))),
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/beacon\/pool\/attestations$/,
        handle: (_m, _q, body, request) => {
          if (isForkPostElectra(this.fork)) throw new Error(`v1 attestations are not accepted at ${this.fork}: use v2`);
          const attestations = array(body, "attestations").map((a) => ssz.phase0.Attestation.toJson(ssz.phase0.Attestation.fromJson(a)));
          return this.record(request, "POST /eth/v1/beacon/pool/attestations", attestations);
        },
      },
      {
        method: "POST",
        pattern: /^\/eth\/v2\/beacon\/pool\/attestations$/,
        handle: (_m, _q, body, request) => {
          const fork = this.requireVersion(request);
          const type = isForkPostElectra(fork) ? ssz.electra.SingleAttestation : ssz.phase0.Attestation;
          const attestations = array(body, "attestations").map((a) => type.toJson(type.fromJson(a) as never));
          return this.record(request, "POST /eth/v2/beacon/pool/attestations", attestations);
        },
      },
      {
        method: "GET",
        pattern: /^\/eth\/v(1|2)\/validator\/aggregate_attestation$/,
        handle: (match, query) => this.aggregate(match[1] === "2", query),
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/validator\/aggregate_and_proofs$/,
        handle: (_m, _q, body, request) => {
          const type = ssz.phase0.SignedAggregateAndProof;
          return this.record(request, "POST /eth/v1/validator/aggregate_and_proofs", array(body, "aggregates").map((a) => type.toJson(type.fromJson(a))));
        },
      },
      {
        method: "POST",
        pattern: /^\/eth\/v2\/validator\/aggregate_and_proofs$/,
        handle: (_m, _q, body, request) => {
          const type = sszTypesFor(this.requireVersion(request)).SignedAggregateAndProof;
          return this.record(request, "POST /eth/v2/validator/aggregate_and_proofs", array(body, "aggregates").map((a) => type.toJson(type.fromJson(a) as never)));
        },
      },
      {
        method: "GET",
        pattern: /^\/eth\/v(2|3)\/validator\/blocks\/(\d+)$/,
        handle: (match, query) => {
          const slot = Number(match[2]);
          const randaoReveal = fromHex(query.get("randao_reveal") ?? "", "randao_reveal", 96);
          const block = {
            ...types.BeaconBlock.defaultValue(),
            slot,
            proposerIndex: this.proposer(slot),
            parentRoot: this.blockRoot(Math.max(0, slot - 1)),
          } as ReturnType<typeof types.BeaconBlock.defaultValue>;
          block.body = { ...block.body, randaoReveal, graffiti: fromHex(query.get("graffiti") ?? toHex(new Uint8Array(32)), "graffiti", 32) };
          if (match[1] === "2") {
            if (isForkPostDeneb(this.fork)) return { status: 400, body: { code: 400, message: "v2 block production ended with Deneb: use v3" } };
            return versioned(types.BeaconBlock.toJson(block as never));
          }
          const v3 = (blinded: boolean, json: unknown): Answer => ({
            status: 200,
            body: { version: this.fork, execution_payload_blinded: blinded, execution_payload_value: "0", consensus_block_value: "0", data: json },
            headers: { "eth-consensus-version": this.fork, "eth-execution-payload-blinded": String(blinded), "eth-execution-payload-value": "0", "eth-consensus-block-value": "0" },
          });
          if (this.builder && isForkPostBellatrix(this.fork)) {
            return v3(true, sszTypesFor(this.fork as ForkName.bellatrix).BlindedBeaconBlock.toJson(blindedBlock(this.fork, block as BeaconBlock<ForkPostBellatrix>) as never));
          }
          const json = isForkPostDeneb(this.fork)
            ? sszTypesFor(this.fork).BlockContents.toJson({ block, kzgProofs: [], blobs: [] } as never)
            : types.BeaconBlock.toJson(block as never);
          return v3(false, json);
        },
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/beacon\/blocks$/,
        handle: (_m, _q, body, request) => {
          if (isForkPostDeneb(this.fork)) throw new Error("blocks of Deneb on carry blobs: publish with v2");
          return this.record(request, "POST /eth/v1/beacon/blocks", types.SignedBeaconBlock.toJson(types.SignedBeaconBlock.fromJson(body) as never));
        },
      },
      {
        method: "POST",
        pattern: /^\/eth\/v2\/beacon\/blocks$/,
        handle: (_m, _q, body, request) => {
          const fork = this.requireVersion(request);
          const type = isForkPostDeneb(fork) ? sszTypesFor(fork).SignedBlockContents : sszTypesFor(fork).SignedBeaconBlock;
          return this.record(request, "POST /eth/v2/beacon/blocks", type.toJson(type.fromJson(body) as never));
        },
      },
      {
        method: "POST",
        pattern: /^\/eth\/v2\/beacon\/blinded_blocks$/,
        handle: (_m, _q, body, request) => {
          const fork = this.requireVersion(request);
          if (!isForkPostBellatrix(fork)) throw new Error(`no blinded blocks at ${fork}: they came with Bellatrix`);
          const type = sszTypesFor(fork as ForkName.bellatrix).SignedBlindedBeaconBlock;
          return this.record(request, "POST /eth/v2/beacon/blinded_blocks", type.toJson(type.fromJson(body)));
        },
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/beacon\/pool\/sync_committees$/,
        handle: (_m, _q, body, request) => {
          const type = ssz.altair.SyncCommitteeMessage;
          return this.record(request, "POST /eth/v1/beacon/pool/sync_committees", array(body, "messages").map((m) => type.toJson(type.fromJson(m))));
        },
      },
      {
        method: "GET",
        pattern: /^\/eth\/v1\/validator\/sync_committee_contribution$/,
        handle: (_m, query) => {
          const contribution = {
            ...ssz.altair.SyncCommitteeContribution.defaultValue(),
            slot: Number(query.get("slot")),
            subcommitteeIndex: Number(query.get("subcommittee_index")),
            beaconBlockRoot: fromHex(query.get("beacon_block_root") ?? "", "beacon_block_root", 32),
          };
          return data(ssz.altair.SyncCommitteeContribution.toJson(contribution));
        },
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/validator\/contribution_and_proofs$/,
        handle: (_m, _q, body, request) => {
          const type = ssz.altair.SignedContributionAndProof;
          return this.record(request, "POST /eth/v1/validator/contribution_and_proofs", array(body, "contributions").map((c) => type.toJson(type.fromJson(c))));
        },
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/beacon\/pool\/voluntary_exits$/,
        handle: (_m, _q, body, request) =>
          this.record(request, "POST /eth/v1/beacon/pool/voluntary_exits", ssz.phase0.SignedVoluntaryExit.toJson(ssz.phase0.SignedVoluntaryExit.fromJson(body))),
      },
      {
        method: "POST",
        pattern: /^\/eth\/v1\/validator\/register_validator$/,
        handle: (_m, _q, body, request) => {
          const type = ssz.bellatrix.SignedValidatorRegistrationV1;
          return this.record(request, "POST /eth/v1/validator/register_validator", array(body, "registrations").map((r) => type.toJson(type.fromJson(r))));
        },
      },
    ];
  }

  /** The aggregate of the attestations submitted for one data root (and, v2, one committee), or 404. */
  private aggregate(v2: boolean, query: URLSearchParams): Answer {
    if (v2 !== isForkPostElectra(this.fork)) {
      return { status: 400, body: { code: 400, message: `aggregate_attestation v${v2 ? 2 : 1} does not serve ${this.fork}` } };
    }
    const root = query.get("attestation_data_root") ?? "";
    const committee = Number(query.get("committee_index"));
    const found = this.aggregates(Number(query.get("slot"))).find(
      (a) => a.root === root && (!v2 || (a.json as { committee_bits: string }).committee_bits === toHex(committeeBits(committee).uint8Array)),
    );
    if (found === undefined) return { status: 404, body: { code: 404, message: `no attestation for root ${root}` } };
    return { status: 200, body: { version: this.fork, data: found.json }, headers: { "eth-consensus-version": this.fork } };
  }

  /** Block `slot` includes the aggregates of the attestations submitted for the slot before. */
  private blockAttestations(v2: boolean, blockId: string): Answer {
    if (v2 !== isForkPostElectra(this.fork)) {
      return { status: 400, body: { code: 400, message: `block attestations v${v2 ? 2 : 1} do not serve ${this.fork}` } };
    }
    if (!/^\d+$/.test(blockId)) return { status: 400, body: { code: 400, message: `block id ${blockId} is not served by the double` } };
    return { status: 200, body: { version: this.fork, data: this.aggregates(Number(blockId) - 1).map((a) => a.json) } };
  }

  /**
   * The attestations submitted for `slot`, aggregated as an aggregator would: per data root (and
   * committee, from Electra on), bits united and signatures aggregated. As JSON, with their root.
   */
  private aggregates(slot: number): { root: string; json: unknown }[] {
    const groups = new Map<string, { bits: boolean[]; signatures: Uint8Array[]; data: phase0.AttestationData; committee: number }>();
    const add = (key: string, data: phase0.AttestationData, committee: number, length: number, bit: (i: number) => boolean, signature: Uint8Array) => {
      const group = groups.get(key) ?? { bits: new Array<boolean>(length).fill(false), signatures: [], data, committee };
      // An attestation already in the aggregate (a distributed validator's nodes each submit it) adds nothing.
      if (group.bits.some((b, i) => b && bit(i))) return;
      group.bits = group.bits.map((b, i) => b || bit(i));
      group.signatures.push(signature);
      groups.set(key, group);
    };
    const rootOf = (data: phase0.AttestationData) => toHex(ssz.phase0.AttestationData.hashTreeRoot(data));
    if (isForkPostElectra(this.fork)) {
      for (const json of this.submitted("POST /eth/v2/beacon/pool/attestations").flat()) {
        const a = ssz.electra.SingleAttestation.fromJson(json);
        if (a.data.slot !== slot) continue;
        const members = this.committee(slot);
        add(`${rootOf(a.data)}/${a.committeeIndex}`, a.data, a.committeeIndex, members.length, (i) => members[i] === a.attesterIndex, a.signature);
      }
    } else {
      for (const json of this.submitted("POST /eth/v1/beacon/pool/attestations").flat()) {
        const a = ssz.phase0.Attestation.fromJson(json);
        if (a.data.slot !== slot) continue;
        add(rootOf(a.data), a.data, a.data.index, a.aggregationBits.bitLen, (i) => a.aggregationBits.get(i), a.signature);
      }
    }
    return [...groups.values()].map(({ bits, signatures, data, committee }) => {
      const attestation = { aggregationBits: BitArray.fromBoolArray(bits), data, signature: aggregateSerializedSignatures(signatures, true).toBytes() };
      const json = isForkPostElectra(this.fork)
        ? ssz.electra.Attestation.toJson({ ...attestation, committeeBits: committeeBits(committee) })
        : ssz.phase0.Attestation.toJson(attestation);
      return { root: rootOf(data), json };
    });
  }
}

/**
 * `block` as a beacon node answers it when a builder supplies the payload: the execution payload
 * replaced by its header, each of the payload's lists (transactions, withdrawals) by its root and
 * every other field copied, so the blinded block's root is the full block's.
 */
export function blindedBlock(fork: ForkPostBellatrix, block: BeaconBlock<ForkPostBellatrix>): BlindedBeaconBlock {
  // Typed as Bellatrix's, the fields are the fork's at run time.
  const types = ssz[fork as ForkName.bellatrix];
  const { executionPayload, ...body } = (block as BeaconBlock<ForkName.bellatrix>).body;
  const payload = executionPayload as unknown as Record<string, unknown>;
  const listTypes = types.ExecutionPayload.fields as unknown as Record<string, { hashTreeRoot(value: unknown): Uint8Array }>;
  const header = Object.fromEntries(
    Object.keys(types.ExecutionPayloadHeader.fields).map((field) => {
      if (field in payload) return [field, payload[field]];
      const list = field.replace(/Root$/, "");
      return [field, listTypes[list]!.hashTreeRoot(payload[list])];
    }),
  );
  return { ...block, body: { ...body, executionPayloadHeader: header } } as unknown as BlindedBeaconBlock;
}

function committeeBits(committee: number): BitArray {
  return BitArray.fromSingleBit(ssz.electra.CommitteeBits.lengthBits, committee);
}

function send(response: ServerResponse, { status, body, headers }: Answer): void {
  response.writeHead(status, { ...(body !== undefined && { "content-type": "application/json" }), ...headers });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}
