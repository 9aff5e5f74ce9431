/**
 * The p2p layer's Prometheus metrics. Registered on the registry the caller passes (never the
 * global one), so several hosts can live in one process, as they do in tests and benchmarks.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { P2pFailure } from "./errors.js";

export type Direction = "inbound" | "outbound";

export class P2pMetrics {
  readonly peersConnected: Gauge;
  readonly messages: Counter<"protocol" | "direction">;
  readonly messageBytes: Counter<"protocol" | "direction">;
  readonly rejected: Counter<"reason" | "protocol">;
  readonly handlerErrors: Counter<"protocol">;
  private readonly frameCounters = new Map<string, { messages: Counter.Internal; bytes: Counter.Internal }>();

  /** `rtts` reports each connected peer's latest round-trip time, read at scrape time. */
  constructor(registry: Registry, rtts: () => Iterable<[peer: string, seconds: number]>) {
    const registers = [registry];
    this.peersConnected = new Gauge({
      name: "nektar_p2p_peers_connected",
      help: "Operators of the cluster this node has a connection to",
      registers,
    });
    this.messages = new Counter({
      name: "nektar_p2p_messages_total",
      help: "Frames (messages, requests, responses) sent and received, by protocol",
      labelNames: ["protocol", "direction"],
      registers,
    });
    this.messageBytes = new Counter({
      name: "nektar_p2p_message_bytes_total",
      help: "Bytes of frames sent and received, by protocol",
      labelNames: ["protocol", "direction"],
      registers,
    });
    this.rejected = new Counter({
      name: "nektar_p2p_rejected_total",
      help: "Connections and messages refused, by reason (gater: not an operator; oversize; rate_limited; invalid)",
      labelNames: ["reason", "protocol"],
      registers,
    });
    this.handlerErrors = new Counter({
      name: "nektar_p2p_handler_errors_total",
      help: "Messages whose handler threw, by protocol",
      labelNames: ["protocol"],
      registers,
    });
    new Gauge({
      name: "nektar_p2p_rtt_seconds",
      help: "Round-trip time to each connected operator, from the latest libp2p ping",
      labelNames: ["peer"],
      registers,
      collect() {
        this.reset();
        for (const [peer, seconds] of rtts()) this.set({ peer }, seconds);
      },
    });
  }

  /** Counts a frame. Called per message, so the labelled children are looked up once, not hashed each time. */
  frame(protocol: string, direction: Direction, bytes: number): void {
    const key = `${direction} ${protocol}`;
    let counters = this.frameCounters.get(key);
    if (counters === undefined) {
      counters = { messages: this.messages.labels({ protocol, direction }), bytes: this.messageBytes.labels({ protocol, direction }) };
      this.frameCounters.set(key, counters);
    }
    counters.messages.inc();
    counters.bytes.inc(bytes);
  }

  reject(reason: Extract<P2pFailure, "oversize" | "rate_limited" | "invalid"> | "gater", protocol = ""): void {
    this.rejected.inc({ reason, protocol });
  }
}
