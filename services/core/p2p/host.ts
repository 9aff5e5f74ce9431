/**
 * ClusterHost: a node's libp2p host among the operators of its cluster, and nobody else.
 *
 * libp2p over TCP, noise, yamux, identify and ping; a peer set taken from the cluster definition
 * (multiaddrs may be DNS names, e.g. Kubernetes Services), kept connected by redialing with
 * backoff, grown only by addMember; a gater that admits only those peers. Protocols are typed (codec.ts); each peer
 * and protocol gets one long-lived stream, so a message is one frame on an open stream.
 *
 *     const host = new ClusterHost({ identity, operators: definition.operators, listen, registry });
 *     host.handle(PartialSignatures, (msg, from) => { ... });   // before start()
 *     await host.start();
 *     await host.waitForPeers();
 *     await host.broadcast(PartialSignatures, msg);
 *     const answer = await host.send(peerId, SomeRequest, req);
 */
import "../polyfills.js"; // libp2p needs Promise.withResolvers, which Node 20 lacks
import { EventEmitter, setMaxListeners } from "node:events";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import type { Libp2p, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import type { Registry } from "prom-client";
import { NektarError } from "../errors.js";
import { type Logger, createLogger } from "../log/index.js";
import { type Handler, OutboundChannel, serveInbound } from "./channel.js";
import { FrameKind, type Protocol, decodePayload, encodeFrame, encodePayload } from "./codec.js";
import { P2pError } from "./errors.js";
import { clusterGater } from "./gater.js";
import type { Identity } from "./identity.js";
import { P2pMetrics } from "./metrics.js";
import { TokenBucket } from "./ratelimit.js";
import { type Backoff, DEFAULT_BACKOFF, Redialer } from "./redial.js";
import { lazyWindowUpdates } from "./yamux.js";

export type { Handler };

/** An operator of the cluster, as the host knows it. */
export interface Peer {
  /** Position in the definition's operator list (0-based): the DKG's share index is index + 1. */
  readonly index: number;
  readonly name: string;
  readonly peerId: string;
}

/** What the host needs to know of each operator; a definition's or a lock file's operators fit. */
export interface ClusterMember {
  readonly name: string;
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
}

export interface ClusterHostOptions {
  identity: Identity;
  /** Every operator, this node included (found by its peer id). */
  operators: readonly ClusterMember[];
  /** Addresses to listen on, e.g. ["/ip4/0.0.0.0/tcp/3610"]. */
  listen: readonly string[];
  registry: Registry;
  logger?: Logger;
  /** How long `send` waits for a connection and a response by default. Default 5 s. */
  requestTimeoutMs?: number;
  /** How long one dial (TCP connect and handshake) may take. Default 6 s. */
  dialTimeoutMs?: number;
  /** How often each connection is pinged (liveness and the RTT metric). Default 10 s. */
  pingIntervalMs?: number;
  redial?: Partial<Backoff>;
}

export interface ClusterHostEvents {
  "peer:connect": [Peer];
  "peer:disconnect": [Peer];
}

export interface BroadcastResult {
  /** Peers the message was written to. */
  sent: Peer[];
  /** Peers it was not: not connected (broadcast does not dial), or their stream failed. */
  failed: { peer: Peer; error: P2pError }[];
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
/** One stream per peer and protocol is the norm; a few more cover a stream being replaced. */
const MAX_STREAMS_PER_PROTOCOL = 4;

export class ClusterHost extends EventEmitter<ClusterHostEvents> {
  /** This node. */
  readonly self: Peer;
  /** Every operator, this node included, in definition order (then in the order added). */
  get operators(): readonly Peer[] {
    return this.members;
  }

  private readonly members: Peer[];
  private readonly byPeerId: Map<string, Peer>;
  /** The gater reads this map: a member added to it is admitted from then on. */
  private readonly addresses: Map<string, readonly string[]>;
  /** Parsed once: parsing a secp256k1 peer id decompresses its public key. */
  private readonly libp2pPeerIds: Map<string, PeerId>;
  private readonly connected = new Set<string>();
  private readonly handlers = new Map<string, { protocol: Protocol<unknown, unknown>; handler: Handler<unknown, unknown> }>();
  private readonly registered = new Set<string>();
  /** Every operator but this one. */
  private readonly others: Peer[];
  /** Per protocol id, by peer index: the stream to that peer, being opened or open. */
  private readonly channels = new Map<string, (ChannelSlot | undefined)[]>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly metrics: P2pMetrics;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly redialer: Redialer;
  private readonly backoff: Backoff;
  private node: Libp2p | undefined;
  private state: "new" | "started" | "stopped" = "new";

  constructor(private readonly opts: ClusterHostOptions) {
    super();
    this.members = opts.operators.map((op, index) => ({ index, name: op.name, peerId: op.peerId }));
    this.byPeerId = new Map(this.members.map((p) => [p.peerId, p]));
    this.addresses = new Map(opts.operators.map((op) => [op.peerId, op.multiaddrs]));
    this.libp2pPeerIds = new Map(opts.operators.map((op) => [op.peerId, parsePeerId(op)]));
    const self = this.byPeerId.get(opts.identity.peerId.toString());
    if (self === undefined) throw new P2pError("not_operator", `identity ${opts.identity.peerId.toString()} is not one of the cluster's operators`);
    this.self = self;
    this.others = this.members.filter((p) => p !== self);
    this.log = (opts.logger ?? createLogger("p2p")).child({ self: self.name });
    this.metrics = new P2pMetrics(opts.registry, () => this.rtts());
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.redial };
    this.redialer = new Redialer(
      async (peerId, signal) => {
        await this.libp2p.dial(this.libp2pPeerId(peerId), { signal });
      },
      (peerId) => this.connected.has(peerId),
      this.backoff,
      this.log,
    );
  }

  /** Operators this node is connected to now (this node not included). */
  get peers(): Peer[] {
    return this.operators.filter((p) => this.connected.has(p.peerId));
  }

  /** The addresses the host listens on, with its peer id (after start). */
  get multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((ma) => ma.toString());
  }

  /**
   * Serves `protocol` with `handler`. Register before start(): a peer's first message may
   * arrive as soon as the host listens, and a protocol without a handler refuses its stream.
   */
  handle<Req, Res>(protocol: Protocol<Req, Res>, handler: Handler<Req, Res>): void {
    if (this.handlers.has(protocol.id)) throw new Error(`protocol ${protocol.id} already has a handler`);
    const entry = { protocol: protocol as Protocol<unknown, unknown>, handler: handler as Handler<unknown, unknown> };
    this.handlers.set(protocol.id, entry);
    this.register(entry).catch((err: unknown) => this.log.error({ protocol: protocol.id, err: (err as Error).message }, "cannot serve protocol"));
  }

  /**
   * Admits one more operator, before or after start(): one that joined the cluster since (an
   * AVS operator opting in while the aggregator runs). Its connections pass the gater from now
   * on and, if it has addresses, it is dialed like the others. Returns its Peer (the existing
   * one if it is a member already).
   */
  async addMember(member: ClusterMember): Promise<Peer> {
    const known = this.byPeerId.get(member.peerId);
    if (known !== undefined) return known;
    const libp2pPeerId = parsePeerId(member);
    const peer: Peer = { index: this.members.length, name: member.name, peerId: member.peerId };
    this.members.push(peer);
    this.others.push(peer);
    this.byPeerId.set(peer.peerId, peer);
    this.libp2pPeerIds.set(peer.peerId, libp2pPeerId);
    this.addresses.set(peer.peerId, member.multiaddrs);
    if (this.state === "started") {
      await this.libp2p.peerStore.merge(libp2pPeerId, { multiaddrs: member.multiaddrs.map((a) => multiaddr(a)) });
      this.redial(peer);
    }
    this.log.info({ peer: peer.name, peerId: peer.peerId }, "operator added");
    return peer;
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`cluster host already ${this.state}; create a new one`);
    this.state = "started";
    const gater = clusterGater(this.addresses, (peerId) => {
      this.metrics.reject("gater");
      this.log.warn({ peerId }, "refused a connection from a peer that is not an operator");
    });
    this.node = await createLibp2p({
      privateKey: this.opts.identity.privateKey,
      addresses: { listen: [...this.opts.listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: gater,
      connectionManager: {
        // Operators may all reach this node from one address (loopback in tests, a NAT, a node's
        // SNAT in Kubernetes): the per-IP defaults (5 new connections a second, 10 pending) would
        // refuse a cluster starting at once. The gater, after the handshake, decides who stays.
        inboundConnectionThreshold: Math.max(5, 2 * this.operators.length),
        maxIncomingPendingConnections: Math.max(10, 2 * this.operators.length),
        addressDialTimeout: this.opts.dialTimeoutMs ?? 6_000,
        inboundUpgradeTimeout: this.opts.dialTimeoutMs ?? 6_000,
      },
      connectionMonitor: { pingInterval: this.opts.pingIntervalMs ?? 10_000 },
      nodeInfo: { name: "nektar" },
      services: {
        // Served, so any libp2p tool can ask a node what it speaks, but not run on every new
        // connection: the peers and their addresses are fixed by the signed definition, and
        // running it costs each side a signature and a verification per connection (measured:
        // 39 -> 21 ms of CPU per secp256k1 connection on loopback).
        identify: identify({ runOnConnectionOpen: false }),
        // Answers the connection monitor's pings: liveness and the RTT metric.
        ping: ping(),
      },
      start: false,
    });
    this.node.addEventListener("peer:connect", (evt) => this.onConnect(evt.detail));
    this.node.addEventListener("peer:disconnect", (evt) => this.onDisconnect(evt.detail));
    for (const entry of this.handlers.values()) await this.register(entry);
    for (const peer of this.others) {
      await this.node.peerStore.merge(this.libp2pPeerId(peer.peerId), { multiaddrs: this.addresses.get(peer.peerId)!.map((a) => multiaddr(a)) });
    }
    await this.node.start();
    this.log.info({ peerId: this.self.peerId, listen: this.multiaddrs }, "p2p host started");
    for (const peer of this.others) this.redial(peer);
  }

  async stop(): Promise<void> {
    if (this.state !== "started") return;
    this.state = "stopped";
    await this.redialer.stop();
    for (const slots of this.channels.values()) for (const slot of slots) slot?.opening.then((c) => c.close(), () => undefined);
    this.channels.clear();
    await this.node?.stop();
    this.connected.clear();
    this.metrics.peersConnected.set(0);
    this.log.info("p2p host stopped");
  }

  /**
   * Sends `message` to one operator, dialing it if need be. Resolves with the response for a
   * request/response protocol, once the message is written for a one-way one.
   */
  async send<Req, Res>(peerId: string, protocol: Protocol<Req, Res>, message: Req, opts: { timeoutMs?: number } = {}): Promise<Res> {
    const peer = this.operator(peerId);
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    const payload = encodePayload(protocol.request, message, protocol.maxRequestBytes, protocol.id);
    const signal = AbortSignal.timeout(timeoutMs);
    const channel = await this.channel(peer, protocol, signal);
    if (protocol.response === null) {
      await channel.message(payload, signal);
      return undefined as Res;
    }
    const response = await channel.request(payload, Math.max(1, deadline - performance.now()), signal);
    return decodePayload(protocol.response, response, protocol.id);
  }

  /**
   * Writes a one-way message to every connected operator but this one, encoding it once.
   * Peers not connected are reported, not dialed: the redialer is already on them.
   */
  async broadcast<Req>(protocol: Protocol<Req, void>, message: Req): Promise<BroadcastResult> {
    const payload = encodePayload(protocol.request, message, protocol.maxRequestBytes, protocol.id);
    // One frame for every peer: the streams only read it.
    const frame = encodeFrame({ kind: FrameKind.Message, payload });
    const slots = this.slots(protocol);
    const result: BroadcastResult = { sent: [], failed: [] };
    let signal: AbortSignal | undefined;
    const waits: Promise<void>[] = [];
    for (const peer of this.others) {
      if (!this.connected.has(peer.peerId)) {
        result.failed.push({ peer, error: new P2pError("not_connected", `${protocol.id}: not connected to ${peer.name}`) });
        continue;
      }
      // The usual case: the stream is open and has room, and takes the frame now.
      if (slots[peer.index]?.open?.tryWrite(frame, payload.length) === true) {
        result.sent.push(peer);
        continue;
      }
      // Otherwise the stream is opened, or drained, concurrently with the other peers'.
      if (signal === undefined) {
        signal = AbortSignal.timeout(this.requestTimeoutMs);
        setMaxListeners(Infinity, signal); // one listener per waiting peer
      }
      const bounded = signal;
      waits.push(
        this.channel(peer, protocol, bounded)
          .then((channel) => channel.write(frame, payload.length, bounded))
          .then(
            () => void result.sent.push(peer),
            (err: unknown) => void result.failed.push({ peer, error: err instanceof P2pError ? err : new P2pError("closed", String(err)) }),
          ),
      );
    }
    if (waits.length > 0) await Promise.all(waits);
    return result;
  }

  /** Resolves once connected to `peerIds` (default: every other operator); P2pError "timeout" if not in time. */
  async waitForPeers(opts: { peerIds?: readonly string[]; timeoutMs?: number } = {}): Promise<void> {
    const wanted = (opts.peerIds ?? this.others.map((p) => p.peerId)).map((id) => this.operator(id));
    const missing = () => wanted.filter((p) => !this.connected.has(p.peerId));
    if (missing().length === 0) return;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (missing().length > 0) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new P2pError("timeout", `still not connected after ${timeoutMs} ms to ${missing().map((p) => p.name).join(", ")}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("peer:connect", check);
      };
      this.on("peer:connect", check);
    });
  }

  // -------------------------------------------------------------------------------------------

  private get libp2p(): Libp2p {
    if (this.node === undefined) throw new Error("cluster host not started");
    return this.node;
  }

  private libp2pPeerId(peerId: string): PeerId {
    return this.libp2pPeerIds.get(peerId)!;
  }

  private operator(peerId: string): Peer {
    const peer = this.byPeerId.get(peerId);
    if (peer === undefined || peer === this.self) {
      throw new P2pError("not_operator", peer === this.self ? `${peerId} is this node` : `${peerId} is not an operator of this cluster`);
    }
    return peer;
  }

  /** Registers a handler with libp2p, once, as soon as there is a libp2p node. */
  private async register({ protocol, handler }: { protocol: Protocol<unknown, unknown>; handler: Handler<unknown, unknown> }): Promise<void> {
    if (this.node === undefined || this.registered.has(protocol.id)) return;
    this.registered.add(protocol.id);
    await this.node.handle(
      protocol.id,
      (stream: Stream, connection) => {
        // The gater admitted only operators, so the remote peer is one.
        const peer = this.byPeerId.get(connection.remotePeer.toString())!;
        lazyWindowUpdates(stream);
        const key = `${peer.peerId} ${protocol.id}`;
        let bucket = this.buckets.get(key);
        if (bucket === undefined) this.buckets.set(key, (bucket = new TokenBucket(protocol.rateLimit.perSecond, protocol.rateLimit.burst)));
        serveInbound(stream, protocol, peer, handler, bucket, { metrics: this.metrics, log: this.log });
      },
      { maxInboundStreams: MAX_STREAMS_PER_PROTOCOL, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL },
    );
  }

  private slots(protocol: Protocol<unknown, unknown>): (ChannelSlot | undefined)[] {
    let slots = this.channels.get(protocol.id);
    if (slots === undefined) this.channels.set(protocol.id, (slots = []));
    return slots;
  }

  /** The open stream to `peer` for `protocol`, opened (and the peer dialed) if there is none. */
  private channel(peer: Peer, protocol: Protocol<unknown, unknown>, signal: AbortSignal): Promise<OutboundChannel> {
    const slots = this.slots(protocol);
    const existing = slots[peer.index];
    if (existing !== undefined) return existing.opening;
    const forget = () => {
      if (slots[peer.index] === slot) slots[peer.index] = undefined;
    };
    const slot: ChannelSlot = {
      opening: this.libp2p.dialProtocol(this.libp2pPeerId(peer.peerId), protocol.id, { signal }).then(
        (stream) => {
          lazyWindowUpdates(stream);
          slot.open = new OutboundChannel(stream, protocol, peer, { metrics: this.metrics, log: this.log }, forget);
          return slot.open;
        },
        (err: unknown) => {
          forget();
          const reason = signal.aborted ? "timeout" : "closed";
          throw new P2pError(reason, `${protocol.id}: cannot open a stream to ${peer.name}: ${(err as Error).message}`, { cause: err });
        },
      ),
    };
    slots[peer.index] = slot;
    return slot.opening;
  }

  private onConnect(peerId: PeerId): void {
    const peer = this.byPeerId.get(peerId.toString());
    if (peer === undefined || this.connected.has(peer.peerId)) return;
    this.connected.add(peer.peerId);
    this.metrics.peersConnected.set(this.connected.size);
    this.log.info({ peer: peer.name, peerId: peer.peerId }, "peer connected");
    this.emit("peer:connect", peer);
  }

  private onDisconnect(peerId: PeerId): void {
    const peer = this.byPeerId.get(peerId.toString());
    if (peer === undefined || !this.connected.delete(peer.peerId)) return;
    this.metrics.peersConnected.set(this.connected.size);
    this.log.info({ peer: peer.name, peerId: peer.peerId }, "peer disconnected");
    this.emit("peer:disconnect", peer);
    if (this.state === "started") this.redial(peer);
  }

  /**
   * Of two operators, the one with the smaller peer id dials; the other waits one maximal backoff
   * before dialing too, in case the first cannot reach it. Both dialing at once doubles the
   * handshakes and, with every node starting together, can make them all time out together.
   */
  private redial(peer: Peer): void {
    this.redialer.redial(peer.peerId, this.self.peerId < peer.peerId ? 0 : this.backoff.maxMs);
  }

  private *rtts(): Iterable<[string, number]> {
    if (this.node === undefined) return;
    for (const peer of this.peers) {
      const rtts = this.node.getConnections(this.libp2pPeerId(peer.peerId)).flatMap((c) => (c.rtt === undefined ? [] : [c.rtt]));
      if (rtts.length > 0) yield [peer.name, Math.min(...rtts) / 1000];
    }
  }
}

/** A stream to one peer for one protocol: the promise while it opens, the channel once open. */
interface ChannelSlot {
  readonly opening: Promise<OutboundChannel>;
  open?: OutboundChannel;
}

function parsePeerId(member: ClusterMember): PeerId {
  try {
    return peerIdFromString(member.peerId);
  } catch (err) {
    throw new NektarError(`operator ${member.name}: "${member.peerId}" is not a peer id`, { cause: err });
  }
}
